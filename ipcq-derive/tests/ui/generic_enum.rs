use ipcq::QueueMessage;
use serde::{Deserialize, Serialize};

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Cmd<T, const N: usize> {
    Job(T),
    Batch(Vec<T>),
}

fn main() {}
