use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

// One error, at the misspelling: not a second one about `Start` taking the
// mtype 1 that `Stop` has, which would only follow from the missing base.
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(bsae = 100)]
enum Cmd {
    Start,
    #[ipcq(mtype = 1)]
    Stop,
}

fn main() {}
