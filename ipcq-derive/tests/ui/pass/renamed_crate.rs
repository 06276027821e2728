//! `#[ipcq(crate = "...")]`: the generated code reaches ipcq only through the
//! given path. Here `::ipcq` names `core`, so any use of it would not compile.
#![deny(warnings)]

extern crate core as ipcq;
extern crate ipcq as messaging;

/// What a framework built on ipcq would re-export.
mod framework {
    pub mod queues {
        pub use messaging::*;
    }
}

mod protocol {
    use messaging::QueueMessage;
    use serde::{Deserialize, Serialize};

    /// A renamed dependency.
    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    #[ipcq(crate = "messaging")]
    pub enum Cmd {
        /// Start a job.
        Start { id: u64 },
        /// Say something.
        #[ipcq(text)]
        Say(String),
        /// Stop everything.
        Stop,
    }

    /// A re-export, named by a path with a leading `crate`.
    #[derive(QueueMessage, Debug, PartialEq)]
    #[ipcq(crate = "crate::framework::queues", base = 5)]
    pub enum Raw {
        /// Some bytes.
        #[ipcq(bytes)]
        Blob(Vec<u8>),
    }
}

use messaging::{Dispatch, Key, MessageKind, QueueMessage, TypedQueue};
use protocol::{Cmd, CmdHandler, CmdKind, Raw, RawKind};

#[derive(Default)]
struct Worker {
    seen: Vec<String>,
}

impl CmdHandler for Worker {
    fn start(&mut self, id: u64) {
        self.seen.push(format!("start {id}"));
    }
    fn say(&mut self, arg0: String) {
        self.seen.push(arg0);
    }
    fn stop(&mut self) {
        self.seen.push("stop".into());
    }
}

fn main() {
    assert_eq!(<CmdKind as MessageKind>::mtype(CmdKind::Stop), 3);
    assert_eq!(RawKind::Blob.mtype(), 5);

    let q = TypedQueue::<Cmd>::create(Key::private()).unwrap();
    q.send(Cmd::Start { id: 7 }).unwrap();
    q.send(Cmd::Say("hi".into())).unwrap();
    q.send(Cmd::Stop).unwrap();
    let mut worker = Worker::default();
    for _ in 0..3 {
        q.recv().unwrap().dispatch(&mut worker);
    }
    assert_eq!(worker.seen, ["start 7", "hi", "stop"]);

    let raw = TypedQueue::<Raw>::from_queue(q.as_queue().clone());
    raw.send(Raw::Blob(vec![1, 2, 3])).unwrap();
    assert_eq!(raw.recv().unwrap(), Raw::Blob(vec![1, 2, 3]));
    assert_eq!(Raw::Blob(vec![]).kind(), RawKind::Blob);
    q.remove().unwrap();
}
