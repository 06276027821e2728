#![deny(warnings)]

use ipcq::{Dispatch, Key, QueueMessage, TypedQueue};
use serde::{Deserialize, Serialize};

// Field names that the generated code must not clash with.
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Msg {
    Named {
        body: String,
        handler: u32,
        mtype: i64,
        kind: u8,
        arg0: bool,
        r#type: char,
    },
    Tuple(String, u32),
    #[ipcq(text)]
    Text {
        body: u64,
    },
    #[ipcq(bytes)]
    Bytes {
        mtype: Vec<u8>,
    },
}

#[derive(Default)]
struct Got(Vec<Msg>);

impl MsgHandler for Got {
    fn named(
        &mut self,
        body: String,
        handler: u32,
        mtype: i64,
        kind: u8,
        arg0: bool,
        r#type: char,
    ) {
        self.0.push(Msg::Named {
            body,
            handler,
            mtype,
            kind,
            arg0,
            r#type,
        });
    }
    fn tuple(&mut self, arg0: String, arg1: u32) {
        self.0.push(Msg::Tuple(arg0, arg1));
    }
    fn text(&mut self, body: u64) {
        self.0.push(Msg::Text { body });
    }
    fn bytes(&mut self, mtype: Vec<u8>) {
        self.0.push(Msg::Bytes { mtype });
    }
}

fn main() {
    let messages = vec![
        Msg::Named {
            body: "body".into(),
            handler: 2,
            mtype: -3,
            kind: 4,
            arg0: true,
            r#type: 'x',
        },
        Msg::Tuple("tuple".into(), 5),
        Msg::Text { body: 6 },
        Msg::Bytes { mtype: vec![7, 8] },
    ];
    let q = TypedQueue::<Msg>::create(Key::private()).unwrap();
    let mut got = Got::default();
    for msg in &messages {
        q.send(msg).unwrap();
        let back = q.recv().unwrap();
        assert_eq!(back, *msg);
        back.dispatch(&mut got);
    }
    assert_eq!(got.0, messages);
    assert_eq!(messages[0].mtype(), 1);
    q.remove().unwrap();
}
