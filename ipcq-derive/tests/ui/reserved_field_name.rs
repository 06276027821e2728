use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    Job { __ipcq_body: u32, id: u64 },
    Stop { r#__ipcq_handler: bool },
}

fn main() {}
