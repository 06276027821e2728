//! `ipcq rm KEY`: remove a queue.

use super::report_done;
use crate::cli::RmArgs;
use crate::failure::Outcome;
use crate::format::counted;

/// Removes the queue, saying how many messages went with it.
pub(crate) fn run(args: &RmArgs) -> Outcome {
    let queue = args.key.key.open()?;
    // Read before removing, so that the report can say what was dropped.
    let before = queue.stat().ok();
    queue.remove()?;
    let dropped = match before {
        Some(stat) if stat.messages > 0 => format!(
            "; {} ({}) went with it",
            counted(stat.messages, "message"),
            counted(stat.bytes, "byte")
        ),
        _ => String::new(),
    };
    let removed = args.key.key.with_id(queue.id());
    report_done(|out| writeln!(out, "removed {removed}{dropped}"))
}
