//! `ipcq stat KEY`: one queue's status.

use std::time::SystemTime;

use ipcq::{Error, MsgQueue, QueueStat};

use super::list::{QueueJson, key_hex};
use super::print_report;
use crate::cli::StatArgs;
use crate::failure::{Failure, Outcome};
use crate::format::{Names, id_and_name, time_and_age};

/// Prints the status as `name  value` lines, or as JSON.
pub(crate) fn run(args: &StatArgs) -> Outcome {
    let queue = args.key.key.open()?;
    let (stat, readable) = status(&queue)?;
    let mut names = Names::default();
    let capacity = readable.then_some(stat.capacity);
    if args.json {
        let object = QueueJson::new(&stat, capacity, &mut names);
        return print_report(|out| {
            serde_json::to_writer_pretty(&mut *out, &object)?;
            writeln!(out)
        });
    }
    let now = SystemTime::now();
    let pid = |pid: i32| {
        if pid == 0 {
            String::new()
        } else {
            format!(", pid {pid}")
        }
    };
    let owner = |uid: u32, gid: u32, names: &mut Names| {
        format!(
            "uid {}, gid {}",
            id_and_name(uid, names.user(uid)),
            id_and_name(gid, names.group(gid))
        )
    };
    let mut lines = vec![
        (
            "key",
            format!("{} ({})", key_hex(stat.key.get()), stat.key.get()),
        ),
        ("id", stat.id.to_string()),
        ("owner", owner(stat.uid, stat.gid, &mut names)),
        (
            "creator",
            owner(stat.creator_uid, stat.creator_gid, &mut names),
        ),
        ("mode", format!("{:04o}", stat.mode)),
        ("messages", stat.messages.to_string()),
        ("bytes", stat.bytes.to_string()),
    ];
    if readable {
        let used = if stat.capacity == 0 {
            String::new()
        } else {
            format!(
                " ({:.1} % used)",
                stat.bytes as f64 * 100.0 / stat.capacity as f64
            )
        };
        lines.push(("capacity", format!("{} bytes{used}", stat.capacity)));
        lines.push(("max message", format!("{} bytes", queue.max_message_size())));
    } else {
        lines.push((
            "capacity",
            "unknown: no read permission on the queue".into(),
        ));
    }
    lines.push((
        "last send",
        format!(
            "{}{}",
            time_and_age(stat.last_send, now),
            pid(stat.last_send_pid)
        ),
    ));
    lines.push((
        "last receive",
        format!(
            "{}{}",
            time_and_age(stat.last_recv, now),
            pid(stat.last_recv_pid)
        ),
    ));
    lines.push(("last change", time_and_age(stat.last_change, now)));
    print_report(|out| {
        for (name, value) in &lines {
            writeln!(out, "{name:<13}{value}")?;
        }
        Ok(())
    })
}

/// The queue's status, and whether it came from `IPC_STAT` (true) or, for want
/// of read permission, from /proc/sysvipc/msg, which lacks the capacity.
fn status(queue: &MsgQueue) -> Result<(QueueStat, bool), Failure> {
    match queue.stat() {
        Ok(stat) => Ok((stat, true)),
        Err(err @ Error::PermissionDenied { .. }) => ipcq::list()?
            .into_iter()
            .find(|s| s.id == queue.id())
            .map(|s| (s, false))
            .ok_or_else(|| err.into()),
        Err(err) => Err(err.into()),
    }
}
