//! Waking a thread that is blocked in msgsnd or msgrcv.
//!
//! The kernel has no timed or cancellable msgsnd/msgrcv. What it has is this:
//! a signal delivered to the blocked thread makes the call return `EINTR`, and
//! these two calls are never restarted, whatever `SA_RESTART` says (signal(7)).
//! ipcq reserves one signal for that, [`WAKE_SIGNAL`], with a handler that does
//! nothing, and sends it to one thread at a time: from a per-call POSIX timer
//! for timeouts, and from [`StopHandle::stop`](crate::StopHandle::stop) for stops.
//!
//! A signal that lands just before the thread enters the syscall wakes nothing,
//! so every waker repeats itself until the thread has seen it: the timer fires
//! at the deadline and then every [`REPEAT`], and a stop re-signals every
//! thread that is still registered as blocked.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigEvent, SigSet, SigevNotify, SigmaskHow, Signal, pthread_sigmask};
use nix::sys::time::TimeSpec;
use nix::time::ClockId;

use crate::error::{Error, Op, Result};
use crate::sys;

/// The signal ipcq sends to a thread to wake it from a blocked msgsnd/msgrcv.
///
/// `SIGURG` is ignored by default and only raised for out-of-band socket data
/// to a process that asked for it, so taking it over disturbs nothing (the Go
/// runtime uses it for the same purpose). ipcq installs a handler that does
/// nothing, with `SA_RESTART`, the first time it needs it, and again, with a
/// warning in the log, at the next wait or [`StopHandle::stop`] after the
/// program has set the signal to be ignored or back to its default action:
/// under either, the signal no longer ends a wait, and a wait already under
/// way sleeps through its timeout until then. A handler of the program's own
/// is left in place: any handler interrupts the wait. It is then called for
/// each of ipcq's wake-ups too (repeated every millisecond until the woken
/// thread has seen it), and must take them for what they are.
///
/// [`StopHandle::stop`]: crate::StopHandle::stop
pub const WAKE_SIGNAL: Signal = Signal::SIGURG;

/// How often a wake-up is repeated until the woken thread has seen it.
pub(crate) const REPEAT: Duration = Duration::from_millis(1);

/// Installs the do-nothing handler for [`WAKE_SIGNAL`] the first time,
/// unless the program handles the signal itself, and again if the program
/// has since ignored the signal or reset it to its default action: either
/// way it would no longer interrupt a blocked call, and a timeout or a stop
/// would never come. (Not atomic: a handler another thread installs between
/// the look and the install is replaced.)
pub(crate) fn ensure_handler(op: Op) -> Result<()> {
    static INSTALLED: OnceLock<Result<(), nix::errno::Errno>> = OnceLock::new();
    let failed = |errno| Error::Os {
        op,
        errno,
        detail: format!("cannot install the {WAKE_SIGNAL} handler used for timeouts and stops"),
    };
    let mut installed_now = false;
    (*INSTALLED.get_or_init(|| {
        installed_now = true;
        match sys::is_handled(WAKE_SIGNAL) {
            // The program's own handler interrupts the call as well.
            Ok(true) => Ok(()),
            _ => sys::install_wake_handler(WAKE_SIGNAL),
        }
    }))
    .map_err(failed)?;
    // Any handler interrupts the call, whoever installed it.
    if installed_now || sys::is_handled(WAKE_SIGNAL).unwrap_or(true) {
        return Ok(());
    }
    // Once: a program that keeps resetting it would fill the log.
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        log::warn!(
            "{WAKE_SIGNAL} was set to be ignored or to its default action after ipcq began to \
             use it; ipcq installs its handler, as timeouts and stops need one"
        );
    }
    sys::install_wake_handler(WAKE_SIGNAL).map_err(failed)
}

/// Lets [`WAKE_SIGNAL`] through to the calling thread while it lives.
///
/// A program may block signals in its threads (to take them in one thread
/// with `sigwait` or a signalfd, say); a thread that blocks the wake signal
/// would sleep through its timeout and through a stop. So a thread about to
/// wait unblocks it for the wait, and blocks it again afterwards if it was
/// blocked. (A wake signal still pending then is delivered when the program
/// unblocks it, to ipcq's handler, which does nothing.)
pub(crate) struct WakeUnblocked {
    reblock: bool,
}

impl WakeUnblocked {
    /// Makes sure the wake signal is handled ([`ensure_handler`]) and lets
    /// it through to the calling thread.
    pub(crate) fn new(op: Op) -> Result<Self> {
        ensure_handler(op)?;
        let mut old = SigSet::empty();
        pthread_sigmask(
            SigmaskHow::SIG_UNBLOCK,
            Some(&SigSet::from(WAKE_SIGNAL)),
            Some(&mut old),
        )
        .map_err(|errno| Error::Os {
            op,
            errno,
            detail: format!("cannot unblock {WAKE_SIGNAL} for the wait"),
        })?;
        Ok(WakeUnblocked {
            reblock: old.contains(WAKE_SIGNAL),
        })
    }
}

impl Drop for WakeUnblocked {
    fn drop(&mut self) {
        if self.reblock {
            let set = SigSet::from(WAKE_SIGNAL);
            if let Err(errno) = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None) {
                log::warn!("cannot block {WAKE_SIGNAL} again after a wait: {errno}");
            }
        }
    }
}

/// A timer that signals the calling thread at `deadline` and then every
/// [`REPEAT`], until dropped. The wake signal must be handled and let
/// through ([`WakeUnblocked`]).
pub(crate) struct DeadlineAlarm {
    _timer: sys::PosixTimer,
}

impl DeadlineAlarm {
    pub(crate) fn arm(op: Op, deadline: Instant) -> Result<Self> {
        let os = |errno| Error::Os {
            op,
            errno,
            detail: "cannot arm the timer that ends a wait with a timeout".into(),
        };
        let event = SigEvent::new(SigevNotify::SigevThreadId {
            signal: WAKE_SIGNAL,
            thread_id: nix::unistd::gettid().as_raw(),
            si_value: 0,
        });
        let mut timer = sys::PosixTimer::new(ClockId::CLOCK_MONOTONIC, &event).map_err(os)?;
        // A zero delay would disarm the timer; a deadline already past fires at once.
        let delay = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_nanos(1));
        timer
            .arm(
                *TimeSpec::from_duration(delay).as_ref(),
                *TimeSpec::from_duration(REPEAT).as_ref(),
            )
            .map_err(os)?;
        Ok(DeadlineAlarm { _timer: timer })
    }
}
