//! `ipcq list`: every queue on the host.

use ipcq::QueueStat;
use serde::Serialize;

use super::print_report;
use crate::cli::ListArgs;
use crate::failure::Outcome;
use crate::format::{Align, Names, id_and_name, unix_seconds, write_table};

/// One queue as `list --json` and `stat --json` print it; the field names are
/// documented in their help and only ever added to.
#[derive(Debug, Serialize)]
pub(crate) struct QueueJson {
    key: i32,
    key_hex: String,
    id: i32,
    uid: u32,
    user: Option<String>,
    gid: u32,
    group: Option<String>,
    creator_uid: u32,
    creator_gid: u32,
    mode: String,
    messages: u64,
    bytes: u64,
    capacity: Option<u64>,
    last_send_pid: i32,
    last_recv_pid: i32,
    last_send: Option<i64>,
    last_recv: Option<i64>,
    last_change: Option<i64>,
}

impl QueueJson {
    /// The JSON object of a queue; `capacity` is `None` when it is unknown.
    pub(crate) fn new(stat: &QueueStat, capacity: Option<u64>, names: &mut Names) -> Self {
        QueueJson {
            key: stat.key.get(),
            key_hex: key_hex(stat.key.get()),
            id: stat.id.get(),
            uid: stat.uid,
            user: names.user(stat.uid),
            gid: stat.gid,
            group: names.group(stat.gid),
            creator_uid: stat.creator_uid,
            creator_gid: stat.creator_gid,
            mode: format!("{:04o}", stat.mode),
            messages: stat.messages,
            bytes: stat.bytes,
            capacity,
            last_send_pid: stat.last_send_pid,
            last_recv_pid: stat.last_recv_pid,
            last_send: unix_seconds(stat.last_send),
            last_recv: unix_seconds(stat.last_recv),
            last_change: unix_seconds(stat.last_change),
        }
    }
}

/// A key as ipcs shows it, private or not: `0x` and eight hex digits.
pub(crate) fn key_hex(key: i32) -> String {
    format!("{key:#010x}")
}

/// The capacity of a listed queue, `None` when this process may not read it.
///
/// `ipcq::list` reports 0 for those (the capacity is not in /proc); a queue
/// whose capacity really is 0 is told apart by reading its status again.
fn known_capacity(stat: &QueueStat) -> Option<u64> {
    if stat.capacity != 0 {
        return Some(stat.capacity);
    }
    crate::target::Target::Id(stat.id)
        .open()
        .ok()
        .and_then(|q| q.stat().ok())
        .map(|s| s.capacity)
}

/// Prints the table or the JSON array.
pub(crate) fn run(args: &ListArgs) -> Outcome {
    let mut queues = ipcq::list()?;
    queues.sort_by_key(|q| q.id);
    let mut names = Names::default();
    if args.json {
        let objects: Vec<QueueJson> = queues
            .iter()
            .map(|q| QueueJson::new(q, known_capacity(q), &mut names))
            .collect();
        return print_report(|out| {
            serde_json::to_writer_pretty(&mut *out, &objects)?;
            writeln!(out)
        });
    }
    let rows: Vec<Vec<String>> = queues
        .iter()
        .map(|q| {
            vec![
                key_hex(q.key.get()),
                q.key.get().to_string(),
                q.id.to_string(),
                id_and_name(q.uid, names.user(q.uid)),
                format!("{:04o}", q.mode),
                q.messages.to_string(),
                q.bytes.to_string(),
                known_capacity(q).map_or_else(|| "-".into(), |c| c.to_string()),
                q.last_send_pid.to_string(),
                q.last_recv_pid.to_string(),
            ]
        })
        .collect();
    let header = [
        ("KEY", Align::Left),
        ("KEY(DEC)", Align::Right),
        ("ID", Align::Right),
        ("OWNER", Align::Left),
        ("MODE", Align::Left),
        ("MESSAGES", Align::Right),
        ("BYTES", Align::Right),
        ("CAPACITY", Align::Right),
        ("LAST-SEND-PID", Align::Right),
        ("LAST-RECV-PID", Align::Right),
    ];
    print_report(|out| write_table(out, &header, &rows))
}
