use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    Hello(&'static str),
    Data { bytes: &'static [u8] },
}

fn main() {}
