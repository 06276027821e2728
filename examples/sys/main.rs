//! The original `examples/sys`, ported: one program that starts the
//! listener daemon, sends it a message, or removes its queue (key 3054, text
//! messages of type 9). `ipcq-sys.init` and `ipcq-sys.service` beside this
//! file run it under SysV init or systemd.
//!
//! ```text
//! sys -s [--pidfile P] [--user U] [--group G] [--foreground] [--log-file F]
//! sys --message TEXT
//! sys -k
//! ```

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use clap::{ArgGroup, Parser};
use ipcq::service::{Daemon, Signals};
use ipcq::{Key, OpenOptions, QueueMessage, StopHandle, TypedQueue};
use serde::{Deserialize, Serialize};

/// What travels on the queue: plain text, so that any program can send it.
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum SysMsg {
    /// A line of text.
    #[ipcq(mtype = 9, text)]
    Text(String),
}

#[derive(Parser)]
#[command(
    name = "sys",
    about = "A listener daemon on a System V message queue",
    group(ArgGroup::new("action").args(["start", "kill", "message"])),
    after_help = "With no action, prints this help."
)]
struct Args {
    /// Start the listener (as a daemon unless --foreground).
    #[arg(short = 's', long = "start")]
    start: bool,
    /// Remove the queue, which stops every listener.
    #[arg(short = 'k', long = "kill")]
    kill: bool,
    /// Send one message.
    #[arg(long, value_name = "TEXT")]
    message: Option<String>,
    /// The queue's key: decimal, or 0x and hex digits as `ipcs` shows it.
    #[arg(long, default_value = "3054")]
    key: Key,
    /// The pid file of the listener.
    #[arg(long, env = "IPCQ_PIDFILE", value_name = "PATH")]
    pidfile: Option<PathBuf>,
    /// Run the listener as this user (name or uid).
    #[arg(long)]
    user: Option<String>,
    /// Run the listener with this group (name or gid).
    #[arg(long)]
    group: Option<String>,
    /// Stay in the foreground (for systemd and containers).
    #[arg(long)]
    foreground: bool,
    /// Where the listener logs (default: stderr, which a daemon points at /dev/null).
    #[arg(long, value_name = "PATH")]
    log_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let key = args.key;
    let result = if args.start {
        listen(&args, key)
    } else if args.kill {
        open_listeners_queue(key).and_then(|q| q.remove())
    } else if let Some(text) = &args.message {
        open_listeners_queue(key).and_then(|q| q.send(SysMsg::Text(text.clone())))
    } else {
        use clap::CommandFactory;
        let _ = Args::command().print_help();
        return ExitCode::from(2);
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sys: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The listener's queue, for the control commands. The listener may run as
/// another user (`--user`), which then owns its queue: these commands only
/// send to it or remove it, so they accept that owner.
fn open_listeners_queue(key: Key) -> ipcq::Result<TypedQueue<SysMsg>> {
    TypedQueue::open_with(key, OpenOptions::new().allow_foreign(true))
}

fn listen(args: &Args, key: Key) -> ipcq::Result<()> {
    // Opened before privileges are dropped, so /var/log works.
    let log_file = match &args.log_file {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| ipcq::Error::Io {
                    op: ipcq::Op::Daemonize,
                    path: path.clone(),
                    source,
                })?,
        ),
        None => None,
    };
    let mut daemon = Daemon::new().foreground(args.foreground);
    if let Some(path) = &args.pidfile {
        daemon = daemon.pid_file(path);
    }
    if let Some(user) = &args.user {
        daemon = daemon.user(user);
    }
    if let Some(group) = &args.group {
        daemon = daemon.group(group);
    }
    // The queue is opened and the signals installed before the starting
    // process exits: `-s` (and the init script's start) fails if they cannot
    // be, and a `--message` sent just after finds the queue.
    let stop = StopHandle::new();
    let (_running, (q, _signals)) = daemon.start_with(|| {
        let signals = Signals::new(&stop)
            .on_reload(|| log::info!("SIGHUP: nothing to reload in this example"))
            .install()?;
        let q = TypedQueue::<SysMsg>::create(key)?.with_stop(stop.clone());
        Ok((q, signals))
    })?;
    Logger::install(log_file);
    // A daemon's stderr is /dev/null: what ends the listener goes to the log.
    let result = serve(&q);
    match &result {
        Ok(()) => log::info!("stopped"),
        Err(e) => log::error!("stopped: {e}"),
    }
    result
}

/// The listener's loop, after the daemon has started and the logger is set.
fn serve(q: &TypedQueue<SysMsg>) -> ipcq::Result<()> {
    log::info!(
        "listening on queue {} (key {}), pid {}",
        q.id(),
        q.key(),
        std::process::id()
    );
    // serve_fn hands back a message that is not a SysMsg (any user who may
    // write to the queue can send one): log it and serve on, rather than let
    // one stray message stop the listener. It takes every type, not type 9
    // alone: nothing else reads this queue, and messages of other types left
    // on it would fill it, so that sends and the init script's restore wait.
    loop {
        match q.serve_fn(|SysMsg::Text(text)| log::info!("received: {text}")) {
            Err(ipcq::Error::Decode(e)) => log::warn!("skipped: {e}"),
            done => return done,
        }
    }
}

/// A minimal `log` backend: one line per record, to a file or stderr.
struct Logger(Mutex<Option<File>>);

impl Logger {
    fn install(file: Option<File>) {
        let logger = Box::leak(Box::new(Logger(Mutex::new(file))));
        if log::set_logger(logger).is_ok() {
            log::set_max_level(log::LevelFilter::Info);
        }
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format!("ipcq-sys[{}]: {}\n", std::process::id(), record.args());
        let mut file = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = match file.as_mut() {
            Some(file) => file.write_all(line.as_bytes()),
            None => std::io::stderr().write_all(line.as_bytes()),
        };
    }

    fn flush(&self) {}
}
