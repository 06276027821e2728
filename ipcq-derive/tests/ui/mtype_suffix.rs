use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    #[ipcq(mtype = 300u8)]
    Start,
    // Numbered on from an unreadable mtype: no second, guessed error here.
    Stop,
}

fn main() {}
