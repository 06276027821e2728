#![deny(warnings)]

use ipcq::{Key, QueueMessage, TypedQueue};
use serde::{Deserialize, Serialize};

// Variants whose snake-case names are keywords: the handler methods are raw
// identifiers (`r#type`), or get a trailing underscore for the keywords that
// cannot be raw (`super_`).
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    Type(u8),
    Match { r#in: String },
    Loop,
    Async,
    Dyn,
    Try,
    Yield,
    Union,
    Super,
    Crate,
    Self_,
}

struct Seen<'q> {
    log: Vec<&'static str>,
    queue: &'q TypedQueue<Cmd>,
}

impl CmdHandler for Seen<'_> {
    fn r#type(&mut self, _: u8) {
        self.log.push("type");
    }
    fn r#match(&mut self, r#in: String) {
        assert_eq!(r#in, "in");
        self.log.push("match");
    }
    fn r#loop(&mut self) {
        self.log.push("loop");
    }
    fn r#async(&mut self) {
        self.log.push("async");
    }
    fn r#dyn(&mut self) {
        self.log.push("dyn");
    }
    fn r#try(&mut self) {
        self.log.push("try");
    }
    fn r#yield(&mut self) {
        self.log.push("yield");
    }
    fn union(&mut self) {
        self.log.push("union");
    }
    fn super_(&mut self) {
        self.log.push("super");
    }
    fn crate_(&mut self) {
        self.log.push("crate");
    }
    fn self_(&mut self) {
        self.log.push("self");
        self.queue.remove().unwrap(); // ends serve()
    }
}

fn main() {
    let messages = [
        Cmd::Type(1),
        Cmd::Match { r#in: "in".into() },
        Cmd::Loop,
        Cmd::Async,
        Cmd::Dyn,
        Cmd::Try,
        Cmd::Yield,
        Cmd::Union,
        Cmd::Super,
        Cmd::Crate,
        Cmd::Self_,
    ];
    let q = TypedQueue::<Cmd>::create(Key::private()).unwrap();
    for msg in &messages {
        q.send(msg).unwrap();
        assert_eq!(q.recv().unwrap(), *msg);
    }
    for msg in messages {
        q.send(msg).unwrap();
    }
    let mut seen = Seen {
        log: Vec::new(),
        queue: &q,
    };
    q.serve(&mut seen).unwrap();
    assert_eq!(
        seen.log,
        [
            "type", "match", "loop", "async", "dyn", "try", "yield", "union", "super", "crate",
            "self"
        ]
    );
}
