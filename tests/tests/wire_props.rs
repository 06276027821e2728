//! Property tests of the typed encoding, on a real queue.

use ipcq::{Error, QueueMessage, Selector, TypedQueue};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use tests::TestQueue;

#[derive(QueueMessage, Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Rich {
    Unit,
    Ints(u8, i16, u32, i64, u128),
    Text {
        s: String,
        c: char,
    },
    Lists {
        v: Vec<u16>,
        o: Option<Vec<String>>,
        pairs: Vec<(bool, i8)>,
    },
    Float(f32),
    #[ipcq(text)]
    Number(i64),
    #[ipcq(bytes)]
    Raw(Vec<u8>),
    /// `Vec<u8>` fields go to the codec as byte strings.
    Blobs {
        a: Vec<u8>,
        n: u16,
        b: std::vec::Vec<u8>,
    },
}

fn rich() -> impl Strategy<Value = Rich> {
    prop_oneof![
        Just(Rich::Unit),
        (
            any::<u8>(),
            any::<i16>(),
            any::<u32>(),
            any::<i64>(),
            any::<u128>()
        )
            .prop_map(|(a, b, c, d, e)| Rich::Ints(a, b, c, d, e)),
        (".{0,40}", any::<char>()).prop_map(|(s, c)| Rich::Text { s, c }),
        (
            prop::collection::vec(any::<u16>(), 0..50),
            prop::option::of(prop::collection::vec(".{0,8}", 0..5)),
            prop::collection::vec(any::<(bool, i8)>(), 0..10),
        )
            .prop_map(|(v, o, pairs)| Rich::Lists { v, o, pairs }),
        // NaN is not equal to itself; every other float must survive.
        any::<f32>()
            .prop_filter("not NaN", |f| !f.is_nan())
            .prop_map(Rich::Float),
        any::<i64>().prop_map(Rich::Number),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Rich::Raw),
        blobs(),
    ]
}

fn blobs() -> impl Strategy<Value = Rich> {
    (
        prop::collection::vec(any::<u8>(), 0..300),
        any::<u16>(),
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(a, n, b)| Rich::Blobs { a, n, b })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_value_round_trips(msgs in prop::collection::vec(rich(), 1..8)) {
        let raw = TestQueue::new();
        let q = TypedQueue::<Rich>::from_queue((*raw).clone());
        for msg in &msgs {
            q.send(msg).unwrap();
        }
        for msg in &msgs {
            prop_assert_eq!(&q.recv().unwrap(), msg);
        }
    }

    /// A `Vec<u8>` field is written as a byte string, which in bincode is
    /// the same bytes as the sequence serde makes of a `Vec<u8>`: bodies
    /// from builds that sent it element by element, and from programs that
    /// follow docs/WIRE.md, read the same.
    #[test]
    fn byte_vec_fields_are_bincodes_bytes_for_a_sequence(msg in blobs()) {
        let Rich::Blobs { a, n, b } = &msg else { unreachable!() };
        let fields = bincode::serde::encode_to_vec((a, n, b), bincode::config::standard()).unwrap();
        let raw = TestQueue::new();
        let q = TypedQueue::<Rich>::from_queue((*raw).clone());
        q.send(&msg).unwrap();
        let sent = raw.try_recv(Selector::Any).unwrap().unwrap();
        let (header, body) = sent.body.split_at(ipcq::HEADER_LEN);
        prop_assert_eq!(body, &fields[..]);
        // The same bytes sent by hand read back as the message.
        raw.send(sent.mtype, &[header, &fields[..]].concat()).unwrap();
        prop_assert_eq!(q.recv().unwrap(), msg);
    }

    /// A foreign sender's random bytes: either an error that carries exactly
    /// what was sent, or a value that is really there (it survives its own
    /// round trip; text variants may normalise, "+5" reads as 5).
    #[test]
    fn foreign_bytes_give_the_raw_message_or_a_stable_value(
        mtype in 1i64..10,
        body in prop::collection::vec(any::<u8>(), 0..64),
        header in any::<bool>(),
    ) {
        let raw = TestQueue::new();
        let q = TypedQueue::<Rich>::from_queue((*raw).clone());
        // Half the time, start with a valid header for the mtype so the
        // codec itself is fed random bytes.
        let mut sent = Vec::new();
        if header {
            q.send(template(mtype)).ok();
            if let Some(m) = raw.try_recv(Selector::Any).unwrap() {
                sent.extend_from_slice(&m.body[..m.body.len().min(ipcq::HEADER_LEN)]);
            }
        }
        sent.extend_from_slice(&body);
        raw.send(mtype, &sent).unwrap();
        match q.recv() {
            Ok(value) => {
                prop_assert_eq!(value.mtype(), mtype);
                q.send(&value).unwrap();
                prop_assert_eq!(q.recv().unwrap(), value);
            }
            Err(Error::Decode(e)) => {
                prop_assert_eq!(e.mtype(), mtype);
                prop_assert_eq!(e.bytes(), &sent[..]);
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}

/// A message of each mtype, for its header.
fn template(mtype: i64) -> Rich {
    match mtype {
        1 => Rich::Unit,
        2 => Rich::Ints(0, 0, 0, 0, 0),
        3 => Rich::Text {
            s: String::new(),
            c: 'a',
        },
        4 => Rich::Lists {
            v: vec![],
            o: None,
            pairs: vec![],
        },
        5 => Rich::Float(0.0),
        6 => Rich::Number(0),
        7 => Rich::Raw(vec![]),
        _ => Rich::Blobs {
            a: vec![],
            n: 0,
            b: vec![],
        },
    }
}
