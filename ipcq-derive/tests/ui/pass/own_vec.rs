#![deny(warnings)]

use std::collections::VecDeque;

use ipcq::{Key, QueueMessage, TypedQueue};

// A crate's own type named `Vec`, named by a path the derive does not read
// as std's `Vec<u8>`: it goes to serde as it is.
type Vec<T> = VecDeque<T>;

#[derive(QueueMessage, Debug, PartialEq, Clone)]
enum Msg {
    Own(self::Vec<u8>),
    Std(std::vec::Vec<u8>),
}

fn main() {
    let q = TypedQueue::<Msg>::create(Key::private()).unwrap();
    let messages = [
        Msg::Own(VecDeque::from([1, 2, 3])),
        Msg::Std(std::vec![4, 5]),
    ];
    for m in &messages {
        q.send(m).unwrap();
    }
    for m in messages {
        assert_eq!(q.recv().unwrap(), m);
    }
    q.remove().unwrap();
}
