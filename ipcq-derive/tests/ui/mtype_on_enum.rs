use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(mtype = 10)]
#[ipcq(bytes)]
enum Cmd {
    Start,
}

fn main() {}
