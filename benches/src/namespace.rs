//! `--msgmnb`: runs the benchmarks in a private IPC namespace whose queues
//! hold more than the host's default 16 KiB.
//!
//! `kernel.msgmnb` (a System V queue's capacity) and `fs.mqueue.msg_max` (a
//! POSIX queue's depth) belong to the IPC namespace, so a private namespace
//! can raise them without touching the host's. Both are raised together, so
//! that a POSIX queue holds as many messages as a System V queue of `msgmnb`
//! bytes. Every queue made in the namespace dies with it, and `ipcs -q` on
//! the host never sees one. Needs `CAP_SYS_ADMIN` (root).

use nix::sched::{CloneFlags, unshare};

use crate::endpoints::Res;

/// The most messages Linux lets a POSIX queue hold (`HARD_MSGMAX`).
const HARD_MQ_MSG_MAX: usize = 65_536;

/// Moves this process into a new IPC namespace, with `kernel.msgmnb` set to
/// `msgmnb` and `fs.mqueue.msg_max` raised to match.
///
/// Call it before any thread or queue is made: a namespace is per thread,
/// and threads and child processes made afterwards inherit it.
pub(crate) fn enter_private(msgmnb: usize) -> Res<()> {
    unshare(CloneFlags::CLONE_NEWIPC)
        .map_err(|e| format!("--msgmnb needs a private IPC namespace (root): unshare: {e}"))?;
    write_sysctl("/proc/sys/kernel/msgmnb", msgmnb)?;
    let depth = (msgmnb / 16).clamp(10, HARD_MQ_MSG_MAX);
    write_sysctl("/proc/sys/fs/mqueue/msg_max", depth)?;
    Ok(())
}

fn write_sysctl(path: &str, value: usize) -> Res<()> {
    std::fs::write(path, value.to_string()).map_err(|e| format!("writing {path}: {e}"))?;
    Ok(())
}
