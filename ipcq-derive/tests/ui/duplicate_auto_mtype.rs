use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    Start,
    Pause,
    #[ipcq(mtype = 2)]
    Stop,
}

fn main() {}
