use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(prefix = 3)]
enum Cmd {
    Start,
}

fn main() {}
