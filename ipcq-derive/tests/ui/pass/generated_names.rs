#![deny(warnings)]

use ipcq::{Key, QueueMessage, TypedQueue};
use serde::{Deserialize, Serialize};

/// The application's own `JobKind`, which `Job`'s Kind would collide with.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
enum JobKind {
    Build,
    Test,
}

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(kind = "JobType", handler = "JobWorker")]
enum Job {
    Run(JobKind),
    Cancel { id: u64 },
}

struct Worker(Vec<String>);

impl JobWorker for Worker {
    fn run(&mut self, kind: JobKind) {
        self.0.push(format!("run {kind:?}"));
    }
    fn cancel(&mut self, id: u64) {
        self.0.push(format!("cancel {id}"));
    }
}

fn main() {
    assert_eq!(JobType::Cancel.mtype(), 2);
    let q = TypedQueue::<Job>::create(Key::private()).unwrap();
    q.send(Job::Run(JobKind::Test)).unwrap();
    q.send(Job::Cancel { id: 7 }).unwrap();
    assert_eq!(q.recv_kind(JobType::Cancel).unwrap(), Job::Cancel { id: 7 });
    let mut worker = Worker(Vec::new());
    q.serve_fn(|job| {
        ipcq::Dispatch::dispatch(job, &mut worker);
        q.remove().unwrap();
    })
    .unwrap();
    assert_eq!(worker.0, ["run Test"]);
}
