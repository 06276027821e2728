//! Kernel objects the benchmarks create, removed when done, on a panic, and
//! on SIGINT, SIGTERM or SIGHUP, so that `ipcs -q` and `/dev/mqueue` are as
//! clean afterwards as before.

use std::sync::{Mutex, PoisonError};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Something to remove.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Resource {
    /// A System V queue, by id.
    SysV(i32),
    /// A POSIX message queue, by name.
    Mq(String),
}

static LIVE: Mutex<Vec<Resource>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<Resource>> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Resource {
    fn remove(&self) {
        match self {
            Resource::SysV(id) => {
                if let Ok(q) = ipcq::MsgQueue::open_id(ipcq::QueueId::new(*id)) {
                    let _ = q.remove();
                }
            }
            Resource::Mq(name) => {
                let _ = nix::mqueue::mq_unlink(name.as_str());
            }
        }
    }
}

/// Removes its object when dropped.
#[derive(Debug)]
pub(crate) struct Guard(Resource);

impl Guard {
    pub(crate) fn sysv(id: i32) -> Guard {
        Guard::new(Resource::SysV(id))
    }

    pub(crate) fn mq(name: &str) -> Guard {
        Guard::new(Resource::Mq(name.to_owned()))
    }

    fn new(resource: Resource) -> Guard {
        live().push(resource.clone());
        Guard(resource)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.remove();
        live().retain(|r| r != &self.0);
    }
}

/// Removes every live object and exits when the process is told to stop.
pub(crate) fn on_signals() {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP]).expect("cannot watch for signals");
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            for resource in live().drain(..) {
                resource.remove();
            }
            eprintln!("\nstopped by signal {signal}; queues removed");
            std::process::exit(128 + signal);
        }
    });
}
