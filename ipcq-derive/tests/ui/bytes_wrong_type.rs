use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    #[ipcq(bytes)]
    Blob(Vec<u16>),
}

fn main() {}
