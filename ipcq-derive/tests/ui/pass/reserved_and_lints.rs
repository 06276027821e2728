#![deny(warnings)]

use ipcq::{Key, QueueMessage, TypedQueue};
use serde::{Deserialize, Serialize};

// `gen` is reserved in edition 2024 though syn does not list it; `ALL` must
// not clash with the Kind's list of kinds; the allow reaches the Kind enum.
#[allow(non_camel_case_types)]
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    Gen(u8),
    ALL,
    Job_Done,
    r#Raw,
}

struct H(Vec<&'static str>);

impl CmdHandler for H {
    fn r#gen(&mut self, _: u8) {
        self.0.push("gen");
    }
    fn all(&mut self) {
        self.0.push("all");
    }
    fn job_done(&mut self) {
        self.0.push("job_done");
    }
    fn raw(&mut self) {
        self.0.push("raw");
    }
}

fn main() {
    assert_eq!(<CmdKind as ipcq::MessageKind>::ALL.len(), 4);
    assert_eq!(CmdKind::Raw.name(), "Raw");
    let q = TypedQueue::<Cmd>::create(Key::private()).unwrap();
    for msg in [Cmd::Gen(1), Cmd::ALL, Cmd::Job_Done, Cmd::Raw] {
        q.send(msg).unwrap();
    }
    let mut h = H(Vec::new());
    for _ in 0..4 {
        ipcq::Dispatch::dispatch(q.recv().unwrap(), &mut h);
    }
    q.remove().unwrap();
    assert_eq!(h.0, ["gen", "all", "job_done", "raw"]);
}
