use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

// The first variant's own mtype leaves `base` nothing to number.
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(base = 100)]
enum Cmd {
    #[ipcq(mtype = 1)]
    Start,
    Stop,
}

fn main() {}
