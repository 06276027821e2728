// One mistake gives one error: the stand-ins the derive emits beside it have
// every item of the real Kind, so the code that uses them adds none.
use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    #[ipcq(mtype = 3)]
    A,
    #[ipcq(mtype = 3)]
    B,
}

fn main() {
    let kind = CmdKind::A;
    let _: i64 = kind.mtype();
    let _: &str = kind.name();
    let _: &[CmdKind] = CmdKind::ALL;
    let _: Option<CmdKind> = CmdKind::from_mtype(3);
    let _: String = kind.to_string();
    let _: i64 = i64::from(kind);
}
