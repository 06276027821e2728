#![deny(warnings)]

// Another crate's derive named `Debug` in scope (derive_more's, say): the
// generated Kind derives std's by path.
use serde::Serialize as Debug;

use ipcq::{Key, QueueMessage, TypedQueue};
use serde::Deserialize;

/// Status codes shared with a C program, `as u8`: a discriminant is the
/// user's own when the variant has its mtype written.
#[repr(u8)]
#[derive(QueueMessage, Debug, Deserialize, PartialEq, Clone, Copy)]
enum Status {
    #[ipcq(mtype = 1)]
    Up = 10,
    #[ipcq(mtype = 2)]
    Down = 20,
}

fn main() {
    assert_eq!(Status::Down as u8, 20);
    assert_eq!(StatusKind::Down.mtype(), 2);
    assert_eq!(format!("{:?}", StatusKind::Up), "Up");
    let q = TypedQueue::<Status>::create(Key::private()).unwrap();
    q.send(Status::Down).unwrap();
    q.send(Status::Up).unwrap();
    // Lowest mtype first. (`Debug` here is serde's `Serialize`, so `Status`
    // has no `Debug` for `assert_eq!`.)
    assert!(q.recv_priority(StatusKind::Down).unwrap() == Status::Up);
    assert!(q.recv().unwrap() == Status::Down);
    q.remove().unwrap();
}
