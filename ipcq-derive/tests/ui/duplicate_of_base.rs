// The first variant takes the enum's base; the error says so, not that it
// was counted on from a variant before it.
use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize)]
#[ipcq(base = 5)]
enum Cmd {
    A,
    B,
    #[ipcq(mtype = 5)]
    C,
}

fn main() {}
