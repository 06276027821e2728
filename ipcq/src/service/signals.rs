//! Turning SIGTERM and SIGINT into a graceful stop, and SIGHUP into a reload.

use std::thread::JoinHandle;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Handle;

use crate::error::{Error, Op, Result};
use crate::stop::StopHandle;

/// Which signals do what; [`install`](Signals::install) puts it in force.
///
/// SIGTERM and SIGINT request a stop on the [`StopHandle`]: every call blocked
/// on a queue with that handle wakes, and worker loops return `Ok` once the
/// message in hand is handled, so a stop never cuts a message in half.
/// SIGHUP calls the reload callback, if one is given.
///
/// The signals are received by a thread of their own (through `signal-hook`),
/// so handlers run as ordinary code, not in signal context.
///
/// # Examples
///
/// ```
/// use ipcq::service::Signals;
/// use ipcq::StopHandle;
///
/// let stop = StopHandle::new();
/// let _watcher = Signals::new(&stop).install()?;
/// nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).unwrap();
/// while !stop.is_stopped() {
///     std::thread::yield_now();
/// }
/// # Ok::<(), ipcq::Error>(())
/// ```
pub struct Signals {
    stop: StopHandle,
    reload: Option<Box<dyn FnMut() + Send>>,
}

impl Signals {
    /// SIGTERM and SIGINT will stop `stop`.
    pub fn new(stop: &StopHandle) -> Self {
        Signals {
            stop: stop.clone(),
            reload: None,
        }
    }

    /// SIGHUP will call `reload`, on the watcher thread.
    pub fn on_reload(mut self, reload: impl FnMut() + Send + 'static) -> Self {
        self.reload = Some(Box::new(reload));
        self
    }

    /// Installs the handlers and starts the watcher thread.
    ///
    /// # Errors
    ///
    /// [`Error::Os`] when a handler cannot be installed or the thread cannot start.
    pub fn install(self) -> Result<SignalWatcher> {
        let mut wanted = vec![SIGTERM, SIGINT];
        if self.reload.is_some() {
            wanted.push(SIGHUP);
        }
        let mut signals = signal_hook::iterator::Signals::new(&wanted).map_err(|e| io_error(&e))?;
        let handle = signals.handle();
        let Signals { stop, mut reload } = self;
        let thread = std::thread::Builder::new()
            .name("ipcq-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    match signal {
                        SIGHUP => {
                            log::info!("SIGHUP: reloading");
                            if let Some(reload) = reload.as_mut() {
                                reload();
                            }
                        }
                        _ => {
                            log::info!(
                                "{}: stopping after the message in hand",
                                if signal == SIGTERM {
                                    "SIGTERM"
                                } else {
                                    "SIGINT"
                                }
                            );
                            stop.stop();
                        }
                    }
                }
            })
            .map_err(|e| io_error(&e))?;
        Ok(SignalWatcher {
            handle,
            thread: Some(thread),
        })
    }
}

fn io_error(e: &std::io::Error) -> Error {
    Error::Os {
        op: Op::Signals,
        errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        detail: format!("cannot set up the signal watcher: {e}"),
    }
}

/// The running signal watcher; dropping it stops watching.
pub struct SignalWatcher {
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

impl Drop for SignalWatcher {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
