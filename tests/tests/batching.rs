//! Batches: `send_batch` packs many messages of one variant into few System V
//! messages, and every receive hands them out one by one, in order, with
//! every selection, across processes, through stops and removal.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use ipcq::{
    BATCH_MARKER, Bincode, DecodeReason, Error, HEADER_LEN, Message, QueueMessage, Selector,
    StopHandle, TypedQueue,
};
use serde::{Deserialize, Serialize};
use tests::messages::{Work, WorkKind};
use tests::{TestQueue, job, peer};

fn typed(q: &TestQueue) -> TypedQueue<Work> {
    q.typed()
}

fn urgents(ids: std::ops::Range<u32>) -> Vec<Work> {
    ids.map(Work::Urgent).collect()
}

/// Every message waiting now, one by one.
fn drain(q: &TypedQueue<Work>) -> Vec<Work> {
    q.try_iter().map(Result::unwrap).collect()
}

/// The item count of a raw batch.
fn batch_count(body: &[u8]) -> u32 {
    assert_eq!(body[0], BATCH_MARKER, "not a batch: {body:02x?}");
    u32::from_le_bytes(body[1..5].try_into().unwrap())
}

#[test]
fn runs_of_one_variant_travel_together_and_come_out_in_order() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    let sent = vec![
        Work::Urgent(1),
        Work::Urgent(2),
        Work::Urgent(3),
        job(1),
        job(2),
        Work::Log("text".into()),
        Work::Urgent(4),
        job(3),
        Work::Stop,
        Work::Stop,
    ];
    // Urgent×3 | Job×2 | Log | Urgent | Job | Stop×2: never reordered.
    assert_eq!(q.send_batch(&sent).unwrap(), 6);
    assert_eq!(raw.stat().unwrap().messages, 6);
    assert_eq!(drain(&q), sent);
    assert_eq!(q.pending(), 0);

    // By value, from any iterator.
    assert_eq!(q.send_batch((0..50).map(Work::Urgent)).unwrap(), 1);
    let got: Vec<Work> = (0..50).map(|_| q.recv().unwrap()).collect();
    assert_eq!(got, urgents(0..50));
    assert_eq!(q.send_batch(Vec::<Work>::new()).unwrap(), 0);
    assert_eq!(q.try_recv().unwrap(), None);
}

#[test]
fn a_lone_message_is_sent_as_a_plain_one() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    assert_eq!(q.send_batch([Work::Urgent(7)]).unwrap(), 1);
    let plain = raw.recv(Selector::Any).unwrap();
    assert_eq!(plain.body[0], ipcq::WIRE_VERSION);
    assert_eq!(
        Work::decode_body::<Bincode>(plain.mtype, &plain.body),
        Ok(Work::Urgent(7))
    );
}

#[test]
fn every_selection_sees_buffered_messages_first_and_by_variant() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    q.send_batch([job(1), job(2), job(3)]).unwrap();
    q.send_batch(urgents(10..14)).unwrap();
    q.send(Work::Stop).unwrap();

    // Takes the Urgent batch past the Job one; the rest of it is buffered.
    assert_eq!(q.recv_kind(WorkKind::Urgent).unwrap(), Work::Urgent(10));
    assert_eq!(q.pending(), 3);
    // recv() hands out buffered messages before receiving: Urgent 11, not Job 1.
    assert_eq!(q.recv().unwrap(), Work::Urgent(11));
    // Now the Job batch, from the kernel queue.
    assert_eq!(q.recv_kind(WorkKind::Job).unwrap(), job(1));
    assert_eq!(q.pending(), 4); // Urgent 12, 13 and Job 2, 3
    // Priority: the lowest buffered mtype (Urgent, 1) first.
    assert_eq!(q.recv_priority(WorkKind::Stop).unwrap(), Work::Urgent(12));
    // Except Urgent: a buffered Job, not the Stop still on the queue.
    assert_eq!(q.recv_except(WorkKind::Urgent).unwrap(), job(2));
    assert_eq!(
        q.try_recv_by(Selector::Type(WorkKind::Stop.mtype()))
            .unwrap(),
        Some(Work::Stop)
    );
    assert_eq!(
        q.recv_timeout(Duration::from_millis(10)).unwrap(),
        Some(Work::Urgent(13))
    );
    assert_eq!(q.try_recv_by(Selector::UpTo(1)).unwrap(), None);
    assert_eq!(q.try_recv().unwrap(), Some(job(3)));
    assert_eq!(q.try_recv().unwrap(), None);
    assert_eq!(q.pending(), 0);
    // A selector the kernel would refuse is refused with messages buffered too.
    q.send_batch(urgents(0..2)).unwrap();
    q.recv().unwrap();
    assert!(matches!(
        q.try_recv_by(Selector::Type(0)),
        Err(Error::InvalidArgument { .. })
    ));
    assert_eq!(q.recv().unwrap(), Work::Urgent(1));
}

#[test]
fn a_more_urgent_message_on_the_queue_comes_before_buffered_ones() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    q.send_batch([job(1), job(2)]).unwrap();
    assert_eq!(q.recv().unwrap(), job(1)); // Job 2 buffered
    q.send(Work::Urgent(9)).unwrap();
    // Urgent (mtype 1) beats the buffered Job (mtype 2) for recv_priority...
    assert_eq!(q.recv_priority(WorkKind::Stop).unwrap(), Work::Urgent(9));
    assert_eq!(q.recv_priority(WorkKind::Stop).unwrap(), job(2));
    // ...and a buffered Job beats a newer Job on the queue.
    q.send_batch([job(3), job(4)]).unwrap();
    assert_eq!(q.recv().unwrap(), job(3));
    q.send(job(5)).unwrap();
    assert_eq!(q.recv_priority(WorkKind::Job).unwrap(), job(4));
    assert_eq!(q.recv_priority(WorkKind::Job).unwrap(), job(5));
}

#[test]
fn batches_are_cut_at_the_send_limit() {
    for capacity in [None, Some(600)] {
        let raw = TestQueue::with(|o| {
            if let Some(c) = capacity {
                o.capacity(c);
            }
        });
        let q = typed(&raw);
        let limit = raw.max_message_size();
        // Jobs of 18 to 21 bytes each, about 3.5 limits' worth.
        let n = (limit * 7 / 2 / 20) as u64;
        let sent: Vec<Work> = (0..n).map(job).collect();
        let sender = {
            let q = q.clone();
            let sent = sent.clone();
            std::thread::spawn(move || q.send_batch(&sent).unwrap())
        };
        // Take the batches raw, to look at them.
        let mut batches: Vec<Message> = Vec::new();
        let mut items = 0;
        while items < n {
            let msg = raw.recv(Selector::Any).unwrap();
            items += u64::from(batch_count(&msg.body));
            batches.push(msg);
        }
        assert_eq!(sender.join().unwrap(), batches.len());
        assert!(batches.len() >= 4, "{} batches", batches.len());
        for (i, b) in batches.iter().enumerate() {
            assert!(
                b.body.len() <= limit,
                "batch {i}: {} > {limit}",
                b.body.len()
            );
            if i + 1 < batches.len() {
                // Full: the next item (at most 22 bytes framed) would not have fit.
                assert!(
                    b.body.len() + 22 > limit,
                    "batch {i} is {} bytes",
                    b.body.len()
                );
            }
        }
        // Put them back one at a time: each unpacks into its messages, in order.
        let mut got = Vec::new();
        for b in &batches {
            raw.send(b.mtype, &b.body).unwrap();
            got.extend(drain(&q));
        }
        assert_eq!(got, sent, "capacity {capacity:?}");
    }
}

#[test]
fn a_thousand_messages_in_a_few_sysv_messages_arrive_one_by_one_in_another_process() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    let mut child = peer!("recv-work", raw.key_arg(), "1000")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let sysv = q.send_batch(urgents(0..1000)).unwrap();
    // Items are 8 to 10 bytes: the thousand fit in two 8 KiB messages.
    assert!(sysv <= 3, "{sysv} SysV messages");
    let got: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(child.wait().unwrap().success());
    let want: Vec<String> = (0..1000).map(|n| format!("Urgent({n})")).collect();
    assert_eq!(got, want);

    // The other way round: another process batches, this one unpacks.
    let out = tests::run_ok(peer!("send-batch", raw.key_arg(), "0", "999"));
    assert_eq!(out.trim(), format!("sent in {sysv}"));
    assert_eq!(drain(&q), urgents(0..1000));
}

#[test]
fn text_and_bytes_variants_are_never_batched() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    let logs: Vec<Work> = ["a", "b", "c"].map(|s| Work::Log(s.into())).into();
    assert_eq!(q.send_batch(&logs).unwrap(), 3);
    // Each is its bare text, as a C or PHP reader expects.
    for text in ["a", "b", "c"] {
        let msg = raw.recv(Selector::Any).unwrap();
        assert_eq!((msg.mtype, &msg.body[..]), (3, text.as_bytes()));
    }
    // A text message between two typed ones splits the run.
    let mixed = [Work::Urgent(1), Work::Log("x".into()), Work::Urgent(2)];
    assert_eq!(q.send_batch(&mixed).unwrap(), 3);
    assert_eq!(drain(&q), mixed);

    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    enum Raw {
        #[ipcq(bytes)]
        Blob(Vec<u8>),
    }
    let q = TypedQueue::<Raw>::from_queue((*raw).clone());
    // Even bodies that start with the batch marker are plain bytes.
    let blobs = [Raw::Blob(vec![BATCH_MARKER, 2, 0, 0, 0]), Raw::Blob(vec![])];
    assert_eq!(q.send_batch(&blobs).unwrap(), 2);
    assert_eq!(q.try_iter().map(Result::unwrap).collect::<Vec<_>>(), blobs);
}

/// `Urgent` as another build declared it, to make items that do not decode.
mod other {
    use super::*;

    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    pub(crate) enum Work {
        Urgent(u64),
    }
}

#[test]
fn a_receiver_that_does_not_unpack_batches_gets_a_clear_error_with_the_bytes() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    q.send_batch(urgents(0..3)).unwrap();
    let batch = raw.recv(Selector::Any).unwrap();
    assert_eq!(batch.mtype, 1);
    assert_eq!(batch_count(&batch.body), 3);
    // What a receiver built before batching does with it: decode it as one
    // typed body. Byte 0 is no wire version it knows; nothing is misread.
    let reason = Work::decode_body::<Bincode>(batch.mtype, &batch.body).unwrap_err();
    assert_eq!(
        reason,
        DecodeReason::WireVersion {
            variant: "Urgent",
            expected: 1,
            found: 0x81
        }
    );
    assert!(
        reason.to_string().contains("wire format version 129"),
        "{reason}"
    );

    // A malformed batch comes back whole, and nothing of it is buffered.
    let mut bad = batch.body.clone();
    bad[1] = 4; // claims four items, holds three
    raw.send(batch.mtype, &bad).unwrap();
    let e = match q.recv() {
        Err(Error::Decode(e)) => e,
        other => panic!("expected a decode error, got {other:?}"),
    };
    assert!(
        matches!(
            e.reason(),
            DecodeReason::Batch {
                variant: "Urgent",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("malformed batch"), "{e}");
    assert_eq!((e.mtype(), e.bytes()), (1, &bad[..]));
    assert_eq!(q.pending(), 0);

    // An item that does not decode comes back with its own bytes in its
    // turn, and the items after it are still delivered.
    let other = TypedQueue::<other::Work>::from_queue((*raw).clone());
    q.send_batch(urgents(0..2)).unwrap();
    other
        .send_batch([other::Work::Urgent(5), other::Work::Urgent(6)])
        .unwrap();
    assert_eq!(q.recv().unwrap(), Work::Urgent(0));
    assert_eq!(q.recv().unwrap(), Work::Urgent(1));
    let e = q.recv().unwrap_err();
    assert!(e.to_string().contains("sender's definition differs"), "{e}");
    let e = match q.recv() {
        Err(Error::Decode(e)) => e,
        other => panic!("expected a decode error, got {other:?}"),
    };
    assert!(
        matches!(e.reason(), DecodeReason::SchemaMismatch { .. }),
        "{e}"
    );
    // The bytes are one complete typed body: header, then the u64 6.
    assert_eq!(e.bytes().len(), HEADER_LEN + 1);
    assert_eq!(e.bytes()[HEADER_LEN], 6);
    assert_eq!(
        other::Work::decode_body::<Bincode>(e.mtype(), e.bytes()),
        Ok(other::Work::Urgent(6))
    );
}

#[test]
fn removal_hands_out_buffered_messages_before_reporting_it() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    q.send_batch(urgents(0..10)).unwrap();
    assert_eq!(q.recv().unwrap(), Work::Urgent(0));
    q.remove().unwrap();
    let clone = q.clone(); // clones share the buffer
    assert_eq!(clone.recv().unwrap(), Work::Urgent(1));
    assert_eq!(q.pending(), 8);
    let rest: Vec<Work> = q.iter().map(Result::unwrap).collect();
    assert_eq!(rest, urgents(2..10));
    let e = q.recv().unwrap_err();
    assert!(e.is_removed(), "{e}");
}

#[test]
fn a_stopped_worker_handles_buffered_messages_before_returning() {
    let raw = TestQueue::new();
    let stop = StopHandle::new();
    let q = typed(&raw).with_stop(stop.clone());
    q.send_batch(urgents(0..5)).unwrap();
    q.send(Work::Stop).unwrap();
    assert_eq!(q.recv().unwrap(), Work::Urgent(0));
    stop.stop();
    // with_stop kept the buffer; the worker drains it, then sees the stop.
    let mut handled = Vec::new();
    q.serve_fn(|m| handled.push(m)).unwrap();
    assert_eq!(handled, urgents(1..5));
    assert_eq!(q.pending(), 0);
    // The stop kept the plain message on the kernel queue.
    assert!(q.recv().unwrap_err().is_stopped());
    stop.reset();
    assert_eq!(q.recv().unwrap(), Work::Stop);
}

#[test]
fn separately_made_handles_have_buffers_of_their_own() {
    let raw = TestQueue::new();
    let a = typed(&raw);
    let b = typed(&raw);
    a.send_batch(urgents(0..4)).unwrap();
    assert_eq!(a.recv().unwrap(), Work::Urgent(0));
    assert_eq!((a.pending(), b.pending()), (3, 0));
    assert_eq!(b.try_recv().unwrap(), None);
    assert_eq!(drain(&a), urgents(1..4));
}

#[test]
fn a_failed_batch_says_how_many_messages_were_sent() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    let limit = raw.max_message_size();
    let huge = Work::Job {
        id: 0,
        payload: "x".repeat(limit),
    };
    let msgs = [Work::Urgent(1), Work::Urgent(2), huge, Work::Urgent(3)];
    let e = q.send_batch(&msgs).unwrap_err();
    assert_eq!(e.sent(), 2);
    assert!(matches!(e.error(), Error::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("after sending 2 messages"), "{e}");
    // A chain of causes shows the inner error once: in this error's text.
    let source = std::error::Error::source(&e).map(ToString::to_string);
    assert!(
        source.as_deref() != Some(&e.error().to_string()[..]),
        "{e} / {source:?}"
    );
    assert_eq!(drain(&q), urgents(1..3));
    let e: Error = e.into();
    assert!(matches!(e, Error::TooLarge { .. }));
}

/// The worked example of docs/WIRE.md section 11, byte for byte.
#[test]
fn the_documented_batch_bytes() {
    use tests::messages::Cmd;
    let raw = TestQueue::new();
    let q = TypedQueue::<Cmd>::from_queue((*raw).clone());
    let jobs = [
        Cmd::Job {
            id: 7,
            path: "a".into(),
        },
        Cmd::Job {
            id: 8,
            path: "b".into(),
        },
    ];
    assert_eq!(q.send_batch(&jobs).unwrap(), 1);
    let batch = raw.recv(Selector::Any).unwrap();
    assert_eq!(batch.mtype, 10);
    assert_eq!(
        batch.body,
        [
            0x81, 0x02, 0x00, 0x00, 0x00, // marker, count 2
            0x09, 0x01, 0x01, 0x60, 0xa2, 0x0d, 0x1b, 0x07, 0x01, 0x61, // 9 bytes: Job 7 "a"
            0x09, 0x01, 0x01, 0x60, 0xa2, 0x0d, 0x1b, 0x08, 0x01, 0x62, // 9 bytes: Job 8 "b"
        ]
    );
    q.send_batch([Cmd::Reload, Cmd::Reload]).unwrap();
    assert_eq!(
        raw.recv(Selector::Any).unwrap().body,
        [
            0x81, 0x02, 0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0xac, 0xa2, 0x43, 0x1a, 0x06, 0x01,
            0x01, 0xac, 0xa2, 0x43, 0x1a
        ]
    );
    // Sent back as it is, it unpacks into both jobs.
    raw.send(batch.mtype, &batch.body).unwrap();
    assert_eq!(q.try_iter().map(Result::unwrap).collect::<Vec<_>>(), jobs);
}

#[test]
fn items_over_250_bytes_get_a_wider_length() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    let long = |id: u64| Work::Job {
        id,
        payload: "y".repeat(300 + id as usize),
    };
    let sent: Vec<Work> = vec![job(0), long(1), long(2), job(3)];
    assert_eq!(q.send_batch(&sent).unwrap(), 1);
    let batch = raw.recv(Selector::Any).unwrap();
    assert_eq!(batch_count(&batch.body), 4);
    // job(0) is 6 + 1 + 1 + 9 bytes behind a one-byte length; long(1) has
    // the three-byte length 0xfb, u16.
    assert_eq!(batch.body[5], 17);
    assert_eq!(batch.body[6 + 17], 0xfb);
    raw.send(batch.mtype, &batch.body).unwrap();
    assert_eq!(drain(&q), sent);
}

#[test]
fn a_capacity_lowered_after_the_handle_looked_is_met_not_waited_on_for_ever() {
    let q = TestQueue::new();
    let typed = typed(&q);
    // The handle has read the default capacity (16 KiB or more); another
    // handle lowers it to 1000 bytes.
    assert!(typed.as_queue().max_message_size() > 2000);
    let shrink = ipcq::Attributes::new().capacity(1000);
    q.set_attributes(&shrink).unwrap();
    std::thread::scope(|s| {
        // Should a send wait for ever, removing the queue ends it, so that
        // the test fails instead of hanging.
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let queue = &q;
        s.spawn(move || {
            if finished.recv_timeout(Duration::from_secs(20)).is_err() {
                let _ = queue.remove();
            }
        });
        // A message larger than the queue holds now: the kernel would make
        // a blocking send wait for ever and call the queue full.
        let big = Work::Job {
            id: 1,
            payload: "x".repeat(2000),
        };
        let err = typed.clone().send(&big).unwrap_err();
        assert!(matches!(err, Error::TooLarge { limit: 1000, .. }), "{err}");
        let err = typed.clone().try_send(&big).unwrap_err();
        assert!(matches!(err.error(), Error::TooLarge { .. }), "{err}");
        // A batch is sized to what the queue holds now (300 messages are
        // more than that: a receiver takes them meanwhile).
        let sent = urgents(0..300);
        let receiver = s.spawn(|| {
            (0..300)
                .map(|_| typed.recv())
                .collect::<Result<Vec<_>, _>>()
        });
        let sysv = typed.clone().send_batch(&sent).unwrap();
        assert!(sysv > 1, "{sysv}");
        assert_eq!(receiver.join().unwrap().unwrap(), sent);
        done.send(()).unwrap();
    });
}

/// Two variants whose buffered items a priority receive must weigh against
/// the kernel queue (mtypes above 1), as `recv_priority` workers meet them.
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Ranked {
    #[ipcq(mtype = 3)]
    High(u32),
    Low(u32),
}

#[test]
fn clones_racing_for_buffered_messages_by_priority_both_get_one() {
    let raw = TestQueue::new();
    let q: TypedQueue<Ranked> = raw.typed();
    for round in 0..300 {
        // Buffered: one High and one Low; nothing on the kernel queue.
        q.send_batch([Ranked::High(round), Ranked::High(round)])
            .unwrap();
        q.send_batch([Ranked::Low(round), Ranked::Low(round)])
            .unwrap();
        q.recv_kind(RankedKind::High).unwrap();
        q.recv_kind(RankedKind::Low).unwrap();
        assert_eq!(q.pending(), 2);
        let barrier = std::sync::Barrier::new(2);
        let got: Vec<Option<Ranked>> = std::thread::scope(|s| {
            let take = || {
                let q = q.clone();
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    q.try_recv_by(Selector::up_to(RankedKind::Low)).unwrap()
                })
            };
            let (a, b) = (take(), take());
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        // Whichever got there first took High; the other still found Low.
        assert!(got.contains(&Some(Ranked::High(round))), "{got:?}");
        assert!(got.contains(&Some(Ranked::Low(round))), "{got:?}");
    }
}

#[test]
fn a_batch_sized_before_msgmax_was_lowered_still_goes() {
    // In a namespace of its own the limit can be lowered without touching the
    // host's queues or the other tests. The batch was sized by the msgmax the
    // handle read when it opened the queue; the kernel refuses it, and its
    // messages go one by one, the batches after it sized by the new limit.
    let out = std::process::Command::new("unshare")
        .args([
            "--ipc",
            env!("CARGO_BIN_EXE_peer"),
            "batch-after-msgmax-lowered",
        ])
        .output()
        .expect("unshare (util-linux) is needed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text, "received in order true\nbatched true\n");
}
