//! The one error type of ipcq, and what each errno means for each operation.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use nix::errno::Errno;

use crate::key::{Key, QueueId};
use crate::message::{DecodeError, EncodeError};

/// The result type of ipcq.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The operation that failed, as named in error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Opening or creating a queue (`msgget`).
    Open,
    /// Opening a queue by its id, whose key and owner are read from its
    /// status (`msgctl IPC_STAT`) or `/proc/sysvipc/msg`.
    OpenId,
    /// Sending a message (`msgsnd`).
    Send,
    /// Receiving a message (`msgrcv`).
    Receive,
    /// Copying a message without taking it (`msgrcv` with `MSG_COPY`).
    Peek,
    /// Reading a queue's status (`msgctl IPC_STAT`).
    Stat,
    /// Changing a queue's owner, mode or capacity (`msgctl IPC_SET`).
    SetAttributes,
    /// Removing a queue (`msgctl IPC_RMID`).
    Remove,
    /// Deriving a key from a path (`ftok`).
    Ftok,
    /// Reading the kernel's limits from `/proc/sys/kernel`.
    ReadLimits,
    /// Listing the host's queues from `/proc/sysvipc/msg`.
    List,
    /// Encoding a typed message.
    Encode,
    /// Watching for signals.
    Signals,
    /// Taking or writing a pid file.
    PidFile,
    /// Dropping root privileges.
    DropPrivileges,
    /// Becoming a daemon.
    Daemonize,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Open => "open the queue (msgget)",
            Op::OpenId => "open the queue by its id",
            Op::Send => "send (msgsnd)",
            Op::Receive => "receive (msgrcv)",
            Op::Peek => "peek at a message (msgrcv MSG_COPY)",
            Op::Stat => "read the queue's status (msgctl IPC_STAT)",
            Op::SetAttributes => "change the queue's attributes (msgctl IPC_SET)",
            Op::Remove => "remove the queue (msgctl IPC_RMID)",
            Op::Ftok => "derive a key (ftok)",
            Op::ReadLimits => "read the kernel's message-queue limits",
            Op::List => "list the message queues",
            Op::Encode => "encode the message",
            Op::Signals => "watch for signals",
            Op::PidFile => "take the pid file",
            Op::DropPrivileges => "drop privileges",
            Op::Daemonize => "start the daemon",
        })
    }
}

/// Who owns a queue and who may use it, as reported with a permission error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Access {
    /// The queue's permission bits, as in `ipcs -q` (e.g. `0o600`).
    pub mode: u32,
    /// The queue's owner.
    pub uid: u32,
    /// The queue's group.
    pub gid: u32,
    /// The effective uid of the process that was refused.
    pub caller_uid: u32,
}

impl Access {
    /// The access of the queue `stat` describes, for this process.
    pub(crate) fn of(stat: &crate::stat::QueueStat) -> Access {
        Access {
            mode: stat.mode,
            uid: stat.uid,
            gid: stat.gid,
            caller_uid: nix::unistd::geteuid().as_raw(),
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the queue has mode {:04o} and is owned by uid {} gid {}, and this process runs as uid {}",
            self.mode & 0o777,
            self.uid,
            self.gid,
            self.caller_uid
        )
    }
}

/// Why ipcq refused to open an existing queue ([`Error::Untrusted`]): a user
/// other than this process's user, root or the
/// [trusted](crate::OpenOptions::trust_owner) one controls it, or every user
/// may write to it.
///
/// `Display` says what makes the queue untrusted; the error adds what to do
/// about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Distrust {
    /// The queue is owned by `owner_uid`, who decides who may write to it.
    #[non_exhaustive]
    Owner {
        /// The queue's owner.
        owner_uid: u32,
        /// The effective uid of the process that was refused.
        caller_uid: u32,
        /// The uid trusted besides this user and root, if one was named.
        trusted_uid: Option<u32>,
    },
    /// The queue is owned by a trusted user but was created by
    /// `creator_uid`, who keeps the owner's rights whoever it gave the queue
    /// to.
    #[non_exhaustive]
    Creator {
        /// The user who created the queue.
        creator_uid: u32,
        /// The queue's (trusted) owner.
        owner_uid: u32,
        /// The effective uid of the process that was refused.
        caller_uid: u32,
        /// The uid trusted besides this user and root, if one was named.
        trusted_uid: Option<u32>,
    },
    /// The queue's mode lets every user write to it.
    #[non_exhaustive]
    WorldWritable {
        /// The queue's permission bits, as in `ipcs -q` (e.g. `0o666`).
        mode: u32,
    },
    /// Who controls the queue cannot be read: the queue's status
    /// (`IPC_STAT`) cannot be read by this process, and `/proc/sysvipc/msg`,
    /// which lists every queue whatever its mode, cannot be read either or
    /// does not list it (not mounted, or masked, as systemd's
    /// `ProcSubset=pid` does).
    Unverifiable,
}

impl Distrust {
    /// The end of the error's sentence: why that matters, and what to do
    /// about it in the library's terms.
    fn advice(&self) -> &'static str {
        match self {
            Distrust::Owner { .. } | Distrust::Creator { .. } => {
                "; that user can let anyone put any message in it, so if you trust them, name \
                 them with OpenOptions::trust_owner, or open the queue with allow_foreign(true)"
            }
            Distrust::WorldWritable { .. } => {
                ", so anyone can put any message in it; have whoever creates it give a mode \
                 without write permission for others (0600, 0660), or, if every user is meant \
                 to send to it, open it as its creator would, with create(true) and that mode, \
                 or with allow_foreign(true)"
            }
            Distrust::Unverifiable => {
                "; give this process read permission on the queue, make /proc/sysvipc readable \
                 to it, or open the queue with allow_foreign(true)"
            }
        }
    }
}

impl fmt::Display for Distrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (caller_uid, trusted_uid) = match *self {
            Distrust::Owner {
                owner_uid,
                caller_uid,
                trusted_uid,
            } => {
                write!(f, "it is owned by uid {owner_uid}")?;
                (caller_uid, trusted_uid)
            }
            Distrust::Creator {
                creator_uid,
                owner_uid,
                caller_uid,
                trusted_uid,
            } => {
                write!(
                    f,
                    "it is owned by uid {owner_uid}, but was created by uid {creator_uid}"
                )?;
                (caller_uid, trusted_uid)
            }
            Distrust::WorldWritable { mode } => {
                return write!(f, "its mode {mode:04o} lets every user write to it");
            }
            Distrust::Unverifiable => {
                return f.write_str(
                    "who owns it cannot be told: its status cannot be read (IPC_STAT), and \
                     /proc/sysvipc/msg cannot be read or does not list it",
                );
            }
        };
        write!(
            f,
            ", neither this process's user (uid {caller_uid}) nor root"
        )?;
        // Trusting this user or root changes nothing: not worth naming.
        match trusted_uid {
            Some(uid) if uid != caller_uid && uid != 0 => write!(f, " nor the trusted uid {uid}"),
            _ => Ok(()),
        }
    }
}

/// Everything that can go wrong in ipcq.
///
/// Variants are meant to be matched: a non-blocking call sees
/// [`Error::WouldBlock`], a wait cut short by a stop [`Error::Stopped`], and
/// so on. A listener loop ends cleanly when [`Error::is_removed`] is true: on
/// [`Error::Removed`] when the queue went away while the call waited, and on
/// [`Error::NotFound`] when it was gone before the call. Each carries the
/// [`Op`] that failed and, for a failed syscall, its errno; `Display`
/// explains the failure for that operation in a sentence.
///
/// # Examples
///
/// ```
/// use ipcq::{Error, Key, MsgQueue};
///
/// match MsgQueue::open(Key::new(0x7fff_fff0)) {
///     Err(Error::NotFound { .. }) => {} // nobody created it
///     other => panic!("unexpected: {other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The queue was removed (`EIDRM`), possibly while this call was blocked in it.
    #[error("cannot {op}: {} ({errno:?})", removed(*op))]
    Removed {
        /// The operation that failed.
        op: Op,
        /// The errno the kernel returned.
        errno: Errno,
    },

    /// No such queue: no queue has the key (`ENOENT`), or the id no longer names
    /// a queue (`EINVAL` from a queue removed before the call), or a path given to
    /// [`Key::ftok`] does not exist.
    #[error("cannot {op}: {what} ({errno:?})")]
    NotFound {
        /// The operation that failed.
        op: Op,
        /// The errno the kernel returned.
        errno: Errno,
        /// What was not found, in words.
        what: String,
    },

    /// An exclusive create found a queue with the key already there (`EEXIST`).
    #[error(
        "cannot {op}: a queue with key {key} already exists and an exclusive create was asked for ({errno:?})"
    )]
    AlreadyExists {
        /// The operation that failed.
        op: Op,
        /// The errno the kernel returned.
        errno: Errno,
        /// The key that is taken.
        key: Key,
    },

    /// A non-blocking send found the queue full (`EAGAIN`).
    ///
    /// Receives do not fail when nothing is waiting: `try_recv` and its
    /// siblings return `Ok(None)`, as a timed receive does when nothing came.
    #[error("cannot {op}: {} ({errno:?})", would_block(*op))]
    WouldBlock {
        /// The operation that failed.
        op: Op,
        /// The errno the kernel returned.
        errno: Errno,
    },

    /// A send with a timeout found the queue full until the deadline. (A
    /// receive with a timeout returns `Ok(None)` instead.)
    #[error("cannot {op}: {} {timeout:?}", timed_out(*op))]
    TimedOut {
        /// The operation that failed.
        op: Op,
        /// `ETIMEDOUT`: the kernel has no timed msgsnd, so ipcq reports its own timeout.
        errno: Errno,
        /// How long the call waited.
        timeout: Duration,
    },

    /// The process may not do this to the queue (`EACCES` or `EPERM`).
    #[error("cannot {op}: permission denied: {}{} ({errno:?})", permission(*op, *errno), access_text(access))]
    PermissionDenied {
        /// The operation that failed.
        op: Op,
        /// The errno the kernel returned.
        errno: Errno,
        /// The queue's mode and owner, when they could be read.
        access: Option<Access>,
    },

    /// An existing queue that another user controls was not opened: anyone
    /// who may write to a queue can put any message in it (see
    /// [`OpenOptions::allow_foreign`](crate::OpenOptions::allow_foreign)).
    #[error("cannot {op}: refusing queue {key}: {reason}{}", reason.advice())]
    Untrusted {
        /// The operation that failed.
        op: Op,
        /// `EPERM`: refused by ipcq, not by the kernel.
        errno: Errno,
        /// The queue's key.
        key: Key,
        /// What makes it untrusted.
        reason: Distrust,
    },

    /// A message does not fit: larger than the queue or the kernel allows on
    /// send, or larger than the receive buffer on receive (`E2BIG`; the message
    /// stays on the queue).
    #[error("cannot {op}: {}; {} ({errno:?})", too_large_size(*op, *size, *limit), too_large(*op, *errno))]
    TooLarge {
        /// The operation that failed.
        op: Op,
        /// The errno the kernel returned, or would have returned.
        errno: Errno,
        /// The size of the message body in bytes. On receive the kernel does
        /// not say how large the message is, only that it exceeds the buffer:
        /// this is then `limit + 1`, the least it can be.
        size: usize,
        /// The limit it exceeds, in bytes.
        limit: usize,
    },

    /// A stop was requested (see [`StopHandle`](crate::StopHandle)): the call
    /// returned instead of waiting on. This is not `EINTR`: a signal that is
    /// not a stop never ends a blocking call, which retries by itself.
    #[error("cannot {op}: a stop was requested ({errno:?})")]
    Stopped {
        /// The operation that failed.
        op: Op,
        /// Always `EINTR`: the errno of the wait a stop ends, also for a call
        /// that a stop requested earlier refused before it waited.
        errno: Errno,
    },

    /// An argument was refused, by ipcq before the syscall or by the kernel (`EINVAL`).
    #[error("cannot {op}: invalid argument: {reason} ({errno:?})")]
    InvalidArgument {
        /// The operation that failed.
        op: Op,
        /// The errno the kernel returned, or would have returned.
        errno: Errno,
        /// What was wrong with it.
        reason: String,
    },

    /// The kernel lacks a feature the call needs.
    #[error("cannot {op}: {what} ({errno:?})")]
    Unsupported {
        /// The operation that failed.
        op: Op,
        /// The errno the kernel returned.
        errno: Errno,
        /// What is missing, in words.
        what: &'static str,
    },

    /// A system-wide limit was reached: the host has `msgmni` queues already
    /// (`ENOSPC`), or the kernel is out of memory for messages (`ENOMEM`).
    #[error("cannot {op}: {} ({errno:?})", limit_reached(*errno))]
    LimitReached {
        /// The operation that failed.
        op: Op,
        /// The errno the kernel returned.
        errno: Errno,
    },

    /// Another live process holds the pid file: the service is already running.
    #[error("cannot {}: {} is held by {}, which is still running", Op::PidFile, path.display(), running_pid(*pid))]
    AlreadyRunning {
        /// The pid file.
        path: PathBuf,
        /// The pid written in it, if it could be read.
        pid: Option<i32>,
    },

    /// A received message could not be turned into the typed message; the
    /// error holds its mtype and bytes, so nothing is lost.
    #[error(transparent)]
    Decode(#[from] DecodeError),

    /// A typed message could not be encoded; nothing was sent.
    #[error(transparent)]
    Encode(#[from] EncodeError),

    /// A file could not be read or written: one under `/proc`, a pid file,
    /// a daemon's log file.
    #[error("cannot {op}: {}: {source}", path.display())]
    Io {
        /// The operation that failed.
        op: Op,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// Any other failure of a syscall.
    #[error("cannot {op}: {detail} ({errno:?}: {})", errno.desc())]
    Os {
        /// The operation that failed.
        op: Op,
        /// The errno the kernel returned.
        errno: Errno,
        /// What ipcq was doing, in words.
        detail: String,
    },
}

impl Error {
    /// The operation that failed: every error has one.
    pub fn op(&self) -> Op {
        match self {
            Error::Removed { op, .. }
            | Error::NotFound { op, .. }
            | Error::AlreadyExists { op, .. }
            | Error::WouldBlock { op, .. }
            | Error::TimedOut { op, .. }
            | Error::PermissionDenied { op, .. }
            | Error::Untrusted { op, .. }
            | Error::TooLarge { op, .. }
            | Error::Stopped { op, .. }
            | Error::InvalidArgument { op, .. }
            | Error::LimitReached { op, .. }
            | Error::Unsupported { op, .. }
            | Error::Io { op, .. }
            | Error::Os { op, .. } => *op,
            Error::Encode(_) => Op::Encode,
            Error::AlreadyRunning { .. } => Op::PidFile,
            Error::Decode(_) => Op::Receive,
        }
    }

    /// The errno behind the error, where there is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Removed { errno, .. }
            | Error::NotFound { errno, .. }
            | Error::AlreadyExists { errno, .. }
            | Error::WouldBlock { errno, .. }
            | Error::TimedOut { errno, .. }
            | Error::PermissionDenied { errno, .. }
            | Error::Untrusted { errno, .. }
            | Error::TooLarge { errno, .. }
            | Error::Stopped { errno, .. }
            | Error::InvalidArgument { errno, .. }
            | Error::LimitReached { errno, .. }
            | Error::Unsupported { errno, .. }
            | Error::Os { errno, .. } => Some(*errno),
            Error::Io { source, .. } => source.raw_os_error().map(Errno::from_raw),
            Error::AlreadyRunning { .. } => Some(Errno::EWOULDBLOCK),
            Error::Encode(_) | Error::Decode(_) => None,
        }
    }

    /// Whether the queue is gone: removed while in use, or no longer there.
    ///
    /// A listener loop ends cleanly when this is true.
    pub fn is_removed(&self) -> bool {
        matches!(self, Error::Removed { .. }) || self.is_dead_id()
    }

    /// Whether no queue, key or file was found.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// Whether a non-blocking send found the queue full.
    pub fn is_would_block(&self) -> bool {
        matches!(self, Error::WouldBlock { .. })
    }

    /// Whether the call returned because a stop was requested.
    pub fn is_stopped(&self) -> bool {
        matches!(self, Error::Stopped { .. })
    }

    /// Whether a send with a timeout found the queue full until its
    /// deadline.
    pub fn is_timed_out(&self) -> bool {
        matches!(self, Error::TimedOut { .. })
    }

    /// Whether an operation on a queue's id found no queue there. Other
    /// `NotFound`s (a key, a file, a user) say nothing of a queue that was.
    fn is_dead_id(&self) -> bool {
        matches!(
            self,
            Error::NotFound {
                op: Op::Send | Op::Receive | Op::Peek | Op::Stat | Op::SetAttributes | Op::Remove,
                ..
            }
        )
    }

    pub(crate) fn unsupported_msg_copy() -> Error {
        Error::Unsupported {
            op: Op::Peek,
            errno: Errno::ENOSYS,
            what: "this kernel cannot copy a message off a queue without taking it: MSG_COPY needs a kernel built with CONFIG_CHECKPOINT_RESTORE",
        }
    }

    pub(crate) fn invalid(op: Op, reason: impl Into<String>) -> Error {
        Error::InvalidArgument {
            op,
            errno: Errno::EINVAL,
            reason: reason.into(),
        }
    }

    /// Classifies an errno from an operation.
    ///
    /// With `queue` given, the arguments were checked before the call, so
    /// `EINVAL` means that the id no longer names a queue.
    pub(crate) fn from_errno(op: Op, errno: Errno, queue: Option<QueueId>) -> Error {
        match errno {
            Errno::EIDRM => Error::Removed { op, errno },
            Errno::EINVAL if queue.is_some() => Error::NotFound {
                op,
                errno,
                what: format!(
                    "queue id {} no longer exists",
                    queue.map_or(0, QueueId::get)
                ),
            },
            Errno::ENOENT => Error::NotFound {
                op,
                errno,
                what: "no queue has this key".into(),
            },
            Errno::EAGAIN | Errno::ENOMSG => Error::WouldBlock { op, errno },
            Errno::EACCES | Errno::EPERM => Error::PermissionDenied {
                op,
                errno,
                access: None,
            },
            Errno::ENOSPC | Errno::ENOMEM => Error::LimitReached { op, errno },
            Errno::EINVAL => Error::invalid(op, "the kernel refused the arguments"),
            _ => Error::Os {
                op,
                errno,
                detail: "the call failed".into(),
            },
        }
    }
}

fn running_pid(pid: Option<i32>) -> String {
    pid.map_or_else(|| "another process".into(), |pid| format!("pid {pid}"))
}

fn removed(op: Op) -> &'static str {
    match op {
        Op::Send => {
            "the queue was removed while this process waited to send; the message was not sent"
        }
        Op::Receive => "the queue was removed while this process waited for a message",
        _ => "the queue was removed",
    }
}

fn would_block(op: Op) -> &'static str {
    match op {
        Op::Send => {
            "the queue is full (it holds its capacity in bytes, msg_qbytes) and the call was not allowed to wait"
        }
        Op::Receive => {
            "no message of the requested type is waiting and the call was not allowed to wait"
        }
        _ => "the call would have had to wait",
    }
}

fn timed_out(op: Op) -> &'static str {
    match op {
        Op::Send => "the queue stayed full for",
        Op::Receive => "no message of the requested type arrived within",
        _ => "the call could not complete within",
    }
}

fn permission(op: Op, errno: Errno) -> &'static str {
    match (op, errno) {
        (Op::Send, _) => {
            "sending needs write permission on the queue, or the CAP_IPC_OWNER capability"
        }
        (Op::Receive | Op::Stat | Op::Peek, _) => {
            "this needs read permission on the queue, or the CAP_IPC_OWNER capability"
        }
        (Op::Open | Op::OpenId, _) => {
            "the queue exists but its mode does not allow this process in; CAP_IPC_OWNER bypasses queue permissions"
        }
        (Op::SetAttributes, _) => {
            "changing a queue takes its owner or creator (or CAP_SYS_ADMIN), and raising its capacity above kernel.msgmnb takes CAP_SYS_RESOURCE as well"
        }
        (Op::Remove, _) => {
            "only the queue's owner or creator, or a process with CAP_SYS_ADMIN, may remove it"
        }
        (_, _) => "the process lacks the permission or capability for this",
    }
}

/// `1 byte`, `7 bytes`: a count and its noun, in the right number.
pub(crate) fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn access_text(access: &Option<Access>) -> String {
    access.map_or_else(String::new, |a| format!("; {a}"))
}

fn too_large_size(op: Op, size: usize, limit: usize) -> String {
    match op {
        Op::Receive | Op::Peek => format!("the message is larger than the limit of {limit} bytes"),
        _ => format!("the message is {size} bytes, more than the limit of {limit} bytes"),
    }
}

fn too_large(op: Op, errno: Errno) -> &'static str {
    match op {
        // MSG_COPY's refusal: it copies no more than kernel.msgmax bytes.
        Op::Peek if errno == Errno::EINVAL => {
            "it was sent before kernel.msgmax was lowered below its size, and a peek copies \
             no more than msgmax: receive it, or raise msgmax again"
        }
        Op::Receive | Op::Peek => "it stays on the queue; receive it with a larger buffer",
        _ => "it was not sent; raise the queue's capacity or the kernel's msgmax, or send less",
    }
}

fn limit_reached(errno: Errno) -> &'static str {
    match errno {
        Errno::ENOSPC => {
            "the host already has as many queues as the kernel allows (msgmni); remove unused queues or raise kernel.msgmni"
        }
        _ => "the kernel has no memory left for this",
    }
}

/// An [`Error`] as an [`io::Error`](std::io::Error), for callers whose
/// errors are I/O errors; the `Error` is its inner error, text and all.
///
/// The kind is the errno's (`WouldBlock` for `EAGAIN`, `NotFound` for
/// `ENOENT`, `PermissionDenied` for `EACCES`, …), but for:
///
/// - `Other` for [`Error::Stopped`], not the `Interrupted` of its `EINTR`,
///   which std's `read_exact`, `write_all` and their kin retry: a stop stays
///   in force, so they would retry for ever;
/// - `InvalidData` for [`Error::Decode`], `InvalidInput` for
///   [`Error::Encode`];
/// - `ResourceBusy` for [`Error::AlreadyRunning`];
/// - its own error's kind for [`Error::Io`].
impl From<Error> for std::io::Error {
    fn from(error: Error) -> std::io::Error {
        use std::io::ErrorKind;
        let kind = match &error {
            Error::Io { source, .. } => source.kind(),
            Error::Stopped { .. } => ErrorKind::Other,
            Error::Decode(_) => ErrorKind::InvalidData,
            Error::Encode(_) => ErrorKind::InvalidInput,
            Error::AlreadyRunning { .. } => ErrorKind::ResourceBusy,
            other => other.errno().map_or(ErrorKind::Other, |errno| {
                std::io::Error::from_raw_os_error(errno as i32).kind()
            }),
        };
        std::io::Error::new(kind, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distrust_names_a_trusted_uid_only_when_it_is_another_user() {
        let owned = |trusted_uid| Distrust::Owner {
            owner_uid: 65534,
            caller_uid: 1000,
            trusted_uid,
        };
        let expected = "it is owned by uid 65534, neither this process's user (uid 1000) nor root";
        assert_eq!(owned(None).to_string(), expected);
        assert_eq!(owned(Some(1000)).to_string(), expected);
        assert_eq!(owned(Some(0)).to_string(), expected);
        assert_eq!(
            owned(Some(7)).to_string(),
            format!("{expected} nor the trusted uid 7")
        );
        let created = Distrust::Creator {
            creator_uid: 65534,
            owner_uid: 0,
            caller_uid: 0,
            trusted_uid: None,
        };
        assert_eq!(
            created.to_string(),
            "it is owned by uid 0, but was created by uid 65534, neither this process's user \
             (uid 0) nor root"
        );
        let error = Error::Untrusted {
            op: Op::Open,
            errno: Errno::EPERM,
            key: Key::new(0x2a),
            reason: Distrust::WorldWritable { mode: 0o662 },
        };
        assert_eq!(
            error.to_string(),
            "cannot open the queue (msgget): refusing queue 0x0000002a: its mode 0662 lets every \
             user write to it, so anyone can put any message in it; have whoever creates it \
             give a mode without write permission for others (0600, 0660), or, if every user \
             is meant to send to it, open it as its creator would, with create(true) and that \
             mode, or with allow_foreign(true)"
        );
        let error = Error::Untrusted {
            op: Op::Open,
            errno: Errno::EPERM,
            key: Key::new(0x2a),
            reason: Distrust::Unverifiable,
        };
        assert_eq!(
            error.to_string(),
            "cannot open the queue (msgget): refusing queue 0x0000002a: who owns it cannot be \
             told: its status cannot be read (IPC_STAT), and /proc/sysvipc/msg cannot be read \
             or does not list it; give this process read permission on the queue, make \
             /proc/sysvipc readable to it, or open the queue with allow_foreign(true)"
        );
    }

    #[test]
    fn a_timeout_says_how_long_the_queue_stayed_full() {
        let error = Error::TimedOut {
            op: Op::Send,
            errno: Errno::ETIMEDOUT,
            timeout: Duration::from_millis(100),
        };
        assert_eq!(
            error.to_string(),
            "cannot send (msgsnd): the queue stayed full for 100ms"
        );
    }

    #[test]
    fn a_receive_does_not_claim_to_know_the_size_of_a_message_too_large() {
        let too_large = |op| Error::TooLarge {
            op,
            errno: Errno::E2BIG,
            size: 11,
            limit: 10,
        };
        let received = too_large(Op::Receive).to_string();
        assert!(
            received.contains("the message is larger than the limit of 10 bytes"),
            "{received}"
        );
        assert!(!received.contains("11"), "{received}");
        let sent = too_large(Op::Send).to_string();
        assert!(sent.contains("the message is 11 bytes"), "{sent}");
    }

    #[test]
    fn only_a_vanished_queue_counts_as_removed() {
        let id = QueueId(7);
        let removed = Error::from_errno(Op::Receive, Errno::EIDRM, Some(id));
        assert!(removed.is_removed());
        assert_eq!(
            (removed.op(), removed.errno()),
            (Op::Receive, Some(Errno::EIDRM))
        );
        assert!(Error::from_errno(Op::Send, Errno::EINVAL, Some(id)).is_removed());
        assert!(Error::from_errno(Op::Stat, Errno::EINVAL, Some(id)).is_removed());
        // Nothing was found, but no queue went away: a key nobody uses, a
        // user who does not exist.
        assert!(!Error::from_errno(Op::Open, Errno::ENOENT, None).is_removed());
        let no_user = Error::NotFound {
            op: Op::DropPrivileges,
            errno: Errno::ENOENT,
            what: "no user is named \"nobody-here\"".into(),
        };
        assert!(no_user.is_not_found() && !no_user.is_removed());
    }

    #[test]
    fn as_an_io_error_the_kind_is_the_errnos_and_the_error_is_kept() {
        let full = Error::from_errno(Op::Send, Errno::EAGAIN, Some(QueueId(7)));
        let text = full.to_string();
        let io = std::io::Error::from(full);
        assert_eq!(io.kind(), std::io::ErrorKind::WouldBlock);
        assert_eq!(io.to_string(), text);
        let inner = io.into_inner().unwrap().downcast::<Error>().unwrap();
        assert!(inner.is_would_block());

        let timed_out = Error::TimedOut {
            op: Op::Send,
            errno: Errno::ETIMEDOUT,
            timeout: Duration::from_millis(1),
        };
        assert!(timed_out.is_timed_out());
        assert!(!Error::from_errno(Op::Send, Errno::EAGAIN, None).is_timed_out());
        let undecodable = crate::DecodeError::new(1, b"x", crate::DecodeReason::UnknownType);
        let cases = [
            (
                Error::from_errno(Op::Open, Errno::ENOENT, None),
                std::io::ErrorKind::NotFound,
            ),
            (timed_out, std::io::ErrorKind::TimedOut),
            (Error::Decode(undecodable), std::io::ErrorKind::InvalidData),
            (
                Error::Encode(EncodeError {
                    variant: "Job",
                    mtype: 2,
                    error: crate::CodecError::new("a map key is not a string"),
                }),
                std::io::ErrorKind::InvalidInput,
            ),
            // Not Interrupted, which std's I/O loops retry: a stop stays.
            (
                Error::Stopped {
                    op: Op::Receive,
                    errno: Errno::EINTR,
                },
                std::io::ErrorKind::Other,
            ),
            (
                Error::AlreadyRunning {
                    path: "/run/x.pid".into(),
                    pid: Some(7),
                },
                std::io::ErrorKind::ResourceBusy,
            ),
        ];
        for (error, kind) in cases {
            let said = error.to_string();
            assert_eq!(std::io::Error::from(error).kind(), kind, "{said}");
        }
    }
}
