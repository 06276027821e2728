// An attribute that fails to parse part-way may have held the variant's
// mtype: the variant's mtype is unknown, and no duplicate is made up from a
// guess (B was not numbered 2 and then found to clash with D).
use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize)]
enum Cmd {
    A,
    #[ipcq(colour, mtype = 5)]
    B,
    #[ipcq(mtype = 2)]
    D,
}

fn main() {}
