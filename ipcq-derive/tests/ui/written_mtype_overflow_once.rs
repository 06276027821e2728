// A written mtype past the largest is one mistake: the variants numbered on
// from it are not reported as well.
use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize)]
enum Cmd {
    #[ipcq(mtype = 9223372036854775808)]
    X,
    Y,
    Z,
}

fn main() {}
