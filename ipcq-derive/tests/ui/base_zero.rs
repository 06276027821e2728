use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(base = 0)]
enum Cmd {
    Start,
}

fn main() {}
