//! Running a queue worker as a service: graceful stop on signals, daemon
//! mode with a pid file, and dropping root privileges.
//!
//! A typical daemon, in the order these calls must come:
//!
//! ```no_run
//! use ipcq::service::{Daemon, Signals};
//! use ipcq::{Key, StopHandle, TypedQueue};
//! # #[derive(ipcq::QueueMessage, serde::Serialize, serde::Deserialize)]
//! # enum Cmd { Job(u32) }
//!
//! fn main() -> ipcq::Result<()> {
//!     // Forks, writes and locks the pid file, drops to the user: all before
//!     // any thread starts. Then, in the daemon, the set-up: the starting
//!     // process exits 0 once it has succeeded, and with its error if not.
//!     let stop = StopHandle::new();
//!     let (_running, (q, _signals)) = Daemon::new()
//!         .pid_file("/run/mydaemon/mydaemon.pid")
//!         .user("mydaemon")
//!         .start_with(|| {
//!             // SIGTERM and SIGINT stop the worker loop after the message in hand.
//!             let signals = Signals::new(&stop).on_reload(|| log::info!("reload")).install()?;
//!             let q = TypedQueue::<Cmd>::create(Key::new(0x5150))?.with_stop(stop.clone());
//!             Ok((q, signals))
//!         })?;
//!     q.serve_fn(|Cmd::Job(n)| log::info!("job {n}"))
//!     // _running drops here and removes the pid file.
//! }
//! ```
//!
//! ipcq logs through the `log` facade and never prints.

mod daemon;
mod pidfile;
mod privileges;
mod signals;

pub use daemon::{Daemon, Running};
pub use pidfile::PidFile;
pub use privileges::{Credentials, drop_privileges};
pub use signals::{SignalWatcher, Signals};
