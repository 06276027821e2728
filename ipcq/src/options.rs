//! How a queue is opened or created.

use std::time::Duration;

use nix::errno::Errno;

use crate::error::{Access, Distrust, Error, Op, Result};
use crate::key::{Key, QueueId};
use crate::queue::MsgQueue;
use crate::stat::{QueueStat, find_proc_entry, status_of};
use crate::stop::StopHandle;
use crate::sys;

/// Options for opening or creating a queue, in the manner of
/// [`std::fs::OpenOptions`].
///
/// By default an open only finds an existing queue. A queue created here gets
/// mode `0o600` (owner read and write) unless [`mode`](Self::mode) says otherwise;
/// the owner and capacity, when given, are applied with `IPC_SET` right after
/// creation, and a queue that cannot be set up that way is removed again.
/// Mode, owner and capacity apply only to a queue this call creates; change an
/// existing queue with [`MsgQueue::set_attributes`].
///
/// # Examples
///
/// ```
/// use ipcq::{Key, OpenOptions};
///
/// let q = OpenOptions::new()
///     .create_new(true)
///     .mode(0o660)
///     .capacity(4096)
///     .open(Key::private())?;
/// let stat = q.stat()?;
/// assert_eq!((stat.mode, stat.capacity), (0o660, 4096));
/// q.remove()?;
/// # Ok::<(), ipcq::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    create: bool,
    create_new: bool,
    mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
    capacity: Option<u64>,
    stop: Option<StopHandle>,
    spin: Duration,
    allow_foreign: bool,
    trusted_owner: Option<u32>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// Options that open an existing queue only.
    pub fn new() -> Self {
        OpenOptions {
            create: false,
            create_new: false,
            mode: 0o600,
            uid: None,
            gid: None,
            capacity: None,
            stop: None,
            spin: Duration::ZERO,
            allow_foreign: false,
            trusted_owner: None,
        }
    }

    /// Creates the queue if it does not exist, or opens it if it does.
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.create = create;
        self
    }

    /// Creates the queue, failing with [`Error::AlreadyExists`] if one has the key.
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.create_new = create_new;
        self
    }

    /// The permission bits of a created queue (default `0o600`).
    ///
    /// The nine bits of `0o777`: read lets a process receive and stat, write
    /// lets it send. The process umask does not apply to System V queues. A
    /// mode with other bits set makes [`open`](Self::open) fail with
    /// [`Error::InvalidArgument`]: that catches most modes written in decimal
    /// (`mode(644)` would create a queue of mode `0o204`), but not those up to
    /// 511 (`mode(400)` is `0o620`). Write modes in octal.
    ///
    /// With [`create`](Self::create) or [`create_new`](Self::create_new), a
    /// mode that lets every user write (`0o622`, `0o666`) also says that such
    /// a queue is what the caller wants: an existing queue whose mode lets
    /// every user write is opened rather than refused as
    /// [`Distrust::WorldWritable`](crate::Distrust::WorldWritable) (its owner
    /// and creator are still checked), so a daemon that takes commands from
    /// every local user can open its own queue again when it restarts.
    /// Without creation the mode says nothing, and such a queue is refused.
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// The owner uid of a created queue (needs privilege to give away).
    pub fn uid(&mut self, uid: u32) -> &mut Self {
        self.uid = Some(uid);
        self
    }

    /// The owner gid of a created queue.
    pub fn gid(&mut self, gid: u32) -> &mut Self {
        self.gid = Some(gid);
        self
    }

    /// The capacity in bytes of a created queue (`msg_qbytes`; the kernel's
    /// default is `msgmnb`, and only a privileged process may go above it).
    pub fn capacity(&mut self, bytes: u64) -> &mut Self {
        self.capacity = Some(bytes);
        self
    }

    /// Opens an existing queue even when another user owns it or every user
    /// may write to it (default: refused with [`Error::Untrusted`]).
    ///
    /// Whoever may write to a queue can put any message in it, and whoever
    /// owns or created it can change who may write (the creator keeps that
    /// right after giving the queue to another owner). So by default an
    /// existing queue is opened only if this process's user or root owns and
    /// created it, and its mode does not let every user write (unless these
    /// options create queues with such a [`mode`](Self::mode)). Opt in
    /// for a queue whose owner you trust: a daemon's queue that the daemon's
    /// own user created, say.
    ///
    /// The owner is read with `IPC_STAT`, or, where this process may not read
    /// the queue, from `/proc/sysvipc/msg`, which lists every queue whatever
    /// its mode. Where neither can be read, the queue is refused as
    /// [`Distrust::Unverifiable`](crate::Distrust::Unverifiable).
    pub fn allow_foreign(&mut self, allow: bool) -> &mut Self {
        self.allow_foreign = allow;
        self
    }

    /// Also trusts existing queues that user `uid` owns or created, as this
    /// process's user and root are trusted: a queue that every user may write
    /// to is still refused (unless these options create queues with such a
    /// [`mode`](Self::mode)).
    ///
    /// The narrow form of [`allow_foreign`](Self::allow_foreign), for a
    /// client of a daemon that runs as its own user and owns its queue.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ipcq::{Key, OpenOptions, TypedQueue};
    /// # #[derive(ipcq::QueueMessage, serde::Serialize, serde::Deserialize)]
    /// # enum Cmd { Reload }
    /// // The daemon runs as `myd`.
    /// let myd = ipcq::service::Credentials::resolve(Some("myd"), None)?;
    /// let q = TypedQueue::<Cmd>::open_with(
    ///     Key::new(0x5150),
    ///     OpenOptions::new().trust_owner(myd.uid),
    /// )?;
    /// q.send(Cmd::Reload)?;
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn trust_owner(&mut self, uid: u32) -> &mut Self {
        self.trusted_owner = Some(uid);
        self
    }

    /// A stop handle for the opened queue (see [`MsgQueue::with_stop`]).
    pub fn stop(&mut self, stop: StopHandle) -> &mut Self {
        self.stop = Some(stop);
        self
    }

    /// How long the opened queue's calls that would sleep retry first (see
    /// [`MsgQueue::with_spin`]); zero, the default, sleeps at once.
    pub fn spin(&mut self, spin: Duration) -> &mut Self {
        self.spin = spin;
        self
    }

    /// Opens or creates the queue named by `key`, as these options say.
    ///
    /// [`Key::private`] always creates a new queue, so it needs
    /// [`create`](Self::create) or [`create_new`](Self::create_new).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the queue does not exist and creation was not
    /// asked for; [`Error::InvalidArgument`] for a private key without
    /// creation; [`Error::AlreadyExists`] for `create_new` on a taken key;
    /// [`Error::Untrusted`] for an existing queue that a user other than this
    /// process's, root or the [trusted](Self::trust_owner) one owns or
    /// created, that every user may write to (unless these options create
    /// queues with such a [`mode`](Self::mode)), or whose owner cannot be
    /// read at all, unless
    /// [`allow_foreign`](Self::allow_foreign);
    /// [`Error::PermissionDenied`] when the queue's mode shuts this process out or
    /// the owner cannot be given away; [`Error::LimitReached`] when the host has
    /// `msgmni` queues already.
    pub fn open(&self, key: Key) -> Result<MsgQueue> {
        check_mode(Op::Open, self.mode)?;
        if self.capacity == Some(0) {
            return Err(Error::invalid(Op::Open, ZERO_CAPACITY));
        }
        let (id, created) = self.get(key)?;
        if !created && !self.allow_foreign {
            match status_of(id) {
                Ok(Some(status)) => self.check_trusted(&status)?,
                // Gone already: the first call on it will say so.
                Ok(None) => {}
                Err(_) => return Err(unverifiable(key)),
            }
        }
        let queue = self.handle(key, id);
        if created && (self.uid.is_some() || self.gid.is_some() || self.capacity.is_some()) {
            let attributes = Attributes {
                uid: self.uid,
                gid: self.gid,
                mode: None,
                capacity: self.capacity,
            };
            if let Err(err) = queue.set_attributes(&attributes) {
                // Leave nothing half set up behind.
                let _ = queue.remove();
                return Err(err);
            }
        }
        Ok(queue)
    }

    /// Opens the queue with this id (see [`MsgQueue::open_id`]); `create` and
    /// the attributes do not apply, the trust check and the stop handle do.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no queue has this id; [`Error::Untrusted`] as
    /// for [`open`](Self::open).
    pub fn open_id(&self, id: QueueId) -> Result<MsgQueue> {
        // The key comes from the queue's status, which /proc gives without
        // read permission.
        let status = match status_of(id) {
            Ok(Some(status)) => status,
            Ok(None) => {
                return Err(Error::NotFound {
                    op: Op::OpenId,
                    errno: Errno::EINVAL,
                    what: format!("no queue has id {id}"),
                });
            }
            Err(errno) => {
                return Err(Error::Os {
                    op: Op::OpenId,
                    errno,
                    detail: format!(
                        "queue {id} cannot be read (IPC_STAT) nor found in /proc/sysvipc/msg, so \
                         its key is not known"
                    ),
                });
            }
        };
        if !self.allow_foreign {
            // Nothing is created here, so no mode says what is wanted.
            check_trusted(Op::OpenId, &status, self.trusted_owner, false)?;
        }
        Ok(self.handle(status.key, id))
    }

    /// The handle to queue `id` (key `key`) that these options give: its stop
    /// handle and spin.
    fn handle(&self, key: Key, id: QueueId) -> MsgQueue {
        MsgQueue::from_id(key, id, self.stop.clone()).with_spin(self.spin)
    }

    /// [`check_trusted`] with these options: the trusted owner, and whether
    /// these options create queues with a mode that lets every user write.
    fn check_trusted(&self, status: &QueueStat) -> Result<()> {
        let creates_world_writable = (self.create || self.create_new) && self.mode & 0o002 != 0;
        check_trusted(Op::Open, status, self.trusted_owner, creates_world_writable)
    }

    /// msgget, telling whether this call created the queue.
    fn get(&self, key: Key) -> Result<(QueueId, bool)> {
        let mode = self.mode as libc::c_int;
        let create = libc::IPC_CREAT | libc::IPC_EXCL | mode;
        let fail = |errno| open_error(key, errno);
        if key.is_private() {
            if !self.create && !self.create_new {
                return Err(Error::invalid(
                    Op::Open,
                    "IPC_PRIVATE names no existing queue: every msgget with it creates a new one, so ask for create",
                ));
            }
            return sys::msgget(key.get(), libc::IPC_CREAT | mode)
                .map(|id| (QueueId(id), true))
                .map_err(fail);
        }
        if self.create_new {
            return sys::msgget(key.get(), create)
                .map(|id| (QueueId(id), true))
                .map_err(fail);
        }
        if !self.create {
            return sys::msgget(key.get(), 0)
                .map(|id| (QueueId(id), false))
                .map_err(fail);
        }
        // Create exclusively so that we know whether to apply the attributes;
        // the queue may come and go between the two calls, so try a few times.
        let mut last = Errno::ENOENT;
        for _ in 0..8 {
            match sys::msgget(key.get(), create) {
                Ok(id) => return Ok((QueueId(id), true)),
                Err(Errno::EEXIST) => {}
                Err(errno) => return Err(fail(errno)),
            }
            match sys::msgget(key.get(), 0) {
                Ok(id) => return Ok((QueueId(id), false)),
                Err(Errno::ENOENT) => last = Errno::ENOENT,
                Err(errno) => return Err(fail(errno)),
            }
        }
        Err(fail(last))
    }
}

/// Refuses a queue another user controls (owned or created by someone other
/// than this user, root or `trusted_owner`: the creator keeps the owner's
/// rights, and may give the queue to anyone), or writable by every user
/// unless `world_writable` says that is what the caller creates queues with;
/// `op` is the opening that asks.
fn check_trusted(
    op: Op,
    entry: &QueueStat,
    trusted_owner: Option<u32>,
    world_writable: bool,
) -> Result<()> {
    let caller_uid = nix::unistd::geteuid().as_raw();
    let trusted = |uid: u32| uid == caller_uid || uid == 0 || Some(uid) == trusted_owner;
    let reason = if !trusted(entry.uid) {
        Distrust::Owner {
            owner_uid: entry.uid,
            caller_uid,
            trusted_uid: trusted_owner,
        }
    } else if !trusted(entry.creator_uid) {
        Distrust::Creator {
            creator_uid: entry.creator_uid,
            owner_uid: entry.uid,
            caller_uid,
            trusted_uid: trusted_owner,
        }
    } else if entry.mode & 0o002 != 0 && !world_writable {
        Distrust::WorldWritable {
            mode: entry.mode & 0o777,
        }
    } else {
        return Ok(());
    };
    Err(Error::Untrusted {
        op,
        errno: Errno::EPERM,
        key: entry.key,
        reason,
    })
}

/// Refuses a mode with bits outside `0o777`, which System V queues do not
/// have: most often a mode written in decimal.
pub(crate) fn check_mode(op: Op, mode: u32) -> Result<()> {
    if mode & !0o777 == 0 {
        return Ok(());
    }
    let decimal = mode.to_string();
    let hint = if decimal.len() <= 3 && decimal.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        format!("; {decimal} looks like octal written in decimal: write 0o{decimal}")
    } else {
        String::new()
    };
    Err(Error::invalid(
        op,
        format!("mode {mode:#o} has bits outside 0o777, the read and write bits a queue has{hint}"),
    ))
}

/// Why a capacity of 0 is refused.
pub(crate) const ZERO_CAPACITY: &str = "a queue's capacity must be at least 1 byte";

/// The refusal of a queue whose owner cannot be read.
fn unverifiable(key: Key) -> Error {
    Error::Untrusted {
        op: Op::Open,
        errno: Errno::EPERM,
        key,
        reason: Distrust::Unverifiable,
    }
}

fn open_error(key: Key, errno: Errno) -> Error {
    match errno {
        Errno::EEXIST => Error::AlreadyExists {
            op: Op::Open,
            errno,
            key,
        },
        Errno::ENOENT => Error::NotFound {
            op: Op::Open,
            errno,
            what: format!("no queue has key {key}"),
        },
        Errno::EACCES => Error::PermissionDenied {
            op: Op::Open,
            errno,
            access: find_proc_entry(|s| s.key == key).as_ref().map(Access::of),
        },
        _ => Error::from_errno(Op::Open, errno, None),
    }
}

/// Attributes of an existing queue to change with `IPC_SET`: what is not set
/// keeps its current value.
///
/// # Examples
///
/// ```
/// use ipcq::{Attributes, Key, MsgQueue};
///
/// let q = MsgQueue::create(Key::private())?;
/// q.set_attributes(&Attributes::new().mode(0o640).capacity(8192))?;
/// let stat = q.stat()?;
/// assert_eq!((stat.mode, stat.capacity), (0o640, 8192));
/// q.remove()?;
/// # Ok::<(), ipcq::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attributes {
    /// The new owner uid.
    pub uid: Option<u32>,
    /// The new owner gid.
    pub gid: Option<u32>,
    /// The new permission bits, within `0o777`.
    pub mode: Option<u32>,
    /// The new capacity in bytes (`msg_qbytes`).
    pub capacity: Option<u64>,
}

impl Attributes {
    /// Changes nothing yet: name each change with the methods below.
    #[must_use]
    pub fn new() -> Self {
        Attributes::default()
    }

    /// Gives the queue to the user `uid`.
    #[must_use]
    pub fn uid(mut self, uid: u32) -> Self {
        self.uid = Some(uid);
        self
    }

    /// Gives the queue to the group `gid`.
    #[must_use]
    pub fn gid(mut self, gid: u32) -> Self {
        self.gid = Some(gid);
        self
    }

    /// Sets the permission bits, within `0o777`: other bits make
    /// [`MsgQueue::set_attributes`] fail with [`Error::InvalidArgument`].
    #[must_use]
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Sets the capacity in bytes (`msg_qbytes`); above `kernel.msgmnb`
    /// only with `CAP_SYS_RESOURCE`.
    #[must_use]
    pub fn capacity(mut self, bytes: u64) -> Self {
        self.capacity = Some(bytes);
        self
    }
}
