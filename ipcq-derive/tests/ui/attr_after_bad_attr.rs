// An attribute that fails to parse gives no `mtype` or `base`: one in a
// later attribute is the first, not a duplicate. Only the bad key is an error.
use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize)]
#[ipcq(kind = 5)]
#[ipcq(base = 3)]
enum Cmd {
    A,
    #[ipcq(colour)]
    #[ipcq(mtype = 5)]
    B,
}

fn main() {}
