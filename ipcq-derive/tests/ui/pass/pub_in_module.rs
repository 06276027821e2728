#![deny(warnings)]

mod protocol {
    use ipcq::QueueMessage;
    use serde::{Deserialize, Serialize};

    /// The messages of the worker queue.
    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    pub enum Cmd {
        /// Start a job.
        Start { id: u64 },
        /// Stop everything.
        #[ipcq(mtype = 9)]
        Stop,
    }
}

use ipcq::{Dispatch, Key, MessageKind, QueueMessage, TypedQueue};
use protocol::{Cmd, CmdHandler, CmdKind};

struct Worker {
    started: Vec<u64>,
    stopped: bool,
}

impl CmdHandler for Worker {
    fn start(&mut self, id: u64) {
        self.started.push(id);
    }
    fn stop(&mut self) {
        self.stopped = true;
    }
}

fn main() {
    assert_eq!(CmdKind::ALL, [CmdKind::Start, CmdKind::Stop]);
    assert_eq!(<CmdKind as MessageKind>::mtype(CmdKind::Stop), 9);
    assert_eq!(Cmd::Start { id: 1 }.kind(), CmdKind::Start);
    assert_eq!(CmdKind::Start.to_string(), "Start");

    let q = TypedQueue::<Cmd>::create(Key::private()).unwrap();
    q.send(Cmd::Start { id: 3 }).unwrap();
    q.send(Cmd::Stop).unwrap();
    // Lowest mtype first is Start (1), then Stop (9).
    assert_eq!(
        q.recv_priority(CmdKind::Stop).unwrap(),
        Cmd::Start { id: 3 }
    );
    let mut worker = Worker {
        started: vec![3],
        stopped: false,
    };
    q.recv().unwrap().dispatch(&mut worker);
    assert!(worker.stopped);
    Cmd::Start { id: 4 }.dispatch(&mut worker);
    assert_eq!(worker.started, [3, 4]);
    q.remove().unwrap();
}
