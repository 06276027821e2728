use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq]
enum Cmd {
    #[ipcq]
    Start,
    #[ipcq(mtype)]
    Stop,
}

fn main() {}
