use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(base = 0, color = 1)]
enum Cmd {
    #[ipcq(mtype = 7)]
    Start,
    #[ipcq(mtype = 7)]
    Stop,
    #[ipcq(text)]
    Empty,
    #[ipcq(base = 2)]
    Pause = 9,
}

fn main() {}
