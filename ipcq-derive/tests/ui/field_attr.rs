use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd {
    Job(#[ipcq(mtype = 3)] u32),
    Named {
        #[ipcq(text)]
        name: String,
    },
}

fn main() {}
