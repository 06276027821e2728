//! The System V message-queue syscalls, and the only `unsafe` code in ipcq.
//!
//! One small safe function per call: build the arguments, make the call, turn
//! `-1` into an [`Errno`]. Everything above this module is safe Rust. nix has no
//! wrappers for the SysV message calls, so they come from `libc` directly.
//!
//! Man pages: msgget(2), msgsnd(2), msgrcv(2), msgctl(2), ftok(3), sigaction(2),
//! timer_create(2), timer_settime(2), timer_delete(2), fork(2), _exit(2).

use std::ffi::CStr;
use std::marker::PhantomData;
use std::mem::{MaybeUninit, size_of};

use libc::{c_int, c_long, c_void};
use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};

/// Size of the `mtype` header that precedes the text of every message.
const HEADER: usize = size_of::<c_long>();

/// A `struct msgbuf { long mtype; char mtext[]; }` with room for a text of
/// some capacity, kept in `c_long` words so that `mtype` is always aligned.
///
/// The buffer is reused across calls: its storage only grows.
#[derive(Debug, Clone)]
pub(crate) struct MsgBuf {
    /// `words[0]` is `mtype`; the text starts at `words[1]`.
    words: Vec<c_long>,
    /// Length of the text currently held, in bytes.
    len: usize,
}

impl MsgBuf {
    /// An empty buffer whose text can hold `capacity` bytes without growing.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut buf = MsgBuf {
            words: vec![0],
            len: 0,
        };
        buf.reserve_text(capacity);
        buf
    }

    /// How many text bytes fit without growing.
    #[inline]
    pub(crate) fn text_capacity(&self) -> usize {
        (self.words.len() - 1) * HEADER
    }

    /// [`reserve_text`](Self::reserve_text) out of the way of the hot path
    /// that calls it.
    #[cold]
    #[inline(never)]
    fn grow_text(&mut self, capacity: usize) {
        self.reserve_text(capacity);
    }

    /// Makes room for a text of at least `capacity` bytes.
    pub(crate) fn reserve_text(&mut self, capacity: usize) {
        let words = 1 + capacity.div_ceil(HEADER);
        if self.words.len() < words {
            self.words.resize(words, 0);
        }
    }

    #[inline]
    pub(crate) fn mtype(&self) -> i64 {
        // c_long is i64 on 64-bit Linux and i32 on 32-bit Linux.
        #[allow(clippy::useless_conversion)]
        i64::from(self.words[0])
    }

    #[inline]
    pub(crate) fn set_mtype(&mut self, mtype: c_long) {
        self.words[0] = mtype;
    }

    /// The text received or assembled so far.
    #[inline]
    pub(crate) fn text(&self) -> &[u8] {
        &self.bytes()[HEADER..HEADER + self.len]
    }

    /// The text assembled so far, to patch in place (a batch's item count).
    pub(crate) fn text_mut(&mut self) -> &mut [u8] {
        let len = self.len;
        &mut self.bytes_mut()[HEADER..HEADER + len]
    }

    /// Cuts the text back to its first `len` bytes.
    pub(crate) fn truncate_text(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Empties the text, keeping the storage.
    #[inline]
    pub(crate) fn clear_text(&mut self) {
        self.len = 0;
    }

    /// Appends to the text, growing the storage when needed.
    #[inline]
    pub(crate) fn extend_text(&mut self, more: &[u8]) {
        let start = HEADER + self.len;
        let end = start + more.len();
        if end > self.words.len() * HEADER {
            self.grow_text(end - HEADER);
        }
        self.bytes_mut()[start..end].copy_from_slice(more);
        self.len = end - HEADER;
    }

    /// The message, to send.
    #[inline]
    pub(crate) fn outgoing(&self) -> Outgoing<'_> {
        Outgoing {
            ptr: self.words.as_ptr().cast(),
            len: self.len,
            _borrow: PhantomData,
        }
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        let len = self.words.len() * HEADER;
        // SAFETY: the pointer comes from a live Vec<c_long> of `len / HEADER`
        // initialised words; u8 has no alignment requirement and every bit
        // pattern is a valid u8; the borrow of `self` keeps the storage alive and
        // unaliased by writers for the lifetime of the returned slice.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), len) }
    }

    #[inline]
    fn bytes_mut(&mut self) -> &mut [u8] {
        let len = self.words.len() * HEADER;
        // SAFETY: as in `bytes`, and the exclusive borrow of `self` makes this the
        // only reference to the storage; any byte pattern written is a valid c_long.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), len) }
    }
}

/// How many text bytes a [`StackMsg`] holds: the default msgmax, so that on
/// a host with default limits every message fits.
pub(crate) const STACK_TEXT: usize = 8192;

/// A `struct msgbuf` with room for [`STACK_TEXT`] bytes of text, built on
/// the sender's stack.
///
/// Sending from the stack touches neither a thread-local nor a heap buffer
/// between two syscalls, which measurably speeds up a sender that streams
/// small messages (`docs/BENCHMARKS.md`). As `std::io::copy` does with its
/// buffer, the storage is left uninitialised: only the mtype and the text
/// written so far are ever read.
pub(crate) struct StackMsg {
    /// `words[0]` is `mtype`, initialised by [`new`](Self::new); the text
    /// starts at `words[1]`, its first `len` bytes initialised by
    /// [`try_extend_text`](Self::try_extend_text).
    words: [MaybeUninit<c_long>; 1 + STACK_TEXT / HEADER],
    len: usize,
}

impl StackMsg {
    /// An empty message of type `mtype`.
    #[inline(always)]
    pub(crate) fn new(mtype: c_long) -> Self {
        let mut words = [const { MaybeUninit::uninit() }; 1 + STACK_TEXT / HEADER];
        words[0] = MaybeUninit::new(mtype);
        StackMsg { words, len: 0 }
    }

    #[inline]
    pub(crate) fn mtype(&self) -> c_long {
        // SAFETY: `new` initialised words[0].
        unsafe { self.words[0].assume_init() }
    }

    /// Appends `more` to the text if it fits; false, with nothing written,
    /// if it does not.
    #[inline(always)]
    pub(crate) fn try_extend_text(&mut self, more: &[u8]) -> bool {
        if more.len() > STACK_TEXT - self.len {
            return false;
        }
        // SAFETY: the text is the STACK_TEXT bytes from words[1] on, and
        // len + more.len() <= STACK_TEXT, so the copy stays inside it; u8 has
        // no alignment requirement; `more` cannot overlap storage that
        // `&mut self` borrows exclusively. Writing bytes into MaybeUninit
        // storage initialises them.
        unsafe {
            let text = self.words.as_mut_ptr().add(1).cast::<u8>();
            std::ptr::copy_nonoverlapping(more.as_ptr(), text.add(self.len), more.len());
        }
        self.len += more.len();
        true
    }

    /// The text written so far.
    #[inline]
    pub(crate) fn text(&self) -> &[u8] {
        // SAFETY: the first `len` bytes from words[1] on were written by
        // try_extend_text, and len <= STACK_TEXT keeps them inside `words`.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().add(1).cast::<u8>(), self.len) }
    }

    /// The message, to send.
    #[inline]
    pub(crate) fn outgoing(&self) -> Outgoing<'_> {
        Outgoing {
            ptr: self.words.as_ptr().cast(),
            len: self.len,
            _borrow: PhantomData,
        }
    }
}

/// A message ready for `msgsnd`, borrowed from a [`MsgBuf`] or a
/// [`StackMsg`]: a pointer to an initialised `long` mtype followed by `len`
/// initialised bytes of text. Only those two types make one.
#[derive(Clone, Copy)]
pub(crate) struct Outgoing<'a> {
    ptr: *const c_void,
    len: usize,
    _borrow: PhantomData<&'a [c_long]>,
}

impl Outgoing<'_> {
    /// The length of the text, the `msgsz` of the call.
    #[inline]
    pub(crate) fn text_len(self) -> usize {
        self.len
    }
}

/// `msgget(2)`: the id of the queue with `key`, creating it as `flags` say.
pub(crate) fn msgget(key: libc::key_t, flags: c_int) -> Result<c_int, Errno> {
    // SAFETY: msgget takes no pointers; any key and flag values are defined.
    let id = unsafe { libc::msgget(key, flags) };
    Errno::result(id)
}

/// `msgsnd(2)`: sends the mtype and text of `msg`.
#[inline]
pub(crate) fn msgsnd(id: c_int, msg: Outgoing<'_>, flags: c_int) -> Result<(), Errno> {
    // SAFETY: an Outgoing points at a long mtype followed by `len` bytes of
    // initialised text, kept alive by the borrow it carries; the kernel only
    // reads them.
    let res = unsafe { raw::msgsnd(id, msg.ptr, msg.len, flags) };
    Errno::result(res).map(drop)
}

/// `msgrcv(2)`: receives into `buf` a message of at most `max` text bytes
/// (capped at the buffer's capacity).
///
/// Returns the text length and records it in `buf`.
#[inline]
pub(crate) fn msgrcv(
    id: c_int,
    buf: &mut MsgBuf,
    max: usize,
    msgtyp: c_long,
    flags: c_int,
) -> Result<usize, Errno> {
    let max = max.min(buf.text_capacity());
    let ptr = buf.words.as_mut_ptr().cast::<c_void>();
    // SAFETY: `ptr` is valid for writes of one long plus text_capacity() >= `max`
    // bytes, and the kernel writes no more than `max` (it fails with E2BIG
    // instead, as ipcq never passes MSG_NOERROR).
    let res = unsafe { raw::msgrcv(id, ptr, max, msgtyp, flags) };
    let len = Errno::result(res)? as usize;
    buf.len = len;
    Ok(len)
}

/// How `msgsnd` and `msgrcv` enter the kernel.
///
/// Where the architecture has the two calls as syscalls of their own and
/// `long` is 64 bits (not x32), ipcq makes them through `syscall(2)`.
/// glibc's `msgsnd`/`msgrcv` are POSIX thread cancellation points: each call
/// switches the thread to asynchronous cancellation and back, two atomic
/// read-modify-writes around every message that Rust code, which never uses
/// `pthread_cancel`, has no use for. Elsewhere (32-bit x86 before Linux 5.1
/// multiplexes them through `ipc(2)`), libc's wrappers do it.
///
/// Both take and return what the libc functions do: -1 with `errno` set on
/// failure. A library preloaded to wrap libc's `msgsnd` (`LD_PRELOAD`) does
/// not see these calls; seccomp filters and `strace` see the same syscalls.
mod raw {
    cfg_if::cfg_if! {
        if #[cfg(all(
            target_pointer_width = "64",
            any(
                target_arch = "x86_64",
                target_arch = "aarch64",
                target_arch = "riscv64",
                target_arch = "loongarch64"
            )
        ))] {
            mod imp {
                use libc::{c_int, c_long, c_void, size_t, ssize_t};

                /// # Safety
                ///
                /// As `libc::msgsnd`: `ptr` is valid for reads of a long and `len` bytes.
                #[inline]
                pub(crate) unsafe fn msgsnd(
                    id: c_int,
                    ptr: *const c_void,
                    len: size_t,
                    flags: c_int,
                ) -> c_int {
                    // SAFETY: the caller upholds msgsnd's contract; every argument is
                    // passed as the full register the kernel reads.
                    let res = unsafe {
                        libc::syscall(
                            libc::SYS_msgsnd,
                            c_long::from(id),
                            ptr,
                            len,
                            c_long::from(flags),
                        )
                    };
                    // 0 or -1.
                    res as c_int
                }

                /// # Safety
                ///
                /// As `libc::msgrcv`: `ptr` is valid for writes of a long and `max` bytes.
                #[inline]
                pub(crate) unsafe fn msgrcv(
                    id: c_int,
                    ptr: *mut c_void,
                    max: size_t,
                    msgtyp: c_long,
                    flags: c_int,
                ) -> ssize_t {
                    // SAFETY: as in `msgsnd`.
                    let res = unsafe {
                        libc::syscall(
                            libc::SYS_msgrcv,
                            c_long::from(id),
                            ptr,
                            max,
                            msgtyp,
                            c_long::from(flags),
                        )
                    };
                    // The text's length (at most `max`) or -1.
                    res as ssize_t
                }
            }
        } else {
            mod imp {
                pub(crate) use libc::{msgrcv, msgsnd};
            }
        }
    }

    pub(crate) use imp::{msgrcv, msgsnd};
}

/// `msgctl(2)` with `IPC_STAT`.
pub(crate) fn msgctl_stat(id: c_int) -> Result<libc::msqid_ds, Errno> {
    let mut ds = MaybeUninit::<libc::msqid_ds>::uninit();
    // SAFETY: IPC_STAT writes one whole msqid_ds through the valid pointer.
    let res = unsafe { libc::msgctl(id, libc::IPC_STAT, ds.as_mut_ptr()) };
    Errno::result(res)?;
    // SAFETY: the call succeeded, so the kernel filled the struct in.
    Ok(unsafe { ds.assume_init() })
}

/// `msgctl(2)` with `IPC_INFO`: the limits of this IPC namespace (msgmax,
/// msgmnb, msgmni), as `/proc/sys/kernel/msg*` shows them.
pub(crate) fn msgctl_info() -> Result<libc::msginfo, Errno> {
    let mut info = MaybeUninit::<libc::msginfo>::uninit();
    // SAFETY: with IPC_INFO the kernel writes one whole struct msginfo
    // through the pointer, passed where msgctl takes a msqid_ds (the cast
    // msgctl(2) documents); the id is ignored.
    let res = unsafe { libc::msgctl(0, libc::IPC_INFO, info.as_mut_ptr().cast()) };
    Errno::result(res)?;
    // SAFETY: the call succeeded, so the kernel filled the struct in.
    Ok(unsafe { info.assume_init() })
}

/// `msgctl(2)` with `IPC_SET`: applies uid, gid, mode and msg_qbytes from `ds`.
pub(crate) fn msgctl_set(id: c_int, ds: &libc::msqid_ds) -> Result<(), Errno> {
    let ptr = std::ptr::from_ref(ds).cast_mut();
    // SAFETY: IPC_SET only reads the msqid_ds behind the valid pointer.
    let res = unsafe { libc::msgctl(id, libc::IPC_SET, ptr) };
    Errno::result(res).map(drop)
}

/// `msgctl(2)` with `IPC_RMID`.
pub(crate) fn msgctl_rmid(id: c_int) -> Result<(), Errno> {
    // SAFETY: IPC_RMID ignores the buffer argument, so null is allowed.
    let res = unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
    Errno::result(res).map(drop)
}

/// `ftok(3)`: a key derived from the inode of `path` and `project_id`.
pub(crate) fn ftok(path: &CStr, project_id: u8) -> Result<libc::key_t, Errno> {
    // SAFETY: `path` is a valid NUL-terminated string for the duration of the call.
    let key = unsafe { libc::ftok(path.as_ptr(), c_int::from(project_id)) };
    Errno::result(key)
}

/// Installs a handler for `signal` that does nothing, so that the signal
/// makes a blocked msgsnd or msgrcv in the thread it is sent to return
/// `EINTR`. Those two calls are never restarted, whatever `SA_RESTART` says
/// (signal(7)); `SA_RESTART` is set so that other calls a stray copy of the
/// signal lands in are restarted rather than failed.
pub(crate) fn install_wake_handler(signal: Signal) -> Result<(), Errno> {
    extern "C" fn wake(_: c_int) {}
    let action = SigAction::new(
        SigHandler::Handler(wake),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler is async-signal-safe (it does nothing), and the
    // caller installs it only where the signal ipcq reserves for waking threads
    // is ignored or has its default action, so no handler of the program's is
    // replaced (but for the race `wake::ensure_handler` documents).
    unsafe { nix::sys::signal::sigaction(signal, &action) }.map(drop)
}

/// Whether `signal` has its default disposition (`SIG_DFL`), neither
/// ignored nor handled.
pub(crate) fn has_default_action(signal: Signal) -> Result<bool, Errno> {
    current_handler(signal).map(|handler| handler == libc::SIG_DFL)
}

/// Whether `signal` is handled, so that it interrupts a blocked call: not
/// ignored (`SIG_IGN`), nor left to a default action that ignores it or
/// ends the process (`SIG_DFL`).
pub(crate) fn is_handled(signal: Signal) -> Result<bool, Errno> {
    current_handler(signal).map(|handler| handler != libc::SIG_DFL && handler != libc::SIG_IGN)
}

/// The current handler of `signal`: sigaction(2) asked for the action only.
fn current_handler(signal: Signal) -> Result<libc::sighandler_t, Errno> {
    let mut current = MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY: a null new action only reads the current one into `current`,
    // a writable sigaction that outlives the call; nothing is changed.
    let r = unsafe { libc::sigaction(signal as c_int, std::ptr::null(), current.as_mut_ptr()) };
    Errno::result(r)?;
    // SAFETY: sigaction succeeded, so it filled in `current`.
    let current = unsafe { current.assume_init() };
    Ok(current.sa_sigaction)
}

/// A POSIX timer (timer_create(2)), deleted when dropped.
///
/// nix's `Timer` skips `timer_delete` while the thread is unwinding from a
/// panic, which leaks a timer that may go on signalling for the life of the
/// process: a receive with a timeout made from a `Drop` during a panic
/// would leave one firing every millisecond. This one always deletes it.
pub(crate) struct PosixTimer(libc::timer_t);

impl PosixTimer {
    /// A timer on `clock` that notifies as `event` says; not armed yet.
    pub(crate) fn new(
        clock: nix::time::ClockId,
        event: &nix::sys::signal::SigEvent,
    ) -> Result<PosixTimer, Errno> {
        let mut sigevent = event.sigevent();
        let mut id = MaybeUninit::<libc::timer_t>::uninit();
        // SAFETY: `sigevent` is a valid sigevent built by nix, and `id` is a
        // writable slot for the new timer's id; both outlive the call.
        let r = unsafe { libc::timer_create(clock.as_raw(), &mut sigevent, id.as_mut_ptr()) };
        Errno::result(r)?;
        // SAFETY: timer_create succeeded, so it wrote the id.
        Ok(PosixTimer(unsafe { id.assume_init() }))
    }

    /// Arms the timer to expire after `first`, then every `every`.
    pub(crate) fn arm(
        &mut self,
        first: libc::timespec,
        every: libc::timespec,
    ) -> Result<(), Errno> {
        let spec = libc::itimerspec {
            it_interval: every,
            it_value: first,
        };
        // SAFETY: `self.0` is a live timer that this value owns; `spec` is a
        // valid itimerspec, and a null old value asks for none.
        let r = unsafe { libc::timer_settime(self.0, 0, &spec, std::ptr::null_mut()) };
        Errno::result(r).map(drop)
    }
}

impl Drop for PosixTimer {
    fn drop(&mut self) {
        // SAFETY: `self.0` was created by timer_create and is deleted only
        // here, once. timer_delete can only fail for an invalid id.
        unsafe { libc::timer_delete(self.0) };
    }
}

/// `fork(2)`, for daemonizing.
///
/// The caller must have made sure that the process has one thread: in the
/// child only the calling thread exists, and locks held by other threads
/// would stay locked forever.
pub(crate) fn fork_single_threaded() -> Result<nix::unistd::ForkResult, Errno> {
    // SAFETY: the caller checked that this process runs a single thread, so the
    // child inherits no lock held by a thread that does not exist there.
    unsafe { nix::unistd::fork() }
}

/// `_exit(2)`: ends the process at once, without running exit handlers or
/// flushing stdio buffers that the forked-from parent will flush itself.
pub(crate) fn exit_now(status: c_int) -> ! {
    // SAFETY: _exit takes no pointers and never returns.
    unsafe { libc::_exit(status) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_message_takes_text_up_to_its_capacity_and_no_more() {
        let mut msg = StackMsg::new(7);
        assert!(msg.try_extend_text(b"head:"));
        assert!(msg.try_extend_text(&[1; STACK_TEXT - 5]));
        assert_eq!(msg.text().len(), STACK_TEXT);
        assert!(!msg.try_extend_text(b"x"), "one byte past the capacity");
        assert!(msg.try_extend_text(b""));
        assert_eq!(&msg.text()[..5], b"head:");
        assert_eq!(msg.mtype(), 7);
        assert_eq!(msg.outgoing().text_len(), STACK_TEXT);
    }

    #[test]
    fn text_round_trips_through_the_aligned_storage() {
        let mut buf = MsgBuf::with_capacity(3);
        assert!(buf.text_capacity() >= 3);
        buf.set_mtype(42);
        buf.extend_text(b"hello, ");
        buf.extend_text(b"world");
        assert_eq!(buf.mtype(), 42);
        assert_eq!(buf.text(), b"hello, world");
        buf.clear_text();
        assert_eq!(buf.text(), b"");
        assert_eq!(buf.mtype(), 42);
    }
}
