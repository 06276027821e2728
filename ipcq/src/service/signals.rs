//! Turning SIGTERM and SIGINT into a graceful stop, and SIGHUP into a reload.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Handle;

use nix::sys::signal::Signal;

use crate::error::{Error, Op, Result};
use crate::stop::StopHandle;
use crate::sys;

/// Which signals do what; [`install`](Signals::install) puts it in force.
///
/// SIGTERM and SIGINT request a stop on the [`StopHandle`]: every call blocked
/// on a queue with that handle wakes, and worker loops return `Ok` once the
/// message in hand is handled, so a stop never cuts a message in half.
/// SIGHUP calls the reload callback, if one is given.
///
/// The signals are received by a thread of their own (through `signal-hook`),
/// so handlers run as ordinary code, not in signal context. Dropping the
/// [`SignalWatcher`] gives the signals back their default action (SIGTERM
/// and SIGINT end the process again) once no other watcher is installed;
/// a signal the process ignored or handled itself before the first watcher
/// is left to it. (A handler the program registers through `signal-hook`
/// after a watcher runs, and the default action after it once no watcher
/// is left.)
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
#[must_use = "signals are watched only once `install` is called"]
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
        let watching = Watching::begin(&wanted)?;
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
            _watching: watching,
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

/// The running signal watcher. Dropping it stops watching, and once no
/// watcher is left the signals take their default action again.
#[must_use = "dropping the watcher stops watching at once: keep it in a variable such as `_watcher`"]
pub struct SignalWatcher {
    handle: Handle,
    thread: Option<JoinHandle<()>>,
    // Dropped after the fields above: the thread is gone before the default
    // actions come back.
    _watching: Watching,
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals")
            .field("stop", &self.stop)
            .field("reload", &self.reload.as_ref().map(|_| "FnMut()"))
            .finish()
    }
}

impl fmt::Debug for SignalWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalWatcher")
            .field(
                "running",
                &self.thread.as_ref().is_some_and(|t| !t.is_finished()),
            )
            .finish_non_exhaustive()
    }
}

impl Drop for SignalWatcher {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Watchers installed in this process and not yet dropped, and the signals
/// whose default action comes back when there are none.
///
/// signal-hook never uninstalls its handler: once it has caught a signal,
/// the signal stays caught, and with no watcher left it would do nothing:
/// a SIGTERM would no longer end the process. So for each signal a watcher
/// takes, an action that runs the signal's default (`signal-hook`'s
/// `register_conditional_default`) is registered once, armed while no
/// watcher is installed.
struct Registry {
    watchers: usize,
    /// Signals that have their conditional default action, or that were
    /// ignored or handled before any watcher (and are left so).
    seen: Vec<i32>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    watchers: 0,
    seen: Vec::new(),
});

/// Whether the default actions are armed: no watcher is installed.
fn idle() -> &'static Arc<AtomicBool> {
    static IDLE: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    IDLE.get_or_init(|| Arc::new(AtomicBool::new(true)))
}

/// One installed watcher, counted in [`REGISTRY`] while it lives.
struct Watching;

impl Watching {
    fn begin(signals: &[i32]) -> Result<Watching> {
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        for &signal in signals {
            if registry.seen.contains(&signal) {
                continue;
            }
            // Only a signal that had its default action before the first
            // watcher gets it back: one the program ignored or handled
            // itself is left to the program. Checked before signal-hook's
            // handler replaces the disposition.
            let default = Signal::try_from(signal)
                .ok()
                .and_then(|s| sys::has_default_action(s).ok())
                .unwrap_or(false);
            if default {
                signal_hook::flag::register_conditional_default(signal, Arc::clone(idle()))
                    .map_err(|e| io_error(&e))?;
            }
            registry.seen.push(signal);
        }
        registry.watchers += 1;
        idle().store(false, Ordering::SeqCst);
        Ok(Watching)
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        registry.watchers -= 1;
        if registry.watchers == 0 {
            idle().store(true, Ordering::SeqCst);
        }
    }
}
