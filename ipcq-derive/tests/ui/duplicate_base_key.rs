use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(base = 3)]
#[ipcq(base = 4)]
enum Cmd {
    Start,
}

fn main() {}
