//! A System V message queue that moves bytes: the layer every other one is built on.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libc::c_int;
use nix::errno::Errno;

use crate::buffer::{Message, MsgBuffer};
use crate::error::{Access, Error, Op, Result};
use crate::key::{Key, QueueId};
use crate::options::{Attributes, OpenOptions, ZERO_CAPACITY, check_mode};
use crate::selector::{Selector, check_mtype};
use crate::stat::{Limits, QueueStat, proc_entry};
use crate::stop::{Blocked, StopHandle};
use crate::sys::{self, MsgBuf, Outgoing, STACK_TEXT, StackMsg};
use crate::wake::{DeadlineAlarm, WakeUnblocked};

/// How long a call may wait.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wait {
    /// Not at all (`IPC_NOWAIT`).
    No,
    /// Until the call can go on, the queue is removed, or a stop is requested.
    Forever,
    /// As `Forever`, but no longer than until the deadline.
    Until(Instant),
}

impl Wait {
    pub(crate) fn timeout(timeout: Duration) -> Wait {
        // A timeout too long to represent is as good as none.
        Instant::now()
            .checked_add(timeout)
            .map_or(Wait::Forever, Wait::Until)
    }
}

/// A receive buffer this large takes any message while the kernel's limits
/// are at their defaults; buffers still grow when a message needs more.
const FIRST_RECV_CAPACITY: usize = 8192;

/// `kernel.msgmax` as last read by any handle (0: not yet).
static MSGMAX: AtomicUsize = AtomicUsize::new(0);

/// The largest buffer a receive grows to on its own, unless the kernel's
/// `msgmax` is larger: a message beyond both (sent before `msgmax` was
/// lowered) is reported as too large and stays on the queue.
const MAX_RECV_CAPACITY: usize = 1 << 26;

/// Up to this size a buffer too small for a message grows straight to
/// `msgmax`, which takes any message sent since; past it, where `msgmax` has
/// been raised to many megabytes, by doubling, so that a buffer a thread keeps
/// for good grows no larger than what it met.
const GROW_TO_MSGMAX_UP_TO: usize = 1 << 20;

/// A thread's spare buffer: taken out for one call and put back after it,
/// so that a call made while another holds it (a `Serialize` impl that
/// sends, say) finds none and makes its own. Taking and putting back are a
/// few instructions. The receive paths that make their syscall inline take
/// and put back around it rather than lending the buffer to a closure
/// ([`with_thread_buf`]), which would add a stack frame around the syscall
/// (see [`MsgQueue::send_msg`]).
pub(crate) type ThreadBuf = std::thread::LocalKey<Cell<Option<MsgBuf>>>;

thread_local! {
    /// Per-thread buffers, so that sending and receiving through a shared
    /// queue allocate nothing once warm. Messages up to [`STACK_TEXT`] bytes
    /// are sent from the stack; the send buffer takes larger ones, and
    /// batches.
    static SEND_BUF: Cell<Option<MsgBuf>> = const { Cell::new(None) };
    static RECV_BUF: Cell<Option<MsgBuf>> = const { Cell::new(None) };
}

/// This thread's buffer `key`, or a new one of `capacity` bytes if it is out.
#[inline(always)]
pub(crate) fn take_thread_buf(key: &'static ThreadBuf, capacity: usize) -> MsgBuf {
    match key.try_with(Cell::take) {
        Ok(Some(buf)) => buf,
        _ => MsgBuf::with_capacity(capacity),
    }
}

/// The largest buffer a thread keeps between calls: one grown past it for a
/// message that large (where `msgmax` has been raised to megabytes) is freed
/// after the call, so that any sender cannot make every thread that receives
/// from a queue hold that much for good.
const KEEP_AT_MOST: usize = 1 << 20;

/// Keeps `buf` as this thread's buffer `key`, unless it is larger than
/// [`KEEP_AT_MOST`].
#[inline(always)]
pub(crate) fn put_back_thread_buf(key: &'static ThreadBuf, buf: MsgBuf) {
    if buf.text_capacity() > KEEP_AT_MOST {
        return;
    }
    // During thread exit the buffer is just dropped.
    let _ = key.try_with(|cell| cell.set(Some(buf)));
}

/// Runs `f` with this thread's buffer `key` (see [`ThreadBuf`]).
#[inline]
pub(crate) fn with_thread_buf<R>(
    key: &'static ThreadBuf,
    capacity: usize,
    f: impl FnOnce(&mut MsgBuf) -> R,
) -> R {
    let mut buf = take_thread_buf(key, capacity);
    let result = f(&mut buf);
    put_back_thread_buf(key, buf);
    result
}

#[inline(always)]
pub(crate) fn take_send_buf() -> MsgBuf {
    take_thread_buf(&SEND_BUF, STACK_TEXT)
}

#[inline(always)]
pub(crate) fn put_back_send_buf(buf: MsgBuf) {
    put_back_thread_buf(&SEND_BUF, buf);
}

pub(crate) fn with_send_buf<R>(f: impl FnOnce(&mut MsgBuf) -> R) -> R {
    with_thread_buf(&SEND_BUF, STACK_TEXT, f)
}

/// This thread's receive buffer, lent to one receive and kept again as this
/// thread's buffer when dropped.
///
/// Given back on drop rather than by a call after decoding, so that a receive
/// can end with the decoded value as its tail expression, which the compiler
/// builds in the caller's slot: with a call after the decode, a large value
/// took one more copy on its way out (a 4 KiB payload: 400 instructions of a
/// send and receive's 3,000).
pub(crate) struct LentRecvBuf(Option<MsgBuf>);

impl LentRecvBuf {
    /// Takes this thread's receive buffer, or a new one if it is out.
    #[inline(always)]
    pub(crate) fn take() -> Self {
        LentRecvBuf(Some(take_thread_buf(&RECV_BUF, FIRST_RECV_CAPACITY)))
    }

    /// The buffer. It is only `None` inside `drop`, so the insert never runs.
    #[inline(always)]
    pub(crate) fn buf(&mut self) -> &mut MsgBuf {
        self.0.get_or_insert_with(|| MsgBuf::with_capacity(0))
    }
}

impl Drop for LentRecvBuf {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(buf) = self.0.take() {
            put_back_thread_buf(&RECV_BUF, buf);
        }
    }
}

#[inline]
pub(crate) fn with_recv_buf<R>(f: impl FnOnce(&mut MsgBuf) -> R) -> R {
    with_thread_buf(&RECV_BUF, FIRST_RECV_CAPACITY, f)
}

/// A handle to one System V message queue, sending and receiving bytes.
///
/// This is the untyped layer: each message is an mtype and a byte string, as
/// in C, PHP and Python. [`TypedQueue`](crate::TypedQueue) builds typed
/// messages on top of it.
///
/// The handle is an id and a few cached numbers: it is `Send + Sync`, cheap to
/// clone, and dropping it leaves the queue in place (queues live until
/// [`remove`](Self::remove)d or the host reboots). Blocking calls wait until
/// they can go on; a signal does not end them unless a stop was requested
/// through the queue's [`StopHandle`].
///
/// # Examples
///
/// ```
/// use ipcq::{Key, MsgQueue, Selector};
///
/// let q = MsgQueue::create(Key::private())?;
/// q.send(1, b"hello")?;
/// let msg = q.recv(Selector::Any)?;
/// assert_eq!((msg.mtype, &msg.body[..]), (1, &b"hello"[..]));
/// q.remove()?;
/// # Ok::<(), ipcq::Error>(())
/// ```
#[derive(Debug)]
pub struct MsgQueue {
    key: Key,
    id: QueueId,
    stop: Option<StopHandle>,
    /// How long a call that would sleep retries without sleeping first
    /// ([`with_spin`](MsgQueue::with_spin)).
    spin: Duration,
    /// The largest text a send may carry as last seen: the lesser of msgmax
    /// and the queue's capacity. Re-read when a message does not fit.
    send_limit: AtomicUsize,
}

impl Clone for MsgQueue {
    fn clone(&self) -> Self {
        MsgQueue {
            key: self.key,
            id: self.id,
            stop: self.stop.clone(),
            spin: self.spin,
            send_limit: AtomicUsize::new(self.send_limit.load(Ordering::Relaxed)),
        }
    }
}

impl MsgQueue {
    pub(crate) fn from_id(key: Key, id: QueueId, stop: Option<StopHandle>) -> Self {
        let queue = MsgQueue {
            key,
            id,
            stop,
            spin: Duration::ZERO,
            send_limit: AtomicUsize::new(0),
        };
        queue.refresh_send_limit();
        queue
    }

    /// Opens the existing queue named by `key`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no queue has the key,
    /// [`Error::InvalidArgument`] for [`Key::private`] (which names no
    /// existing queue), and the errors of [`OpenOptions::open`].
    pub fn open(key: Key) -> Result<Self> {
        OpenOptions::new().open(key)
    }

    /// Opens the queue named by `key`, creating it with mode `0o600` if missing.
    ///
    /// # Errors
    ///
    /// As [`OpenOptions::open`].
    pub fn create(key: Key) -> Result<Self> {
        OpenOptions::new().create(true).open(key)
    }

    /// Opens a queue by its id, as `ipcs -q` lists it or another process
    /// passed it on: the way to share a [`Key::private`] queue with a child.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no queue has this id; [`Error::Untrusted`]
    /// when another user controls it (see [`OpenOptions::allow_foreign`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use ipcq::{Key, MsgQueue, Selector};
    ///
    /// let private = MsgQueue::create(Key::private())?;
    /// let same = MsgQueue::open_id(private.id())?;
    /// same.send(1, b"shared")?;
    /// assert_eq!(private.recv(Selector::Any)?.body, b"shared");
    /// private.remove()?;
    /// assert!(MsgQueue::open_id(private.id()).unwrap_err().is_not_found());
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn open_id(id: QueueId) -> Result<Self> {
        OpenOptions::new().open_id(id)
    }

    /// Options to open or create a queue with.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Attaches a stop handle: once it is stopped, blocking calls on this handle
    /// return [`Error::Stopped`] instead of waiting on.
    #[must_use = "the stop applies to the returned handle"]
    pub fn with_stop(mut self, stop: StopHandle) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The stop handle attached to this queue, if any.
    pub fn stop_handle(&self) -> Option<&StopHandle> {
        self.stop.as_ref()
    }

    /// Makes a send or receive that would sleep in the kernel retry without
    /// sleeping for up to `spin` first, yielding the CPU between tries; zero,
    /// the default, sleeps at once.
    ///
    /// Waking a process that sleeps in `msgrcv` on another CPU takes tens of
    /// microseconds on a virtual machine (an inter-processor interrupt, and
    /// the host scheduling the idle virtual CPU again), far longer than the
    /// message itself. A request and its reply that both arrive within the
    /// spin never pay for that wake-up: on the two-CPU hosts of
    /// `docs/BENCHMARKS.md` a round trip of 16 or 256 bytes between two
    /// processes on different CPUs that both spin 50 us takes 3.5 to 9 us
    /// instead of 45 to 100, and uses less CPU time than the sleep and
    /// wake-up it saves.
    ///
    /// The price is CPU time when the wait is longer: every call that finds
    /// nothing to take (or no room) keeps its CPU busy with non-blocking
    /// syscalls for up to `spin` before it sleeps, and a process that waits
    /// for rare messages gains nothing by it. Each try also takes the
    /// queue's lock in the kernel for a moment, so many handles spinning on
    /// one queue can slow its senders down. A process sharing one CPU with
    /// its peer yields it to the peer at each try, as a sleep would, and
    /// pays for the tries: 0.5 to 2.9 us a round trip there. (A real-time
    /// thread's `sched_yield` gives way only to real-time threads of its own
    /// priority: a real-time spinner shuts a normal peer on its CPU out
    /// until the spin is over.)
    ///
    /// A deadline ([`recv_timeout`](Self::recv_timeout) and the like) ends
    /// the spin as it ends the wait, and so do a stop and the queue's
    /// removal. [`Duration::MAX`] never sleeps: a busy wait, for a program
    /// that gives the queue a CPU of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use ipcq::{Key, MsgQueue, Selector};
    ///
    /// let q = MsgQueue::create(Key::private())?.with_spin(Duration::from_micros(50));
    /// assert_eq!(q.spin_duration(), Duration::from_micros(50));
    /// q.send(1, b"ping")?;
    /// assert_eq!(q.recv(Selector::Any)?.body, b"ping");
    /// // Nothing arrives: the spin ends at the deadline, the call with it.
    /// assert_eq!(q.recv_timeout(Selector::Any, Duration::from_millis(1))?, None);
    /// q.remove()?;
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    #[must_use = "the spin applies to the returned handle"]
    pub fn with_spin(mut self, spin: Duration) -> Self {
        self.spin = spin;
        self
    }

    /// How long a call that would sleep retries first (see
    /// [`with_spin`](Self::with_spin)); zero when it sleeps at once.
    pub fn spin_duration(&self) -> Duration {
        self.spin
    }

    /// The key the queue was opened with.
    pub fn key(&self) -> Key {
        self.key
    }

    /// The queue's id.
    pub fn id(&self) -> QueueId {
        self.id
    }

    /// Sends a message, waiting while the queue is full.
    ///
    /// Without read permission on the queue its capacity cannot be read, and
    /// the kernel makes a body larger than the capacity (but within msgmax)
    /// wait as if the queue were full: for ever here, and
    /// [`Error::WouldBlock`] or a timeout from
    /// [`try_send`](Self::try_send) and [`send_timeout`](Self::send_timeout).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an mtype below 1; [`Error::TooLarge`] for a
    /// body larger than msgmax or the queue's capacity (where it can be read),
    /// before any syscall;
    /// [`Error::Removed`] if the queue is removed meanwhile;
    /// [`Error::Stopped`] after a stop; [`Error::PermissionDenied`] without
    /// write permission.
    #[inline]
    pub fn send(&self, mtype: i64, body: &[u8]) -> Result<()> {
        self.send_bytes(mtype, body, Wait::Forever).map(drop)
    }

    /// Sends a message if there is room now, or fails with [`Error::WouldBlock`].
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] when the queue is full, and those of [`send`](Self::send).
    pub fn try_send(&self, mtype: i64, body: &[u8]) -> Result<()> {
        match self.send_bytes(mtype, body, Wait::No)? {
            true => Ok(()),
            false => Err(Error::WouldBlock {
                op: Op::Send,
                errno: Errno::EAGAIN,
            }),
        }
    }

    /// Sends a message, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`] when the queue stayed full, and those of [`send`](Self::send).
    pub fn send_timeout(&self, mtype: i64, body: &[u8], timeout: Duration) -> Result<()> {
        match self.send_bytes(mtype, body, Wait::timeout(timeout))? {
            true => Ok(()),
            false => Err(timed_out(Op::Send, timeout)),
        }
    }

    #[inline(always)]
    fn send_bytes(&self, mtype: i64, body: &[u8], wait: Wait) -> Result<bool> {
        let mtype = check_mtype(Op::Send, mtype)?;
        let mut msg = StackMsg::new(mtype);
        if msg.try_extend_text(body) {
            return self.send_msg(msg.outgoing(), wait);
        }
        self.send_bytes_via_buffer(mtype, body, wait)
    }

    /// [`send_bytes`](Self::send_bytes) of a body too large for the stack.
    #[inline(never)]
    fn send_bytes_via_buffer(&self, mtype: libc::c_long, body: &[u8], wait: Wait) -> Result<bool> {
        with_send_buf(|buf| {
            buf.set_mtype(mtype);
            buf.clear_text();
            buf.extend_text(body);
            self.send_msg(buf.outgoing(), wait)
        })
    }

    /// Sends `msg`; false when it would have to wait longer than `wait` allows.
    ///
    /// The send is tried without waiting first, right here, and this is
    /// inlined into the public `send`, and that into its caller: after every
    /// syscall the CPU mispredicts the return of each stack frame that was
    /// live across it (the kernel refills the return stack buffer on the way
    /// out), and each frame fewer measurably speeds up a stream of small
    /// messages (`docs/BENCHMARKS.md`). A queue too full for it goes to
    /// [`send_when_full`](Self::send_when_full).
    #[inline(always)]
    pub(crate) fn send_msg(&self, msg: Outgoing<'_>, wait: Wait) -> Result<bool> {
        let size = msg.text_len();
        if size > self.send_limit.load(Ordering::Relaxed) {
            self.check_fits(size)?;
        }
        let began = self.refuse_if_stopped(Op::Send, wait)?;
        loop {
            match sys::msgsnd(self.id.0, msg, libc::IPC_NOWAIT) {
                Ok(()) => return Ok(true),
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return self.send_when_full(msg, wait, began),
                Err(errno) => return Err(self.send_error(size, errno)),
            }
        }
    }

    /// [`send_msg`](Self::send_msg) once the queue had no room for `msg`.
    ///
    /// Linux makes a send larger than the queue's capacity wait as if the
    /// queue were full, for ever (it never fits). The capacity may have
    /// shrunk since this handle last read it (`msgctl(IPC_SET)` by another
    /// handle or process), so it is read again before waiting, and such a
    /// message fails with [`Error::TooLarge`].
    ///
    /// `began` is what [`refuse_if_stopped`](Self::refuse_if_stopped) said
    /// when the send began.
    #[inline(never)]
    fn send_when_full(&self, msg: Outgoing<'_>, wait: Wait, began: Option<u64>) -> Result<bool> {
        let size = msg.text_len();
        if let Some(capacity) = self.refresh_capacity()
            && size > capacity
        {
            return Err(too_large(size, self.send_limit.load(Ordering::Relaxed)));
        }
        let Some(flags) = self.inline_flags(wait) else {
            return match self.run(Op::Send, wait, began, false, |flags| {
                sys::msgsnd(self.id.0, msg, flags)
            })? {
                Outcome::Done(()) => Ok(true),
                Outcome::Empty => Ok(false),
                Outcome::Failed(errno) => Err(self.send_error(size, errno)),
            };
        };
        if flags != 0 {
            return Ok(false);
        }
        loop {
            match sys::msgsnd(self.id.0, msg, 0) {
                Ok(()) => return Ok(true),
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(self.send_error(size, errno)),
            }
        }
    }

    /// The error for a send of a `size`-byte text that failed with `errno`.
    #[cold]
    #[inline(never)]
    fn send_error(&self, size: usize, errno: Errno) -> Error {
        if errno == Errno::EINVAL {
            // The id is dead, or a limit shrank below the message since we looked.
            if let Err(too_large) = self.check_fits(size) {
                return too_large;
            }
        }
        self.error(Op::Send, errno)
    }

    /// The send limit as last read (a send that fails with
    /// [`Error::TooLarge`] has just read it again).
    pub(crate) fn send_limit(&self) -> usize {
        self.send_limit.load(Ordering::Relaxed)
    }

    /// The send limit with the queue's capacity read again, for sizing
    /// batches: one `IPC_STAT`, where [`max_message_size`](Self::max_message_size)
    /// reads the kernel's limits too. With it, whether the capacity could be
    /// read (without read permission the limit is `msgmax` alone).
    pub(crate) fn current_send_limit(&self) -> (usize, bool) {
        let known = self.refresh_capacity().is_some();
        (self.send_limit.load(Ordering::Relaxed), known)
    }

    /// Re-reads the limits and fails with `TooLarge` if `size` exceeds them.
    fn check_fits(&self, size: usize) -> Result<()> {
        let limit = self.refresh_send_limit();
        if size > limit {
            return Err(too_large(size, limit));
        }
        Ok(())
    }

    /// The largest message text this queue takes now.
    ///
    /// The lesser of the kernel's `msgmax` and the queue's capacity; where the
    /// queue's status cannot be read (no read permission), `msgmax` alone.
    pub fn max_message_size(&self) -> usize {
        self.refresh_send_limit()
    }

    /// Re-reads the queue's capacity (`IPC_STAT`) into the send limit, with
    /// `msgmax` as last read; `None` without read permission.
    fn refresh_capacity(&self) -> Option<usize> {
        let ds = sys::msgctl_stat(self.id.0).ok()?;
        let capacity = usize::try_from(ds.msg_qbytes).unwrap_or(usize::MAX);
        let msgmax = MSGMAX.load(Ordering::Relaxed);
        if msgmax != 0 {
            self.send_limit
                .store(msgmax.min(capacity), Ordering::Relaxed);
        }
        Some(capacity)
    }

    /// Re-reads `msgmax` and the queue's capacity into the send limit.
    fn refresh_send_limit(&self) -> usize {
        let msgmax = Limits::read().map_or(FIRST_RECV_CAPACITY, |l| l.msgmax);
        MSGMAX.store(msgmax, Ordering::Relaxed);
        if self.refresh_capacity().is_none() {
            // The capacity is unreadable (no read permission): msgmax alone.
            self.send_limit.store(msgmax, Ordering::Relaxed);
        }
        self.send_limit.load(Ordering::Relaxed)
    }

    /// Receives the message `selector` picks, waiting until there is one.
    ///
    /// # Errors
    ///
    /// [`Error::Removed`] when the queue is removed while waiting (or
    /// [`Error::NotFound`] if it was already gone); [`Error::Stopped`] after
    /// a stop; [`Error::PermissionDenied`] without read permission.
    pub fn recv(&self, selector: Selector) -> Result<Message> {
        let msg = self.recv_owned(selector, Wait::Forever)?;
        Ok(msg.expect("a blocking receive returns a message or an error"))
    }

    /// Receives the message `selector` picks if one is waiting now.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv); an empty queue is `Ok(None)`, not an error.
    pub fn try_recv(&self, selector: Selector) -> Result<Option<Message>> {
        self.recv_owned(selector, Wait::No)
    }

    /// Receives the message `selector` picks, waiting at most `timeout`.
    ///
    /// `Ok(None)` means that none came in time. The wait sleeps in the kernel
    /// (after the handle's [spin](Self::with_spin), if it has one) and
    /// returns within about a millisecond of the deadline.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn recv_timeout(&self, selector: Selector, timeout: Duration) -> Result<Option<Message>> {
        self.recv_owned(selector, Wait::timeout(timeout))
    }

    fn recv_owned(&self, selector: Selector, wait: Wait) -> Result<Option<Message>> {
        with_recv_buf(|buf| {
            Ok(self.recv_buf(selector, buf, None, wait)?.then(|| Message {
                mtype: buf.mtype(),
                body: buf.text().to_vec(),
            }))
        })
    }

    /// Receives into a reusable buffer, waiting until there is a message.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv), and [`Error::TooLarge`] when a
    /// [bounded](MsgBuffer::bounded) buffer is too small; the message then stays
    /// on the queue.
    #[inline]
    pub fn recv_into(&self, selector: Selector, buf: &mut MsgBuffer) -> Result<()> {
        self.recv_buf(selector, &mut buf.raw, buf.limit, Wait::Forever)
            .map(drop)
    }

    /// Receives into a reusable buffer if a message waits now; false if none does.
    ///
    /// # Errors
    ///
    /// As [`recv_into`](Self::recv_into).
    pub fn try_recv_into(&self, selector: Selector, buf: &mut MsgBuffer) -> Result<bool> {
        self.recv_buf(selector, &mut buf.raw, buf.limit, Wait::No)
    }

    /// Receives into a reusable buffer, waiting at most `timeout`; false if none came.
    ///
    /// # Errors
    ///
    /// As [`recv_into`](Self::recv_into).
    pub fn recv_timeout_into(
        &self,
        selector: Selector,
        buf: &mut MsgBuffer,
        timeout: Duration,
    ) -> Result<bool> {
        self.recv_buf(selector, &mut buf.raw, buf.limit, Wait::timeout(timeout))
    }

    /// The flags of a call that can be made inline (see
    /// [`send_msg`](Self::send_msg)), for a wait that needs neither a timer,
    /// nor a look at the stop handle, nor a spin: `IPC_NOWAIT` for no wait,
    /// none for a wait for ever on a queue without a stop handle or spin.
    /// `None` for the waits that go through [`run`](Self::run).
    #[inline(always)]
    fn inline_flags(&self, wait: Wait) -> Option<c_int> {
        match wait {
            Wait::No => Some(libc::IPC_NOWAIT),
            Wait::Forever if self.stop.is_none() && self.spin.is_zero() => Some(0),
            Wait::Forever | Wait::Until(_) => None,
        }
    }

    /// Receives into `buf`, growing it (up to `limit`) until the message fits.
    #[inline(always)]
    pub(crate) fn recv_buf(
        &self,
        selector: Selector,
        buf: &mut MsgBuf,
        limit: Option<usize>,
        wait: Wait,
    ) -> Result<bool> {
        let (msgtyp, flags) = selector.to_msgtyp()?;
        let max = limit.unwrap_or(usize::MAX);
        let Some(wait_flags) = self.inline_flags(wait) else {
            // Once for the whole call: growing the buffer and trying again
            // is the same receive.
            let began = self.refuse_if_stopped(Op::Receive, wait)?;
            // A message already waiting needs no timer, registration or
            // spin: it is taken here, inline (see `send_msg`), and any
            // failure is met again, and reported, on the way that waits.
            let found_empty =
                match sys::msgrcv(self.id.0, buf, max, msgtyp, flags | libc::IPC_NOWAIT) {
                    Ok(_) => return Ok(true),
                    Err(errno) => matches!(errno, Errno::ENOMSG | Errno::EAGAIN),
                };
            return self.recv_buf_waiting((msgtyp, flags), buf, limit, wait, began, found_empty);
        };
        loop {
            match sys::msgrcv(self.id.0, buf, max, msgtyp, flags | wait_flags) {
                Ok(_) => return Ok(true),
                Err(Errno::EINTR) => continue,
                Err(Errno::E2BIG) => self.grow_for_larger_message(Op::Receive, buf, limit)?,
                Err(Errno::ENOMSG | Errno::EAGAIN) if wait_flags != 0 => return Ok(false),
                Err(errno) => return Err(self.error(Op::Receive, errno)),
            }
        }
    }

    /// [`recv_buf`](Self::recv_buf) for a wait that a deadline, a stop or a
    /// spin may end, of the message `msgtyp` and `flags` select; `began` is
    /// what [`refuse_if_stopped`](Self::refuse_if_stopped) said when the
    /// receive began, and `found_empty` whether its try without waiting
    /// found nothing to take.
    #[inline(never)]
    fn recv_buf_waiting(
        &self,
        (msgtyp, flags): (libc::c_long, c_int),
        buf: &mut MsgBuf,
        limit: Option<usize>,
        wait: Wait,
        began: Option<u64>,
        mut found_empty: bool,
    ) -> Result<bool> {
        let max = limit.unwrap_or(usize::MAX);
        loop {
            let outcome = self.run(Op::Receive, wait, began, found_empty, |wait_flags| {
                sys::msgrcv(self.id.0, buf, max, msgtyp, flags | wait_flags)
            })?;
            // After the buffer grew, the message is there to take at once.
            found_empty = false;
            match outcome {
                Outcome::Done(_) => return Ok(true),
                Outcome::Empty => return Ok(false),
                Outcome::Failed(Errno::E2BIG) => {
                    self.grow_for_larger_message(Op::Receive, buf, limit)?
                }
                Outcome::Failed(errno) => return Err(self.error(Op::Receive, errno)),
            }
        }
    }

    /// Copies the message at `position` (0 is the oldest) without taking it off
    /// the queue: Linux's `msgrcv` with `MSG_COPY`. `Ok(None)` when the queue
    /// holds no message at that position.
    ///
    /// Positions count messages of every type in queue order. Other processes
    /// may take or add messages between two peeks, so a sequence of peeks is a
    /// snapshot only while nobody else uses the queue.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] when the kernel was built without
    /// `CONFIG_CHECKPOINT_RESTORE`, which `MSG_COPY` needs;
    /// [`Error::TooLarge`] with `EINVAL` for a message larger than
    /// `kernel.msgmax` is now (it was sent before msgmax was lowered:
    /// `MSG_COPY` copies no more than msgmax, a receive takes it); otherwise
    /// as [`try_recv`](Self::try_recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use ipcq::{Key, MsgQueue};
    ///
    /// let q = MsgQueue::create(Key::private())?;
    /// q.send(4, b"first")?;
    /// q.send(2, b"second")?;
    /// assert_eq!(q.peek(1)?.unwrap().body, b"second");
    /// assert_eq!(q.peek(2)?, None);
    /// assert_eq!(q.stat()?.messages, 2); // still there
    /// q.remove()?;
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn peek(&self, position: usize) -> Result<Option<Message>> {
        with_recv_buf(|buf| {
            Ok(self.peek_buf(position, buf)?.then(|| Message {
                mtype: buf.mtype(),
                body: buf.text().to_vec(),
            }))
        })
    }

    /// Copies the message at `position` into a reusable buffer, as [`peek`](Self::peek)
    /// does; false when there is none.
    ///
    /// # Errors
    ///
    /// As [`peek`](Self::peek).
    pub fn peek_into(&self, position: usize, buf: &mut MsgBuffer) -> Result<bool> {
        let limit = buf.limit;
        self.peek_with_limit(position, &mut buf.raw, limit)
    }

    fn peek_buf(&self, position: usize, buf: &mut MsgBuf) -> Result<bool> {
        self.peek_with_limit(position, buf, None)
    }

    fn peek_with_limit(
        &self,
        position: usize,
        buf: &mut MsgBuf,
        limit: Option<usize>,
    ) -> Result<bool> {
        let index = libc::c_long::try_from(position).map_err(|_| {
            Error::invalid(Op::Peek, format!("position {position} is out of range"))
        })?;
        let max = limit.unwrap_or(usize::MAX);
        loop {
            match sys::msgrcv(
                self.id.0,
                buf,
                max,
                index,
                libc::IPC_NOWAIT | libc::MSG_COPY,
            ) {
                Ok(_) => return Ok(true),
                Err(Errno::ENOMSG) => return Ok(false),
                Err(Errno::EINTR) => continue,
                Err(Errno::E2BIG) => self.grow_for_larger_message(Op::Peek, buf, limit)?,
                Err(Errno::ENOSYS) => return Err(Error::unsupported_msg_copy()),
                Err(Errno::EINVAL) => {
                    // On a live queue: MSG_COPY copies at most msgmax bytes, and
                    // this message was sent before msgmax was lowered below its
                    // size. (A kernel without MSG_COPY says ENOSYS.)
                    return Err(match sys::msgctl_stat(self.id.0) {
                        Ok(_) | Err(Errno::EACCES) => {
                            let msgmax = Limits::read().map_or(0, |l| l.msgmax);
                            Error::TooLarge {
                                op: Op::Peek,
                                errno: Errno::EINVAL,
                                size: msgmax + 1,
                                limit: msgmax,
                            }
                        }
                        Err(errno) => self.error(Op::Peek, errno),
                    });
                }
                Err(errno) => return Err(self.error(Op::Peek, errno)),
            }
        }
    }

    /// After `E2BIG`: the message stays queued, so grow `buf` to take it whole
    /// on the next try, or fail with `TooLarge` if `buf` may not grow further.
    #[cold]
    #[inline(never)]
    fn grow_for_larger_message(
        &self,
        op: Op,
        buf: &mut MsgBuf,
        limit: Option<usize>,
    ) -> Result<()> {
        let have = buf.text_capacity();
        let msgmax = Limits::read().map_or(0, |l| l.msgmax);
        // A buffer without a limit takes any message within msgmax.
        let limit = limit.unwrap_or(MAX_RECV_CAPACITY.max(msgmax));
        if have >= limit {
            return Err(Error::TooLarge {
                op,
                errno: Errno::E2BIG,
                size: limit + 1,
                limit,
            });
        }
        // No message is larger than the msgmax in force when it was sent: the
        // current one first (by doubling where it is huge; see
        // GROW_TO_MSGMAX_UP_TO). Past it (msgmax was lowered since), twice
        // what failed, so that a buffer kept by a thread for good grows no
        // larger than what it met. (Not the queue's capacity: a buffer is
        // zeroed, and capacities of megabytes are common where msgmax is
        // 8 KiB.)
        let doubled = have.saturating_mul(2).max(FIRST_RECV_CAPACITY);
        let want = if have < msgmax {
            msgmax.min(doubled.max(GROW_TO_MSGMAX_UP_TO))
        } else {
            doubled
        };
        buf.reserve_text(want.min(limit));
        Ok(())
    }

    /// The queue's status (`IPC_STAT`).
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] without read permission, [`Error::NotFound`]
    /// or [`Error::Removed`] when the queue is gone.
    pub fn stat(&self) -> Result<QueueStat> {
        sys::msgctl_stat(self.id.0)
            .map(|ds| QueueStat::from_ds(self.id, &ds))
            .map_err(|errno| self.error(Op::Stat, errno))
    }

    /// Changes the queue's owner, mode or capacity (`IPC_SET`).
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] unless this process owns or created the queue
    /// (or has `CAP_SYS_ADMIN`), or when raising the capacity above `msgmnb`
    /// without `CAP_SYS_RESOURCE`. The attributes not given are read first
    /// (`IPC_STAT`), so read permission is needed too, even by the owner:
    /// without it the error's operation is [`Op::Stat`].
    /// [`Error::InvalidArgument`] for a capacity of 0, or an owner or group
    /// that this user namespace does not map.
    pub fn set_attributes(&self, attributes: &Attributes) -> Result<()> {
        if attributes.capacity == Some(0) {
            return Err(Error::invalid(Op::SetAttributes, ZERO_CAPACITY));
        }
        if let Some(mode) = attributes.mode {
            check_mode(Op::SetAttributes, mode)?;
        }
        let mut ds = sys::msgctl_stat(self.id.0).map_err(|errno| self.error(Op::Stat, errno))?;
        if let Some(uid) = attributes.uid {
            ds.msg_perm.uid = uid;
        }
        if let Some(gid) = attributes.gid {
            ds.msg_perm.gid = gid;
        }
        if let Some(mode) = attributes.mode {
            ds.msg_perm.mode = mode as libc::c_ushort;
        }
        if let Some(capacity) = attributes.capacity {
            ds.msg_qbytes = capacity;
        }
        sys::msgctl_set(self.id.0, &ds).map_err(|errno| {
            // IPC_STAT has just found the queue: EINVAL is an owner or group
            // the kernel cannot map, unless the queue went away in between.
            if errno == Errno::EINVAL && sys::msgctl_stat(self.id.0).is_ok() {
                Error::invalid(
                    Op::SetAttributes,
                    format!(
                        "the kernel refused the owner {} and group {}: a uid or gid this user namespace does not map",
                        ds.msg_perm.uid, ds.msg_perm.gid
                    ),
                )
            } else {
                self.error(Op::SetAttributes, errno)
            }
        })?;
        self.refresh_send_limit();
        Ok(())
    }

    /// Removes the queue (`IPC_RMID`): pending messages are dropped, and every
    /// process blocked on it wakes with [`Error::Removed`].
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] unless this process owns or created the queue
    /// (or has `CAP_SYS_ADMIN`); [`Error::NotFound`] when it is already gone.
    pub fn remove(&self) -> Result<()> {
        sys::msgctl_rmid(self.id.0).map_err(|errno| self.error(Op::Remove, errno))
    }

    /// Whether a queue with `key` exists (it may still refuse this process).
    ///
    /// # Errors
    ///
    /// Only unexpected failures of `msgget`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ipcq::{Key, MsgQueue};
    ///
    /// assert!(!MsgQueue::exists(Key::new(0x7fff_fff1))?);
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn exists(key: Key) -> Result<bool> {
        if key.is_private() {
            return Ok(false);
        }
        match sys::msgget(key.get(), 0) {
            Ok(_) | Err(Errno::EACCES) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            Err(errno) => Err(Error::from_errno(Op::Open, errno, None)),
        }
    }

    /// Refuses a call that may wait once a stop was requested, even one that
    /// would not have had to wait; a call that does not wait goes on.
    ///
    /// For a call that may wait on a stop handle, returns the handle's count
    /// of stops, read before the look at the flag: a stop and a reset
    /// between this look and the call's registration as blocked still stop
    /// the call (see [`StopHandle::enter`]).
    #[inline(always)]
    pub(crate) fn refuse_if_stopped(&self, op: Op, wait: Wait) -> Result<Option<u64>> {
        let Some(stop) = self.stop.as_ref().filter(|_| !matches!(wait, Wait::No)) else {
            return Ok(None);
        };
        let began = stop.stops();
        if stop.is_stopped() {
            return Err(stopped(op));
        }
        Ok(Some(began))
    }

    /// Runs a send or receive call as `wait` allows, retrying after signals;
    /// `began` is what [`refuse_if_stopped`](Self::refuse_if_stopped) said
    /// when the call began. With `found_empty`, the caller has just tried
    /// the call without waiting and found nothing to take (or no room), and
    /// the first try here is left out.
    #[inline]
    fn run<T>(
        &self,
        op: Op,
        wait: Wait,
        began: Option<u64>,
        found_empty: bool,
        mut call: impl FnMut(c_int) -> Result<T, Errno>,
    ) -> Result<Outcome<T>> {
        let nowait = |call: &mut dyn FnMut(c_int) -> Result<T, Errno>| loop {
            match call(libc::IPC_NOWAIT) {
                Ok(v) => return Outcome::Done(v),
                Err(Errno::EAGAIN | Errno::ENOMSG) => return Outcome::Empty,
                Err(Errno::EINTR) => continue,
                Err(errno) => return Outcome::Failed(errno),
            }
        };
        self.refuse_if_stopped(op, wait)?;
        let deadline = match wait {
            Wait::No => return Ok(nowait(&mut call)),
            Wait::Forever => None,
            Wait::Until(deadline) => Some(deadline),
        };
        // Most calls need not wait: skip the timer, the registration and the
        // signal mask for those.
        if !found_empty {
            match nowait(&mut call) {
                Outcome::Empty => {}
                done => return Ok(done),
            }
        }
        // Nor one whose deadline has passed (a zero timeout), unless a stop
        // came since the call began: that wins, as it does in a wait.
        if deadline.is_some_and(|d| Instant::now() >= d) {
            if let (Some(stop), Some(began)) = (&self.stop, began)
                && stop.stopped_since(began)
            {
                return Err(stopped(op));
            }
            return Ok(Outcome::Empty);
        }
        // Only a wait that a timer or a stop may end needs the wake signal.
        let _unblocked = (deadline.is_some() || self.stop.is_some())
            .then(|| WakeUnblocked::new(op))
            .transpose()?;
        // Registered before the spin too: a stop returns only once every call
        // under way has left.
        let blocked = self
            .stop
            .as_ref()
            .map(|s| s.enter(began.unwrap_or_else(|| s.stops())));
        if !self.spin.is_zero() {
            let spun =
                self.spin_before_wait(op, deadline, blocked.as_ref(), &mut || nowait(&mut call))?;
            if let Some(done) = spun {
                return Ok(done);
            }
        }
        let _alarm = deadline.map(|d| DeadlineAlarm::arm(op, d)).transpose()?;
        loop {
            if blocked.as_ref().is_some_and(Blocked::stop_requested) {
                return Err(stopped(op));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(Outcome::Empty);
            }
            match call(0) {
                Ok(v) => return Ok(Outcome::Done(v)),
                Err(Errno::EINTR) => continue,
                Err(errno) => return Ok(Outcome::Failed(errno)),
            }
        }
    }

    /// The spin of [`run`](Self::run) before it sleeps (see
    /// [`with_spin`](Self::with_spin)): `try_once` again after each yield of
    /// the CPU, until it does not find the queue empty (or full), the
    /// deadline passes (`Empty`), a stop is requested ([`Error::Stopped`]),
    /// or the spin is over: `None`, and the call is to sleep.
    fn spin_before_wait<T>(
        &self,
        op: Op,
        deadline: Option<Instant>,
        blocked: Option<&Blocked<'_>>,
        try_once: &mut dyn FnMut() -> Outcome<T>,
    ) -> Result<Option<Outcome<T>>> {
        // A spin too long to represent lasts until the call can go on.
        let end = Instant::now().checked_add(self.spin);
        loop {
            std::thread::yield_now();
            if blocked.is_some_and(Blocked::stop_requested) {
                return Err(stopped(op));
            }
            match try_once() {
                Outcome::Empty => {}
                done => return Ok(Some(done)),
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Ok(Some(Outcome::Empty));
            }
            if end.is_some_and(|end| now >= end) {
                return Ok(None);
            }
        }
    }

    /// The error for `errno` from an operation on this queue, with the queue's
    /// mode and owner added to a permission error.
    pub(crate) fn error(&self, op: Op, errno: Errno) -> Error {
        match Error::from_errno(op, errno, Some(self.id)) {
            Error::PermissionDenied { op, errno, .. } => Error::PermissionDenied {
                op,
                errno,
                access: proc_entry(self.id).as_ref().map(Access::of),
            },
            other => other,
        }
    }
}

enum Outcome<T> {
    /// The call went through.
    Done(T),
    /// It would have had to wait longer than allowed.
    Empty,
    /// It failed with this errno.
    Failed(Errno),
}

/// A call ended, or refused, because a stop was requested.
fn stopped(op: Op) -> Error {
    Error::Stopped {
        op,
        errno: Errno::EINTR,
    }
}

/// A send of `size` text bytes refused before the syscall: over `limit`.
fn too_large(size: usize, limit: usize) -> Error {
    Error::TooLarge {
        op: Op::Send,
        errno: Errno::EINVAL,
        size,
        limit,
    }
}

pub(crate) fn timed_out(op: Op, timeout: Duration) -> Error {
    Error::TimedOut {
        op,
        errno: Errno::ETIMEDOUT,
        timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_its_buffer_unless_a_huge_message_grew_it() {
        // A fresh thread: its buffers are its own.
        std::thread::spawn(|| {
            put_back_thread_buf(&RECV_BUF, MsgBuf::with_capacity(KEEP_AT_MOST));
            assert_eq!(take_thread_buf(&RECV_BUF, 0).text_capacity(), KEEP_AT_MOST);
            put_back_thread_buf(&RECV_BUF, MsgBuf::with_capacity(KEEP_AT_MOST + 8));
            assert_eq!(take_thread_buf(&RECV_BUF, 16).text_capacity(), 16);
        })
        .join()
        .unwrap();
    }
}
