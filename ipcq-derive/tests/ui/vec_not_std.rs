use ipcq::QueueMessage;
use std::collections::VecDeque;

// A crate's own type named `Vec`.
type Vec<T> = VecDeque<T>;

#[derive(QueueMessage, Debug, PartialEq)]
enum Cmd {
    Data(Vec<u8>),
}

fn main() {}
