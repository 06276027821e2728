#![deny(warnings)]
#![allow(non_camel_case_types)]

use ipcq::{Key, QueueMessage, TypedQueue};
use serde::{Deserialize, Serialize};

// Field types with the names generic parameters of generated code often
// take: the generated code must not hide them.
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct __C(u8);
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct __E(u16);
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct __H(u32);
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct C(i8);
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct E(i16);

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Msg {
    Codec(__C, C),
    Error { error: __E, e: E, reason: u8, or_else: u8 },
    Handler(__H),
}

fn main() {
    let messages = vec![
        Msg::Codec(__C(1), C(-1)),
        Msg::Error {
            error: __E(2),
            e: E(-2),
            reason: 3,
            or_else: 4,
        },
        Msg::Handler(__H(5)),
    ];
    let q = TypedQueue::<Msg>::create(Key::private()).unwrap();
    for msg in &messages {
        q.send(msg).unwrap();
        assert_eq!(q.recv().unwrap(), *msg);
    }
    q.remove().unwrap();
}
