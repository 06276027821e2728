// Numbering that runs past the largest mtype is one mistake, reported once,
// not once for every variant after it.
use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize)]
#[ipcq(base = 9223372036854775806)]
enum Cmd {
    A,
    B,
    C,
    D,
}

fn main() {}
