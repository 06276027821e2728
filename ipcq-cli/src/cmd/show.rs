//! `ipcq show FILE`: what a dump file holds.

use std::path::Path;

use super::print_report;
use crate::cli::ShowArgs;
use crate::dumpfile::{self, Dump};
use crate::failure::{Failure, Outcome};
use crate::format::{counted, utc, write_message};

/// Reads and checks a dump file, as `restore` does before sending anything.
pub(crate) fn read_dump(path: &Path) -> Outcome<Dump> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::new(format!("cannot read {}: {e}", path.display())))?;
    dumpfile::decode(&bytes).map_err(|e| Failure::new(format!("{}: {e}", path.display())))
}

/// Prints the header as `#` lines, then the messages as `recv` does.
pub(crate) fn run(args: &ShowArgs) -> Outcome {
    let dump = read_dump(&args.file)?;
    let h = dump.header;
    let bytes: usize = dump.messages.iter().map(|m| m.body.len()).sum();
    print_report(|out| {
        writeln!(
            out,
            "# ipcq dump format {}, written {}",
            dumpfile::VERSION,
            utc(h.dumped_at)
        )?;
        writeln!(
            out,
            "# from key {:#010x} ({}), mode {:04o}, capacity {}",
            h.key,
            h.key,
            h.mode,
            counted(h.capacity, "byte")
        )?;
        writeln!(
            out,
            "# {}, {}",
            counted(dump.messages.len() as u64, "message"),
            counted(bytes as u64, "byte")
        )?;
        for message in &dump.messages {
            write_message(out, message.mtype, &message.body)?;
        }
        Ok(())
    })
}
