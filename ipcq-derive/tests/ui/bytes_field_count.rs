use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    #[ipcq(bytes)]
    Nothing {},
    #[ipcq(bytes)]
    Pair { head: Vec<u8>, tail: Vec<u8> },
}

fn main() {}
