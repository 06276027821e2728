use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    #[ipcq(text)]
    Nothing,
    #[ipcq(text)]
    Pair(u32, u32),
}

fn main() {}
