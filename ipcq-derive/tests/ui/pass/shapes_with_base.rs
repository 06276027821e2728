#![deny(warnings)]

use ipcq::{Key, QueueMessage, TypedQueue};
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq, Clone)]
#[ipcq(base = 100)]
enum Cmd {
    Reload,
    Job(u64, String),
    Move {
        x: i32,
        y: i32,
    },
    #[ipcq(mtype = 10)]
    Urgent,
    #[ipcq(text)]
    Count(u32),
    #[ipcq(bytes)]
    Blob(Vec<u8>),
    #[ipcq(bytes)]
    Line {
        line: String,
    },
}

#[derive(Default)]
struct Log(Vec<String>);

impl CmdHandler for Log {
    fn reload(&mut self) {
        self.0.push("reload".into());
    }
    fn job(&mut self, arg0: u64, arg1: String) {
        self.0.push(format!("job {arg0} {arg1}"));
    }
    fn r#move(&mut self, x: i32, y: i32) {
        self.0.push(format!("move {x} {y}"));
    }
    fn urgent(&mut self) {
        self.0.push("urgent".into());
    }
    fn count(&mut self, n: u32) {
        self.0.push(format!("count {n}"));
    }
    fn blob(&mut self, bytes: Vec<u8>) {
        self.0.push(format!("blob {bytes:?}"));
    }
    fn line(&mut self, line: String) {
        self.0.push(format!("line {line}"));
    }
}

fn main() {
    let kinds: Vec<(CmdKind, i64)> = CmdKind::ALL.iter().map(|k| (*k, k.mtype())).collect();
    assert_eq!(
        kinds,
        [
            (CmdKind::Reload, 100),
            (CmdKind::Job, 101),
            (CmdKind::Move, 102),
            (CmdKind::Urgent, 10),
            (CmdKind::Count, 11),
            (CmdKind::Blob, 12),
            (CmdKind::Line, 13),
        ]
    );
    assert_eq!(CmdKind::from_mtype(102), Some(CmdKind::Move));
    assert_eq!(CmdKind::from_mtype(1), None);
    assert_eq!(CmdKind::Job.name(), "Job");
    assert_eq!(i64::from(CmdKind::Urgent), 10);
    assert_eq!(Cmd::Urgent.mtype(), 10);

    let messages = vec![
        Cmd::Reload,
        Cmd::Job(7, "/srv/in/7".into()),
        Cmd::Move { x: -1, y: 2 },
        Cmd::Urgent,
        Cmd::Count(42),
        Cmd::Blob(vec![0, 255, 10]),
        Cmd::Line {
            line: "héllo".into(),
        },
    ];
    let q = TypedQueue::<Cmd>::create(Key::private()).unwrap();
    for msg in &messages {
        q.send(msg).unwrap();
        assert_eq!(q.recv().unwrap(), *msg);
    }

    for msg in &messages {
        q.send(msg).unwrap();
    }
    let mut log = Log::default();
    for _ in &messages {
        ipcq::Dispatch::dispatch(q.recv().unwrap(), &mut log);
    }
    assert_eq!(
        log.0,
        [
            "reload",
            "job 7 /srv/in/7",
            "move -1 2",
            "urgent",
            "count 42",
            "blob [0, 255, 10]",
            "line héllo",
        ]
    );
    q.remove().unwrap();
}
