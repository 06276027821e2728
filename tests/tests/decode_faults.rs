//! Messages that are not what the receiver expects: other versions of the
//! enum, unknown mtypes, foreign bytes, another codec. None is decoded into a
//! wrong value and none is lost: each comes back with its mtype and bytes.

use ipcq::{Codec, DecodeReason, Error, Postcard, QueueMessage, Selector, TypedQueue};
use serde::{Deserialize, Serialize};
use tests::TestQueue;

use tests::messages::{ByteBuf, Work};

/// The enum as an older build declared it.
mod v1 {
    use super::*;

    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    pub(crate) enum Cmd {
        Reload,
        Job { id: u32 },
    }
}

/// The same enum, a version later: `Job` changed its fields.
mod v2 {
    use super::*;

    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    pub(crate) enum Cmd {
        Reload,
        Job { id: u64, name: String },
    }
}

fn decode_error<T: std::fmt::Debug>(result: ipcq::Result<T>) -> ipcq::DecodeError {
    match result {
        Err(Error::Decode(e)) => e,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn a_sender_built_from_another_version_is_detected_and_named() {
    let raw = TestQueue::new();
    let old = TypedQueue::<v1::Cmd>::from_queue((*raw).clone());
    let new = TypedQueue::<v2::Cmd>::from_queue((*raw).clone());

    // The same bytes twice: one to look at, one for the new receiver.
    old.send(v1::Cmd::Job { id: 7 }).unwrap();
    let sent = raw.recv(Selector::Any).unwrap();
    raw.send(sent.mtype, &sent.body).unwrap();

    let e = decode_error(new.recv());
    assert!(
        matches!(
            e.reason(),
            DecodeReason::SchemaMismatch { variant: "Job", .. }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("different versions of the message enum"),
        "{e}"
    );
    assert_eq!((e.mtype(), e.bytes()), (sent.mtype, &sent.body[..]));
    assert_eq!(e.into_message(), sent);

    // Variants whose definition did not change still pass between versions.
    old.send(v1::Cmd::Reload).unwrap();
    assert_eq!(new.recv().unwrap(), v2::Cmd::Reload);
}

#[test]
fn an_unknown_mtype_comes_back_whole() {
    let raw = TestQueue::new();
    let q = TypedQueue::<Work>::from_queue((*raw).clone());
    raw.send(99, b"from a newer build").unwrap();
    let e = decode_error(q.recv());
    assert_eq!(e.reason(), &DecodeReason::UnknownType);
    assert_eq!((e.mtype(), e.bytes()), (99, &b"from a newer build"[..]));
    // It was taken off the queue, and handed to the caller: nothing stays to spin on.
    assert_eq!(raw.stat().unwrap().messages, 0);
    assert!(
        e.to_string()
            .starts_with("cannot decode a message of mtype 99 (18 bytes):"),
        "{e}"
    );
    raw.send(98, b"!").unwrap();
    let e = decode_error(q.recv());
    assert!(
        e.to_string()
            .starts_with("cannot decode a message of mtype 98 (1 byte):"),
        "{e}"
    );
}

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Upload {
    File { name: String, data: ByteBuf },
}

#[test]
fn a_length_prefix_beyond_the_body_is_refused_and_the_message_returned() {
    let raw = TestQueue::new();
    let q = TypedQueue::<Upload>::from_queue((*raw).clone());
    let file = Upload::File {
        name: "a.txt".into(),
        data: ByteBuf(vec![1, 2, 3]),
    };
    q.send(&file).unwrap();
    let sent = raw.recv(Selector::Any).unwrap();
    // Owned strings and byte buffers decode from the body in place.
    raw.send(sent.mtype, &sent.body).unwrap();
    assert_eq!(q.recv().unwrap(), file);

    // The same header, then a name of 1 byte and data claiming 2^30 bytes.
    let mut lie = sent.body[..6].to_vec();
    lie.extend_from_slice(&[1, b'a', 0xfd]);
    lie.extend_from_slice(&(1u64 << 30).to_le_bytes());
    raw.send(sent.mtype, &lie).unwrap();
    let e = decode_error(q.recv());
    assert!(
        matches!(e.reason(), DecodeReason::Body { variant: "File", error }
            if error.to_string().contains("the body ends before the value does")),
        "{e}"
    );
    assert_eq!((e.mtype(), e.bytes()), (sent.mtype, &lie[..]));
}

#[test]
fn foreign_bytes_on_a_typed_mtype_are_reported_not_decoded() {
    let raw = TestQueue::new();
    let q = TypedQueue::<Work>::from_queue((*raw).clone());
    let job = Work::Job {
        id: 1,
        payload: String::new(),
    }
    .mtype();
    // Too short for the header.
    raw.send(job, b"hi").unwrap();
    let e = decode_error(q.recv());
    assert!(
        matches!(e.reason(), DecodeReason::MissingHeader { len: 2, .. }),
        "{e}"
    );
    // A header from another wire version.
    raw.send(job, &[9, 1, 0, 0, 0, 0, 1]).unwrap();
    assert!(matches!(
        decode_error(q.recv()).reason(),
        DecodeReason::WireVersion { found: 9, .. }
    ));
    // A text variant whose body is not UTF-8.
    raw.send(3, &[0xff, 0xfe]).unwrap();
    let e = decode_error(q.recv());
    assert!(
        matches!(e.reason(), DecodeReason::Text { variant: "Log", .. }),
        "{e}"
    );
    assert_eq!(e.bytes(), [0xff, 0xfe]);
}

#[test]
fn a_worker_loop_returns_an_undecodable_message_and_goes_on_after_it() {
    let raw = TestQueue::new();
    let q = TypedQueue::<Work>::from_queue((*raw).clone());
    q.send(Work::Urgent(1)).unwrap();
    raw.send(77, b"poison").unwrap();
    q.send(Work::Urgent(2)).unwrap();
    q.send(Work::Stop).unwrap();

    let mut seen = Vec::new();
    let mut dead_letters = Vec::new();
    loop {
        let result = q.serve_fn(|msg| match msg {
            Work::Stop => q.remove().unwrap(),
            other => seen.push(other),
        });
        match result {
            Ok(()) => break,
            Err(Error::Decode(e)) => dead_letters.push(e.into_message()),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(seen, [Work::Urgent(1), Work::Urgent(2)]);
    assert_eq!(
        dead_letters,
        [ipcq::Message {
            mtype: 77,
            body: b"poison".to_vec()
        }]
    );

    // iter() yields the error as an item and goes on too.
    let raw = TestQueue::new();
    let q = TypedQueue::<Work>::from_queue((*raw).clone());
    raw.send(77, b"poison").unwrap();
    q.send(Work::Urgent(3)).unwrap();
    let items: Vec<_> = q.try_iter().collect();
    assert!(matches!(items[0], Err(Error::Decode(_))));
    assert_eq!(items[1].as_ref().unwrap(), &Work::Urgent(3));
}

#[test]
fn another_codec_carries_the_same_enum_and_a_mismatch_is_caught() {
    let raw = TestQueue::new();
    let pq = TypedQueue::<Work, Postcard>::from_queue((*raw).clone());
    let bq = TypedQueue::<Work>::from_queue((*raw).clone());
    let msg = Work::Job {
        id: 300,
        payload: "via postcard".into(),
    };
    pq.send(&msg).unwrap();
    assert_eq!(pq.recv().unwrap(), msg);

    pq.send(&msg).unwrap();
    let e = decode_error(bq.recv());
    assert!(
        matches!(
            e.reason(),
            DecodeReason::Codec {
                expected: 1,
                expected_name: "bincode 2 (standard)",
                found: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("encoded with codec 0x02, this queue uses codec 0x01 (bincode 2 (standard))"),
        "{e}"
    );
    // Interop variants carry no header, so every codec reads them alike.
    pq.send(Work::Log("plain".into())).unwrap();
    assert_eq!(bq.recv().unwrap(), Work::Log("plain".into()));
}

/// A field type that contains itself: one level of nesting per byte of body.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Chain {
    End,
    Link(Box<Chain>),
}

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Nested {
    Chain(Chain),
}

/// Sends `Nested` bodies 8,000 levels deep, then a shallow one, through `C`
/// and receives both on a thread with a spawned thread's default 2 MiB
/// stack: the deep one must come back as a decode error, whole, saying why
/// in ipcq's words, and the next must decode. (Without the depth limit the
/// thread overflows its stack and the test process aborts.)
fn deep_body_is_refused<C: Codec + Send + Sync + 'static>() {
    let raw = TestQueue::new();
    let q = TypedQueue::<Nested, C>::from_queue((*raw).clone());
    let shallow = Nested::Chain(Chain::Link(Box::new(Chain::End)));
    q.send(&shallow).unwrap();
    let sent = raw.recv(Selector::Any).unwrap();

    // The same header, then 8,000 links and the end: 8,007 bytes, within the
    // default msgmax (a link is the byte 1 and the end the byte 0 in both
    // bincode and postcard).
    let mut deep = sent.body[..6].to_vec();
    deep.extend(std::iter::repeat_n(1, 8000));
    deep.push(0);
    raw.send(sent.mtype, &deep).unwrap();
    q.send(&shallow).unwrap();

    let receiver = q.clone();
    let (first, second) = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || (receiver.recv(), receiver.recv()))
        .unwrap()
        .join()
        .unwrap();
    let e = decode_error(first);
    assert!(
        matches!(e.reason(), DecodeReason::Body { variant: "Chain", error }
            if error.to_string().starts_with("values nest more than 128 levels deep")),
        "{e}"
    );
    assert_eq!((e.mtype(), e.bytes()), (sent.mtype, &deep[..]));
    // The queue goes on: the next message decodes.
    assert_eq!(second.unwrap(), shallow);
}

#[test]
fn a_body_nested_deeper_than_the_limit_is_refused_not_a_stack_overflow() {
    deep_body_is_refused::<ipcq::Bincode>();
    // postcard words every error raised through serde as "Serde
    // Deserialization Error"; the error says which bound was crossed all the
    // same.
    deep_body_is_refused::<Postcard>();
}

#[test]
fn a_codec_without_bounds_of_its_own_decodes_within_ipcqs() {
    // A sequence of `()` claiming 2^30 elements, in postcard's varint: each
    // element takes no byte, so only the item budget stops the loop.
    let claim = [0x80, 0x80, 0x80, 0x80, 0x04];
    let error = Postcard::decode::<Vec<()>>(&claim).unwrap_err().to_string();
    assert!(
        error.starts_with("more sequence elements and map entries than the body has bytes"),
        "{error}"
    );
    // Errors that cross no bound stay the format's own.
    let error = Postcard::decode::<(u8, u8)>(&[1]).unwrap_err().to_string();
    assert_eq!(error, "Hit the end of buffer, expected more data");
}
