//! Turning SIGTERM and SIGINT into a graceful stop, and SIGHUP into a reload.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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
/// [`SignalWatcher`] gives each signal it took back its default action
/// (SIGTERM and SIGINT end the process again) once no other watcher takes
/// that signal; a signal the process ignored or handled itself before the
/// first watcher is left to it. A signal that came before the drop and was
/// not yet acted on (the watcher thread was busy in the reload callback,
/// say) is acted on by the drop. (A handler the program registers through
/// `signal-hook` after a watcher runs, and the default action after it once
/// no watcher is left.)
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
        let watching = Watching::begin(wanted)?;
        let mut signals =
            signal_hook::iterator::Signals::new(&watching.signals).map_err(|e| io_error(&e))?;
        let handle = signals.handle();
        let mut actions = self;
        let thread = std::thread::Builder::new()
            .name("ipcq-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    actions.act(signal);
                }
                (signals, actions)
            })
            .map_err(|e| io_error(&e))?;
        Ok(SignalWatcher {
            handle,
            thread: Some(thread),
            watching: Some(watching),
        })
    }

    /// Does what `signal` asks for.
    fn act(&mut self, signal: i32) {
        match signal {
            SIGHUP => {
                log::info!("SIGHUP: reloading");
                if let Some(reload) = self.reload.as_mut() {
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
                self.stop.stop();
            }
        }
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
    /// The watcher thread, which hands back what it watched with once it
    /// is closed.
    thread: Option<JoinHandle<(signal_hook::iterator::Signals, Signals)>>,
    watching: Option<Watching>,
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
        let watched = self.thread.take().and_then(|thread| thread.join().ok());
        // The default actions come back first (where no other watcher takes
        // the signal), and then what came before is looked at: a signal
        // either lands before and is acted on here, or after and takes its
        // default action or goes to another watcher. None is lost.
        drop(self.watching.take());
        if let Some((mut signals, mut actions)) = watched {
            for signal in signals.pending() {
                actions.act(signal);
            }
        }
    }
}

/// The signals watchers have taken in this process, each with the number of
/// installed watchers that take it now.
///
/// signal-hook never uninstalls its handler: once it has caught a signal,
/// the signal stays caught, and with no watcher left it would do nothing:
/// a SIGTERM would no longer end the process. So for each signal a watcher
/// takes, an action that runs the signal's default (`signal-hook`'s
/// `register_conditional_default`) is registered once, armed while no
/// watcher takes that signal.
static REGISTRY: Mutex<Vec<Taken>> = Mutex::new(Vec::new());

/// A signal some watcher took at some time.
struct Taken {
    signal: i32,
    /// Installed watchers that take it.
    watchers: usize,
    /// Whether its default action is armed, for a signal that had its
    /// default action before the first watcher; `None` for one the program
    /// ignored or handled itself, which is left to the program.
    idle: Option<Arc<AtomicBool>>,
}

/// One installed watcher, counted in [`REGISTRY`] for each of its signals
/// while it lives.
struct Watching {
    signals: Vec<i32>,
}

impl Watching {
    fn begin(signals: Vec<i32>) -> Result<Watching> {
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        for &signal in &signals {
            if !registry.iter().any(|t| t.signal == signal) {
                registry.push(Taken {
                    signal,
                    watchers: 0,
                    idle: conditional_default(signal)?,
                });
            }
        }
        for taken in registry.iter_mut().filter(|t| signals.contains(&t.signal)) {
            taken.watchers += 1;
            if let Some(idle) = &taken.idle {
                idle.store(false, Ordering::SeqCst);
            }
        }
        Ok(Watching { signals })
    }
}

/// Registers `signal`'s default action, armed while its flag is set, if the
/// signal had its default action before the first watcher; `None` if the
/// program ignored or handled it. Checked before signal-hook's handler
/// replaces the disposition.
fn conditional_default(signal: i32) -> Result<Option<Arc<AtomicBool>>> {
    let default = Signal::try_from(signal)
        .ok()
        .and_then(|s| sys::has_default_action(s).ok())
        .unwrap_or(false);
    if !default {
        return Ok(None);
    }
    let idle = Arc::new(AtomicBool::new(true));
    signal_hook::flag::register_conditional_default(signal, Arc::clone(&idle))
        .map_err(|e| io_error(&e))?;
    Ok(Some(idle))
}

impl Drop for Watching {
    fn drop(&mut self) {
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        for taken in registry
            .iter_mut()
            .filter(|t| self.signals.contains(&t.signal))
        {
            taken.watchers -= 1;
            if let (0, Some(idle)) = (taken.watchers, &taken.idle) {
                idle.store(true, Ordering::SeqCst);
            }
        }
    }
}
