use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    #[ipcq(bytes)]
    Blob([u8; 4]),
}

fn main() {}
