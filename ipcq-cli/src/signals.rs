//! Ctrl-C and kill: turning SIGINT and SIGTERM into a clean stop.
//!
//! The commands that wait (send, recv, watch) or must not be cut off anywhere
//! (dump, restore) install this; the others keep the default action, which
//! ends the process at once and is right for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use ipcq::StopHandle;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use crate::failure::{Failure, Outcome};

/// SIGINT and SIGTERM, caught by a thread for as long as this lives.
pub(crate) struct Interrupts {
    caught: Arc<AtomicI32>,
    events: Receiver<i32>,
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

impl Interrupts {
    /// Starts catching the signals. A caught signal is recorded and, when
    /// `stop` is given, stops it: that wakes a send or receive blocked on a
    /// queue carrying that stop handle.
    ///
    /// # Errors
    ///
    /// When the handlers cannot be installed.
    pub(crate) fn catch(stop: Option<StopHandle>) -> Outcome<Self> {
        let mut signals = Signals::new([SIGINT, SIGTERM])
            .map_err(|e| Failure::new(format!("cannot catch SIGINT and SIGTERM: {e}")))?;
        let handle = signals.handle();
        let caught = Arc::new(AtomicI32::new(0));
        let (tx, events) = mpsc::channel();
        let record = Arc::clone(&caught);
        let thread = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    let _ = record.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
                    if let Some(stop) = &stop {
                        stop.stop();
                    }
                    let _ = tx.send(signal);
                }
            })
            .map_err(|e| Failure::new(format!("cannot start the signal thread: {e}")))?;
        Ok(Interrupts {
            caught,
            events,
            handle,
            thread: Some(thread),
        })
    }

    /// The first signal caught so far, if any.
    pub(crate) fn caught(&self) -> Option<i32> {
        match self.caught.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(signal),
        }
    }

    /// Waits up to `timeout` for a signal; the signal if one came (or had come).
    pub(crate) fn wait(&self, timeout: Duration) -> Option<i32> {
        if let Some(signal) = self.caught() {
            return Some(signal);
        }
        match self.events.recv_timeout(timeout) {
            Ok(signal) => Some(signal),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => self.caught(),
        }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `SIGINT` or `SIGTERM`, for messages.
pub(crate) fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
