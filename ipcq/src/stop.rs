//! Asking blocked calls and worker loops to stop.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::pthread::{Pthread, pthread_kill, pthread_self};

use crate::error::Op;
use crate::wake::{self, REPEAT, WAKE_SIGNAL};

/// A shared flag that stops the queues it is attached to.
///
/// Attach a handle to a queue with
/// [`MsgQueue::with_stop`](crate::MsgQueue::with_stop) (or the typed queue's
/// equivalent). Without a requested stop, a blocking send or receive that a
/// signal interrupts simply goes on waiting. After [`stop`](Self::stop), every
/// call blocked on a queue with this handle wakes up and returns
/// [`Error::Stopped`](crate::Error::Stopped), later blocking calls return it
/// at once, and worker loops return `Ok` after finishing the message in hand.
///
/// Clones share one flag, so a handle can be passed to another thread, a
/// signal watcher or a handler, and stop a worker from there.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ipcq::{Key, MsgQueue, StopHandle};
///
/// let stop = StopHandle::new();
/// let q = MsgQueue::create(Key::private())?.with_stop(stop.clone());
/// let stopper = std::thread::spawn(move || {
///     std::thread::sleep(Duration::from_millis(50));
///     stop.stop();
/// });
/// let err = q.recv(ipcq::Selector::Any).unwrap_err();
/// assert!(err.is_stopped());
/// stopper.join().unwrap();
/// q.remove()?;
/// # Ok::<(), ipcq::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct StopHandle {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    stopped: AtomicBool,
    /// How many stops were requested: a call blocked when one was returns
    /// `Stopped` even if a `reset` came before it woke.
    stops: AtomicU64,
    next_ticket: AtomicU64,
    /// Threads blocked in a call on a queue with this handle.
    blocked: Mutex<Vec<Waiter>>,
}

/// A thread blocked in a call, as [`StopHandle::stop`] sees it.
#[derive(Debug)]
struct Waiter {
    ticket: u64,
    thread: Pthread,
    /// The handle's count of stops when the call began.
    stops: u64,
}

/// How long [`StopHandle::stop`] keeps waking threads that do not leave their call.
const GIVE_UP_AFTER: Duration = Duration::from_secs(5);

impl StopHandle {
    /// A handle that has not been stopped.
    pub fn new() -> Self {
        StopHandle::default()
    }

    /// Requests a stop, and wakes every thread blocked on a queue with this handle.
    ///
    /// Returns once each of those threads has left its blocking call, or
    /// after 5 seconds of waking them, with a warning logged, if one has not.
    /// Each wait unblocks [`WAKE_SIGNAL`] for its length, so that takes a
    /// thread the signal cannot reach, such as one a debugger holds stopped.
    ///
    /// It takes a lock and may sleep, so it is not for a signal handler: to
    /// stop on a signal, use [`service::Signals`](crate::service::Signals),
    /// which calls it from a thread of its own.
    pub fn stop(&self) {
        // The flag first: a call that counts this stop when it begins finds
        // the flag set, unless a reset came since, and returns or waits on
        // its own; only the calls that began before it are woken here.
        self.inner.stopped.store(true, Ordering::SeqCst);
        let this_stop = self.inner.stops.fetch_add(1, Ordering::SeqCst) + 1;
        let started = Instant::now();
        loop {
            {
                let blocked = self.lock();
                let mut earlier = blocked.iter().filter(|w| w.stops < this_stop).peekable();
                if earlier.peek().is_none() {
                    return;
                }
                if started.elapsed() > GIVE_UP_AFTER {
                    log::warn!(
                        "{} thread(s) did not leave a blocked queue call after a stop",
                        earlier.count()
                    );
                    return;
                }
                // The wake signal is the program's to change: have it
                // handled again if it has been set to be ignored since.
                let _ = wake::ensure_handler(Op::Receive);
                // Sent while the list is locked: a thread on it cannot get
                // past its `Blocked` guard, which takes this lock, so it has
                // not exited and the signal reaches it inside ipcq, not in a
                // call of the application's after it.
                for waiter in earlier {
                    let _ = pthread_kill(waiter.thread, WAKE_SIGNAL);
                }
            }
            std::thread::sleep(REPEAT);
        }
    }

    /// Whether a stop has been requested.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Clears a requested stop, so that the attached queues block again.
    ///
    /// A call that was blocked when the stop was requested returns
    /// [`Error::Stopped`](crate::Error::Stopped) all the same, even if it
    /// wakes only after the reset; a call made after the reset waits as
    /// usual, and a stop under way does not wait for it to end.
    pub fn reset(&self) {
        self.inner.stopped.store(false, Ordering::SeqCst);
    }

    /// The count of stops requested so far: read by a call before it first
    /// looks at the flag, and handed to [`enter`](Self::enter) if it waits.
    pub(crate) fn stops(&self) -> u64 {
        self.inner.stops.load(Ordering::SeqCst)
    }

    /// Whether a stop was requested since [`stops`](Self::stops) said
    /// `began`, or is now.
    pub(crate) fn stopped_since(&self, began: u64) -> bool {
        self.is_stopped() || self.stops() != began
    }

    /// Registers the calling thread as blocked until the guard drops, so that a
    /// stop can wake it; `stops` is what [`stops`](Self::stops) said when the
    /// call began. The wake signal must be handled (see
    /// [`wake::ensure_handler`]).
    ///
    /// A stop counted after that read set the flag before: the call's first
    /// look at the flag sees it, unless a reset came since, and then the
    /// count has moved past `stops`, which [`Blocked::stop_requested`] sees,
    /// however late the call registers. A stop counted before the read ended
    /// before the call began.
    pub(crate) fn enter(&self, stops: u64) -> Blocked<'_> {
        let ticket = self.inner.next_ticket.fetch_add(1, Ordering::Relaxed);
        self.lock().push(Waiter {
            ticket,
            thread: pthread_self(),
            stops,
        });
        Blocked {
            stop: self,
            ticket,
            stops,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Waiter>> {
        // The list stays consistent whatever panicked while it was held.
        self.inner
            .blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The registration of a blocked thread; removes it when dropped.
pub(crate) struct Blocked<'a> {
    stop: &'a StopHandle,
    ticket: u64,
    /// The handle's count of stops when the call began.
    stops: u64,
}

impl Blocked<'_> {
    /// Whether a stop was requested since the call began, or is now.
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.stopped_since(self.stops)
    }
}

impl Drop for Blocked<'_> {
    fn drop(&mut self) {
        self.stop.lock().retain(|w| w.ticket != self.ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_and_reset_before_a_call_registers_still_stop_it() {
        let handle = StopHandle::new();
        // The call begins, and finds no stop.
        let began = handle.stops();
        assert!(!handle.is_stopped());
        // Before it registers as blocked: a stop, which finds no thread to
        // wake, then a reset.
        handle.stop();
        handle.reset();
        assert!(handle.enter(began).stop_requested());
        // A call that begins after the reset waits as usual.
        assert!(!handle.enter(handle.stops()).stop_requested());
    }
}
