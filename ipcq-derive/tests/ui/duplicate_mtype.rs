use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    #[ipcq(mtype = 5)]
    Start,
    #[ipcq(mtype = 5)]
    Stop,
}

fn main() {}
