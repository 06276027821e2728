//! `ipcq create KEY`: a new queue, or the one that has the key.

use ipcq::OpenOptions;

use super::list::key_hex;
use super::{report_done, settings_given};
use crate::cli::CreateArgs;
use crate::failure::Outcome;
use crate::format::listed;

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
    let (queue, created) = args
        .key
        .key
        .create_or_open(&options, args.exclusive, None)?;
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
        let given = settings_given(args.mode, args.capacity, args.owner);
        let unchanged = match given.len() {
            0 => "; it existed already".to_owned(),
            1 => format!(
                "; it existed already, so its {} was left as it is",
                given[0]
            ),
            _ => format!(
                "; it existed already, so its {} were left as they are",
                listed(&given)
            ),
        };
        format!("found {name}, id {}{unchanged}", queue.id())
    };
    report_done(|out| writeln!(out, "{line}"))
}
