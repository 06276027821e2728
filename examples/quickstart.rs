//! The tour of ipcq in one command: `cargo run --example quickstart`.
//!
//! It creates a queue, shows a selective and a priority receive, then starts
//! a worker process (this same program, run with `worker ID`) that handles
//! typed commands by variant until told to shut down, and removes the queue.

use std::process::Command;

use ipcq::{Key, QueueId, QueueMessage, StopHandle, TypedQueue};
use serde::{Deserialize, Serialize};

/// The commands a control tool sends to its daemon.
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    /// mtype 1: the lowest, so priority receives take it first.
    Reload,
    /// mtype 10.
    #[ipcq(mtype = 10)]
    Job { id: u64, path: String },
    /// mtype 11: numbering goes on after an explicit mtype.
    Shutdown,
    /// mtype 20: plain text, so C, PHP or Python programs can send it too.
    #[ipcq(mtype = 20, text)]
    Note(String),
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, role, id] = &args[..]
        && role == "worker"
    {
        return worker(id.parse()?);
    }

    // A private queue has no key: nobody else can stumble on it. The worker
    // process gets its id instead.
    let q = TypedQueue::<Cmd>::create(Key::private())?; // mode 0600, as every queue ipcq creates
    let q = RemoveOnDrop(q);
    println!("queue {} created (mode 0600)", q.id());

    // Selective and priority receives: messages wait in the kernel, typed.
    q.send(Cmd::Job {
        id: 1,
        path: "/srv/in/1.csv".into(),
    })?;
    q.send(Cmd::Note("backup finished".into()))?;
    q.send(Cmd::Job {
        id: 2,
        path: "/srv/in/2.csv".into(),
    })?;
    q.send(Cmd::Reload)?;
    println!(
        "sent Job 1, Note, Job 2, Reload; {} waiting",
        q.stat()?.messages
    );

    let job = q.recv_kind(CmdKind::Job)?;
    println!("recv_kind(Job)        -> {job:?}   (only that variant)");
    let urgent = q.recv_priority(CmdKind::Shutdown)?;
    println!("recv_priority(..=11)  -> {urgent:?}   (lowest mtype first)");
    let other = q.recv_except(CmdKind::Job)?;
    println!("recv_except(Job)      -> {other:?}");

    // A worker process: handler methods by variant, until Shutdown.
    let mut child = Command::new(std::env::current_exe()?)
        .args(["worker", &q.id().to_string()])
        .spawn()?;
    for id in 3..=5 {
        q.send(Cmd::Job {
            id,
            path: format!("/srv/in/{id}.csv"),
        })?;
    }
    q.send(&Cmd::Reload)?;
    q.send(Cmd::Shutdown)?;
    let status = child.wait()?;
    println!(
        "worker exited with {status}; {} message(s) left",
        q.stat()?.messages
    );

    Ok(())
}

/// Removes the demo's queue when `main` ends, however it ends: SysV queues
/// outlive their processes.
struct RemoveOnDrop(TypedQueue<Cmd>);

impl std::ops::Deref for RemoveOnDrop {
    type Target = TypedQueue<Cmd>;

    fn deref(&self) -> &TypedQueue<Cmd> {
        &self.0
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        match self.0.remove() {
            Ok(()) => println!("queue removed"),
            Err(e) => eprintln!("could not remove queue {}: {e}", self.0.id()),
        }
    }
}

/// The worker's handler: one method per variant, with the variant's fields.
struct Worker {
    pid: u32,
    stop: StopHandle,
}

impl CmdHandler for Worker {
    fn reload(&mut self) {
        println!("  [worker {}] reload", self.pid);
    }

    fn job(&mut self, id: u64, path: String) {
        println!("  [worker {}] job {id}: {path}", self.pid);
    }

    fn shutdown(&mut self) {
        println!("  [worker {}] shutdown", self.pid);
        // serve() returns once this handler does.
        self.stop.stop();
    }

    fn note(&mut self, text: String) {
        println!("  [worker {}] note: {text}", self.pid);
    }
}

fn worker(id: QueueId) -> Result<(), Box<dyn std::error::Error>> {
    let stop = StopHandle::new();
    let q = TypedQueue::<Cmd>::open_id(id)?.with_stop(stop.clone());
    let mut worker = Worker {
        pid: std::process::id(),
        stop,
    };
    q.serve(&mut worker)?;
    Ok(())
}
