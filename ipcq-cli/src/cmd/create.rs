//! `ipcq create KEY`: a new queue, or the one that has the key.

use ipcq::OpenOptions;

use super::list::key_hex;
use super::report_done;
use crate::cli::CreateArgs;
use crate::failure::Outcome;

/// Creates the queue and says which it is.
pub(crate) fn run(args: &CreateArgs) -> Outcome {
    let mut options = OpenOptions::new();
    options.mode(args.mode.unwrap_or(0o600));
    if let Some(capacity) = args.capacity {
        options.capacity(capacity);
    }
    if let Some(owner) = args.owner {
        options.uid(owner.uid).gid(owner.gid);
    }
    let (queue, created) = args.key.key.create_or_open(&options, args.exclusive)?;
    let key = queue.key();
    let name = if key.is_private() {
        "private queue".to_owned()
    } else {
        format!("queue {} ({})", key_hex(key.get()), key.get())
    };
    let line = if created {
        let stat = queue.stat()?;
        format!(
            "created {name}, id {}, mode {:04o}, capacity {} bytes, owner {}:{}",
            queue.id(),
            stat.mode,
            stat.capacity,
            stat.uid,
            stat.gid
        )
    } else {
        let unchanged = if args.capacity.is_some() || args.mode.is_some() || args.owner.is_some() {
            "; it existed already, so its mode, capacity and owner were left as they are"
        } else {
            "; it existed already"
        };
        format!("found {name}, id {}{unchanged}", queue.id())
    };
    report_done(|out| writeln!(out, "{line}"))
}
