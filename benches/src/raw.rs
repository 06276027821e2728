//! The baseline: `msgsnd`/`msgrcv` called directly through libc, as a C
//! program calls them, and the only other `unsafe` code of the benchmarks
//! (`prctl`). Nothing here uses ipcq.
//!
//! The sender keeps one `struct { long mtype; char mtext[N]; }` and sends its
//! N bytes; the receiver offers a buffer of msgmax bytes, as C programs do.

use std::io;

use libc::{c_int, c_long, c_void};

/// `struct msgbuf` with an N-byte text.
#[repr(C)]
pub(crate) struct RawMsg<const N: usize> {
    pub(crate) mtype: c_long,
    pub(crate) text: [u8; N],
}

/// The largest text a receive takes: the kernel's default msgmax.
pub(crate) const RECV_CAPACITY: usize = 8192;

/// A receive buffer of [`RECV_CAPACITY`] bytes.
pub(crate) type RecvBuf = RawMsg<RECV_CAPACITY>;

pub(crate) fn recv_buf() -> Box<RecvBuf> {
    Box::new(RawMsg {
        mtype: 0,
        text: [0; RECV_CAPACITY],
    })
}

/// `msgsnd(id, msg, N, 0)`, retried after `EINTR`.
pub(crate) fn send<const N: usize>(id: c_int, msg: &RawMsg<N>) -> io::Result<()> {
    send_first(id, msg, N)
}

/// `msgsnd(id, msg, len, 0)`: the first `len` bytes of the text, retried
/// after `EINTR`.
///
/// # Panics
///
/// When `len` exceeds the text.
pub(crate) fn send_first<const N: usize>(id: c_int, msg: &RawMsg<N>, len: usize) -> io::Result<()> {
    assert!(len <= N, "{len} bytes of a {N}-byte text");
    loop {
        let ptr = std::ptr::from_ref(msg).cast::<c_void>();
        // SAFETY: `ptr` points at a repr(C) long followed by N >= len initialised
        // bytes, which the kernel only reads.
        let res = unsafe { libc::msgsnd(id, ptr, len, 0) };
        if res == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// `msgrcv(id, buf, RECV_CAPACITY, msgtyp, 0)`, retried after `EINTR`; the
/// text's length.
pub(crate) fn recv(id: c_int, buf: &mut RecvBuf, msgtyp: c_long) -> io::Result<usize> {
    loop {
        let ptr = std::ptr::from_mut(buf).cast::<c_void>();
        // SAFETY: `ptr` is valid for writes of a long and RECV_CAPACITY bytes, and
        // the kernel writes no more than the size it is given.
        let res = unsafe { libc::msgrcv(id, ptr, RECV_CAPACITY, msgtyp, 0) };
        if res >= 0 {
            return Ok(res as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Makes the kernel kill this process when its parent dies, so that an
/// interrupted benchmark leaves no peer process behind.
pub(crate) fn die_with_parent() {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and no pointers.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
}
