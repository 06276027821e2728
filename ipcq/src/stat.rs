//! What the kernel knows about queues: one queue's status, every queue on the
//! host, and the system-wide limits.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::error::{Error, Op, Result};
use crate::key::{Key, QueueId};
use crate::sys;

/// A queue's status, as `msgctl(IPC_STAT)` or `/proc/sysvipc/msg` report it.
///
/// # Examples
///
/// ```
/// use ipcq::{Key, MsgQueue};
///
/// let q = MsgQueue::create(Key::private())?;
/// q.send(1, b"hello")?;
/// let stat = q.stat()?;
/// assert_eq!(stat.messages, 1);
/// assert_eq!(stat.bytes, 5);
/// assert_eq!(stat.mode, 0o600);
/// q.remove()?;
/// # Ok::<(), ipcq::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStat {
    /// The queue's key ([`Key::private`] for a private queue).
    pub key: Key,
    /// The queue's id.
    pub id: QueueId,
    /// Messages waiting in the queue (`msg_qnum`).
    pub messages: u64,
    /// Bytes of message text waiting in the queue (`__msg_cbytes`).
    pub bytes: u64,
    /// The most bytes of text the queue may hold (`msg_qbytes`).
    pub capacity: u64,
    /// The process that sent last (`msg_lspid`), 0 if none has.
    pub last_send_pid: i32,
    /// The process that received last (`msg_lrpid`), 0 if none has.
    pub last_recv_pid: i32,
    /// When a message was last sent, if ever.
    pub last_send: Option<SystemTime>,
    /// When a message was last received, if ever.
    pub last_recv: Option<SystemTime>,
    /// When the queue was created or last changed with `IPC_SET`.
    pub last_change: Option<SystemTime>,
    /// The owner's uid.
    pub uid: u32,
    /// The owner's gid.
    pub gid: u32,
    /// The creator's uid.
    pub creator_uid: u32,
    /// The creator's gid.
    pub creator_gid: u32,
    /// The permission bits (`0o600` and the like).
    pub mode: u32,
}

impl QueueStat {
    pub(crate) fn from_ds(id: QueueId, ds: &libc::msqid_ds) -> Self {
        QueueStat {
            key: Key::new(ds.msg_perm.__key),
            id,
            messages: ds.msg_qnum,
            bytes: ds.__msg_cbytes,
            capacity: ds.msg_qbytes,
            last_send_pid: ds.msg_lspid,
            last_recv_pid: ds.msg_lrpid,
            last_send: time(ds.msg_stime),
            last_recv: time(ds.msg_rtime),
            last_change: time(ds.msg_ctime),
            uid: ds.msg_perm.uid,
            gid: ds.msg_perm.gid,
            creator_uid: ds.msg_perm.cuid,
            creator_gid: ds.msg_perm.cgid,
            mode: u32::from(ds.msg_perm.mode) & 0o777,
        }
    }

    /// Parses one line of `/proc/sysvipc/msg`:
    /// `key msqid perms cbytes qnum lspid lrpid uid gid cuid cgid stime rtime ctime`.
    fn from_proc_line(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 14 {
            return None;
        }
        let int = |i: usize| f[i].parse::<i64>().ok();
        let num = |i: usize| f[i].parse::<u64>().ok();
        let id = |i: usize| f[i].parse::<u32>().ok();
        Some(QueueStat {
            key: Key::new(f[0].parse::<i32>().ok()?),
            id: QueueId(f[1].parse().ok()?),
            mode: u32::from_str_radix(f[2], 8).ok()? & 0o777,
            bytes: num(3)?,
            messages: num(4)?,
            last_send_pid: f[5].parse().ok()?,
            last_recv_pid: f[6].parse().ok()?,
            uid: id(7)?,
            gid: id(8)?,
            creator_uid: id(9)?,
            creator_gid: id(10)?,
            last_send: time(int(11)?),
            last_recv: time(int(12)?),
            last_change: time(int(13)?),
            // /proc does not show msg_qbytes; list() fills it in where it can.
            capacity: 0,
        })
    }
}

fn time(secs: i64) -> Option<SystemTime> {
    (secs > 0).then(|| SystemTime::UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs()))
}

const PROC_MSG: &str = "/proc/sysvipc/msg";

/// Every message queue on the host, as `ipcs -q` shows them.
///
/// Reads `/proc/sysvipc/msg`, which lists every queue whatever its permissions.
/// `capacity` is filled in from `IPC_STAT` for the queues this process may read,
/// and is 0 for the others.
///
/// # Errors
///
/// [`Error::Io`] when `/proc/sysvipc/msg` cannot be read.
///
/// # Examples
///
/// ```
/// use ipcq::{Key, MsgQueue};
///
/// let q = MsgQueue::create(Key::private())?;
/// assert!(ipcq::list()?.iter().any(|s| s.id == q.id()));
/// q.remove()?;
/// # Ok::<(), ipcq::Error>(())
/// ```
pub fn list() -> Result<Vec<QueueStat>> {
    let text = read_proc(Op::List, Path::new(PROC_MSG))?;
    Ok(proc_entries(&text)
        .map(|mut stat| {
            if let Ok(ds) = crate::sys::msgctl_stat(stat.id.0) {
                stat.capacity = ds.msg_qbytes;
            }
            stat
        })
        .collect())
}

/// The queues listed in the text of `/proc/sysvipc/msg`, without capacities.
fn proc_entries(text: &str) -> impl Iterator<Item = QueueStat> + '_ {
    text.lines().skip(1).filter_map(QueueStat::from_proc_line)
}

/// The `/proc/sysvipc/msg` entry of the first queue that `matches`, readable
/// whatever the queue's mode.
pub(crate) fn find_proc_entry(matches: impl Fn(&QueueStat) -> bool) -> Option<QueueStat> {
    let text = std::fs::read_to_string(PROC_MSG).ok()?;
    proc_entries(&text).find(|stat| matches(stat))
}

/// Queue `id`'s status, for a check of who controls it: from `IPC_STAT`, or,
/// where this process may not read the queue, from `/proc/sysvipc/msg`, which
/// lists every queue whatever its mode (with a capacity of 0). `Ok(None)`
/// when the queue is gone; `Err` with `IPC_STAT`'s errno when neither can
/// say: no read permission, and `/proc` not mounted, masked (as systemd's
/// `ProcSubset=pid` does) or not listing the queue (a file bound over it).
pub(crate) fn status_of(id: QueueId) -> std::result::Result<Option<QueueStat>, nix::errno::Errno> {
    use nix::errno::Errno;
    match sys::msgctl_stat(id.0) {
        Ok(ds) => Ok(Some(QueueStat::from_ds(id, &ds))),
        Err(Errno::EINVAL | Errno::EIDRM) => Ok(None),
        // The queue is there, refusing to be read: /proc must show it.
        Err(errno) => proc_entry(id).map(Some).ok_or(errno),
    }
}

/// The `/proc/sysvipc/msg` entry of queue `id`.
pub(crate) fn proc_entry(id: QueueId) -> Option<QueueStat> {
    find_proc_entry(|stat| stat.id == id)
}

/// The kernel's System V message-queue limits.
///
/// They are per IPC namespace and can be raised by root, for example
/// `sysctl -w kernel.msgmax=65536 kernel.msgmnb=262144`, or for good in
/// `/etc/sysctl.d/`.
///
/// # Examples
///
/// ```
/// let limits = ipcq::Limits::read()?;
/// assert!(limits.msgmax > 0 && limits.msgmnb > 0 && limits.msgmni > 0);
/// # Ok::<(), ipcq::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest message text, in bytes (`kernel.msgmax`).
    pub msgmax: usize,
    /// The default capacity of a new queue in bytes (`kernel.msgmnb`); only
    /// privileged processes may raise a queue's capacity above it.
    pub msgmnb: usize,
    /// The most queues the host may have (`kernel.msgmni`).
    pub msgmni: usize,
}

impl Limits {
    /// Reads the limits of this process's IPC namespace from the kernel
    /// (`msgctl` with `IPC_INFO`: the values `/proc/sys/kernel/msg*` shows,
    /// without needing `/proc`).
    ///
    /// # Errors
    ///
    /// [`Error::Os`] when the kernel refuses the call (a seccomp filter, say).
    pub fn read() -> Result<Limits> {
        let info = sys::msgctl_info().map_err(|errno| Error::Os {
            op: Op::ReadLimits,
            errno,
            detail: "msgctl(IPC_INFO) failed".into(),
        })?;
        // The kernel keeps them as non-negative ints (sysctl refuses others).
        let limit = |value: libc::c_int| usize::try_from(value).unwrap_or(0);
        Ok(Limits {
            msgmax: limit(info.msgmax),
            msgmnb: limit(info.msgmnb),
            msgmni: limit(info.msgmni),
        })
    }
}

fn read_proc(op: Op, path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        op,
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_the_ones_proc_shows() {
        let proc = |name: &str| -> usize {
            let path = format!("/proc/sys/kernel/{name}");
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{path}: {e}"))
                .trim()
                .parse()
                .unwrap()
        };
        let limits = Limits::read().unwrap();
        assert_eq!(
            (limits.msgmax, limits.msgmnb, limits.msgmni),
            (proc("msgmax"), proc("msgmnb"), proc("msgmni"))
        );
    }

    #[test]
    fn parses_a_proc_sysvipc_line() {
        let line = "      3053          7       666          16          2  1234  5678     0     0  1000   100 1700000000          0 1700000001";
        let stat = QueueStat::from_proc_line(line).unwrap();
        assert_eq!(stat.key, Key::new(3053));
        assert_eq!(stat.id, QueueId(7));
        assert_eq!(stat.mode, 0o666);
        assert_eq!((stat.bytes, stat.messages), (16, 2));
        assert_eq!((stat.last_send_pid, stat.last_recv_pid), (1234, 5678));
        assert_eq!((stat.creator_uid, stat.creator_gid), (1000, 100));
        assert_eq!(stat.last_recv, None);
        assert_eq!(
            stat.last_send,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
    }

    #[test]
    fn rejects_the_header_and_short_lines() {
        assert!(QueueStat::from_proc_line("key msqid perms").is_none());
        assert!(QueueStat::from_proc_line("       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime").is_none());
    }
}
