//! TypedQueue: typed sends and every kind of receive, across processes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ipcq::{Error, Limits, Selector, StopHandle, TypedQueue};
use tests::messages::{Work, WorkHandler, WorkKind};
use tests::{TestQueue, job, peer, run_ok};

fn typed(q: &TestQueue) -> TypedQueue<Work> {
    q.typed()
}

#[test]
fn every_receive_mode_on_messages_from_another_process() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    // Log(3) "first", Job(2) 1, Urgent(1) 7, Stop(10), Job(2) 2, Urgent(1) 8
    run_ok(peer!("send-mix", raw.key_arg()));

    assert_eq!(q.recv_kind(WorkKind::Job).unwrap(), job(1));
    // Lowest mtype at or below Job's: the Urgent ones, oldest first.
    assert_eq!(q.recv_priority(WorkKind::Job).unwrap(), Work::Urgent(7));
    assert_eq!(
        q.recv_except(WorkKind::Urgent).unwrap(),
        Work::Log("first".into())
    );
    assert_eq!(q.recv().unwrap(), Work::Stop);
    assert_eq!(q.recv_priority(WorkKind::Stop).unwrap(), Work::Urgent(8));
    assert_eq!(
        q.try_recv_by(Selector::Type(WorkKind::Urgent.mtype()))
            .unwrap(),
        None
    );
    assert_eq!(q.try_recv_kind(WorkKind::Urgent).unwrap(), None);
    assert_eq!(
        q.recv_kind_timeout(WorkKind::Log, Duration::from_millis(20))
            .unwrap(),
        None
    );
    // Job(2) 2 is left, for the variant's own receives and for any.
    assert_eq!(
        q.recv_kind_timeout(WorkKind::Job, Duration::from_secs(5))
            .unwrap(),
        Some(job(2))
    );
    q.send(job(3)).unwrap();
    assert_eq!(q.try_recv_kind(WorkKind::Job).unwrap(), Some(job(3)));
    q.send(job(4)).unwrap();
    assert_eq!(q.try_recv().unwrap(), Some(job(4)));
    assert_eq!(q.try_recv().unwrap(), None);
    assert_eq!(q.recv_timeout(Duration::from_millis(20)).unwrap(), None);
}

#[test]
fn try_send_on_a_full_queue_hands_the_message_back() {
    let raw = TestQueue::with(|o| {
        o.capacity(64);
    });
    let q = typed(&raw);
    let mut sent = 0;
    let refused = loop {
        match q.try_send(job(sent)) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
    };
    assert!(sent > 0);
    assert!(refused.is_full(), "{refused:?}");
    assert!(refused.error().is_would_block());
    assert_eq!(refused.into_message(), job(sent));

    // By reference, the caller keeps the message anyway.
    let msg = job(99);
    assert!(q.try_send(&msg).unwrap_err().is_full());
    // As an I/O error, for callers whose errors are.
    let io = std::io::Error::from(q.try_send(&msg).unwrap_err());
    assert_eq!(io.kind(), std::io::ErrorKind::WouldBlock);

    let timed = q
        .send_timeout(job(sent), Duration::from_millis(30))
        .unwrap_err();
    assert!(timed.is_timeout(), "{timed:?}");
    assert_eq!(timed.into_message(), job(sent));

    // `?` turns a SendError into the library's Error.
    fn forward(q: &TypedQueue<Work>, msg: Work) -> ipcq::Result<()> {
        q.try_send(msg)?;
        Ok(())
    }
    assert!(matches!(
        forward(&q, job(sent)),
        Err(Error::WouldBlock { .. })
    ));
    assert_eq!(q.try_iter().count() as u64, sent);
}

#[test]
fn a_message_too_large_for_the_queue_is_refused_before_sending() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    let msgmax = Limits::read().unwrap().msgmax;
    let big = Work::Job {
        id: 1,
        payload: "x".repeat(msgmax),
    };
    match q.send(&big) {
        Err(Error::TooLarge { size, limit, .. }) => {
            assert!(size > msgmax, "{size}");
            assert_eq!(limit, msgmax);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let err = q.try_send(big).unwrap_err();
    assert!(matches!(err.error(), Error::TooLarge { .. }));
    assert!(
        err.to_string().contains("bytes, more than the limit of"),
        "{err}"
    );
    assert_eq!(raw.stat().unwrap().messages, 0);
}

#[test]
fn a_body_of_exactly_msgmax_goes_and_one_byte_more_is_measured_exactly() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    let msgmax = Limits::read().unwrap().msgmax;
    // A Job body is the 6-byte header, id 1 (one byte) and the payload behind
    // a 3-byte length. With the default msgmax of 8192 the first message
    // fills the sender's stack buffer to the byte and the second one spills
    // over it, which must not change a byte of it.
    let fill = |len: usize| Work::Job {
        id: 1,
        payload: (0..len)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect(),
    };
    assert!((251..65536).contains(&(msgmax - 10)), "msgmax {msgmax}");
    let whole = fill(msgmax - 10);
    q.send(&whole).unwrap();
    assert_eq!(raw.stat().unwrap().bytes, msgmax as u64);
    assert_eq!(q.recv().unwrap(), whole);

    match q.send(fill(msgmax - 9)) {
        Err(Error::TooLarge { size, limit, .. }) => assert_eq!((size, limit), (msgmax + 1, msgmax)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // The same for a text body, which is written piece by piece.
    let text = "z".repeat(msgmax);
    q.send(Work::Log(text.clone())).unwrap();
    assert_eq!(q.recv().unwrap(), Work::Log(text));
    match q.send(Work::Log("z".repeat(msgmax + 1))) {
        Err(Error::TooLarge { size, .. }) => assert_eq!(size, msgmax + 1),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(raw.stat().unwrap().messages, 0);
}

/// Runs `peer COMMAND` in a new IPC namespace, whose kernel limits it may
/// change and whose queues vanish with it, and returns what it printed once
/// it succeeded; `None` (the test is skipped) unless this runs as root.
fn peer_in_own_ipc_namespace(command: &str) -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: changing kernel limits in a private IPC namespace needs root");
        return None;
    }
    let out = std::process::Command::new("unshare")
        .args(["--ipc", env!("CARGO_BIN_EXE_peer"), command])
        .output()
        .expect("unshare (util-linux) is needed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(text)
}

#[test]
fn messages_larger_than_the_stack_buffer_go_whole() {
    // msgmax 65536 in a namespace of its own: bodies from 8 KiB to 60 KiB,
    // typed and bytes, sent and received by one process.
    let Some(text) = peer_in_own_ipc_namespace("large-messages") else {
        return;
    };
    assert_eq!(text.lines().last(), Some("ok 10"), "{text}");
}

#[test]
fn a_message_within_a_huge_msgmax_is_received_and_a_small_one_grows_little() {
    let Some(text) = peer_in_own_ipc_namespace("huge-msgmax") else {
        return;
    };
    // 1 MiB for a 9000-byte message, not msgmax's 80 MiB (nor 64 MiB).
    assert_eq!(
        text,
        format!(
            "grew to {} for 9000\nreceived {} whole true\n",
            1 << 20,
            80 << 20
        )
    );
}

#[test]
fn receive_buffers_grow_to_msgmax_not_to_the_queues_capacity() {
    let Some(text) = peer_in_own_ipc_namespace("msgmax-lowered") else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "grew to 65536 for 10000", "{text}");
    // Not "needs CONFIG_CHECKPOINT_RESTORE": the kernel has MSG_COPY.
    assert!(lines[1].starts_with("peek: too-large "), "{text}");
    assert!(
        lines[1].contains("before kernel.msgmax was lowered"),
        "{text}"
    );
    // 8 KiB, then 16, then 32: twice what failed, past msgmax.
    assert_eq!(lines[2], "grew to 32768 for 20000", "{text}");
}

#[test]
fn a_send_from_inside_an_encoding_is_a_message_of_its_own() {
    let raw = TestQueue::new();
    let q = raw.typed::<Nested>();
    SIDE_QUEUE.with_borrow_mut(|side| *side = Some((*raw).clone()));
    q.send(Nested::Outer(Noisy(5), "outer".into())).unwrap();
    SIDE_QUEUE.with_borrow_mut(|side| *side = None);
    // The side message was sent while the outer one was being encoded, so
    // it is first; neither is mixed into the other.
    let side = raw.try_recv(Selector::Any).unwrap().unwrap();
    assert_eq!((side.mtype, &side.body[..]), (7, &b"side note"[..]));
    assert_eq!(q.recv().unwrap(), Nested::Outer(Noisy(5), "outer".into()));
}

thread_local! {
    /// Where `Noisy` sends its side message.
    static SIDE_QUEUE: std::cell::RefCell<Option<ipcq::MsgQueue>> =
        const { std::cell::RefCell::new(None) };
}

/// A field whose `Serialize` sends a message of its own first.
#[derive(Debug, PartialEq, serde::Deserialize)]
struct Noisy(u32);

impl serde::Serialize for Noisy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SIDE_QUEUE.with_borrow(|side| {
            if let Some(q) = side {
                q.send(7, b"side note").unwrap();
            }
        });
        serializer.serialize_u32(self.0)
    }
}

#[derive(ipcq::QueueMessage, Debug, PartialEq)]
enum Nested {
    Outer(Noisy, String),
}

#[test]
fn interop_variants_meet_raw_bytes() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    // A C, PHP or Python program sends plain text with mtype 3.
    raw.send(3, b"disk almost full").unwrap();
    assert_eq!(q.recv().unwrap(), Work::Log("disk almost full".into()));
    // And a typed sender feeds such programs plain text, without a header.
    q.send(Work::Log("rotated".into())).unwrap();
    let msg = raw.recv(Selector::Any).unwrap();
    assert_eq!((msg.mtype, &msg.body[..]), (3, &b"rotated"[..]));
}

#[test]
fn iter_ends_when_the_queue_is_removed() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    std::thread::scope(|s| {
        // `for … in &q` is `q.iter()`.
        let consumer = s.spawn(|| {
            let mut received = Vec::new();
            for msg in &q {
                received.push(msg.unwrap());
            }
            received
        });
        for id in 0..20 {
            q.send(job(id)).unwrap();
        }
        while raw.stat().unwrap().messages > 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        q.remove().unwrap();
        assert_eq!(
            consumer.join().unwrap(),
            (0..20).map(job).collect::<Vec<_>>()
        );
    });
}

#[test]
fn serve_handles_every_received_message_then_returns_on_stop() {
    let raw = TestQueue::new();
    let stop = StopHandle::new();
    let q = typed(&raw).with_stop(stop.clone());
    assert!(q.stop_handle().is_some() && typed(&raw).stop_handle().is_none());
    assert_eq!(q.max_message_size(), raw.max_message_size());
    let handled = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            q.serve_fn(|msg| {
                assert!(matches!(msg, Work::Job { .. }));
                // Slow handling: a stop arriving meanwhile must wait for it.
                std::thread::sleep(Duration::from_micros(300));
                handled.fetch_add(1, Ordering::SeqCst);
            })
        });
        for id in 0..200 {
            q.send(job(id)).unwrap();
        }
        while raw.stat().unwrap().messages > 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        stop.stop();
        worker.join().unwrap().unwrap();
    });
    // Every message taken off the queue was handled.
    assert_eq!(handled.load(Ordering::SeqCst), 200);
    assert_eq!(raw.stat().unwrap().messages, 0);
}

#[test]
fn serve_by_takes_what_its_selector_picks_and_leaves_the_rest() {
    let raw = TestQueue::new();
    let stop = StopHandle::new();
    let q = typed(&raw).with_stop(stop.clone());
    // Log(3) "first", Job(2) 1, Urgent(1) 7, Stop(10), Job(2) 2, Urgent(1) 8
    run_ok(peer!("send-mix", raw.key_arg()));

    // Jobs and urgent work, most urgent first; the log line and Stop stay.
    let mut handled = Vec::new();
    q.serve_fn_by(Selector::up_to(WorkKind::Job), |msg| {
        handled.push(msg);
        if handled.len() == 4 {
            stop.stop();
        }
    })
    .unwrap();
    assert_eq!(handled, [Work::Urgent(7), Work::Urgent(8), job(1), job(2)]);
    let rest = typed(&raw);
    assert_eq!(rest.try_recv().unwrap(), Some(Work::Log("first".into())));
    assert_eq!(rest.try_recv().unwrap(), Some(Work::Stop));

    // A worker for one variant waits for it, while other messages pass by.
    struct Urgent(Vec<u32>);
    impl WorkHandler for Urgent {
        fn urgent(&mut self, n: u32) {
            self.0.push(n);
        }
        fn job(&mut self, id: u64, _: String) {
            panic!("job {id} reached a worker for urgent work");
        }
        fn log(&mut self, _: String) {
            panic!("a log line reached a worker for urgent work");
        }
        fn stop(&mut self) {
            panic!("Stop reached a worker for urgent work");
        }
    }
    let q = typed(&raw);
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let mut urgent = Urgent(Vec::new());
            q.serve_by(Selector::kind(WorkKind::Urgent), &mut urgent)
                .map(|()| urgent.0)
        });
        q.send(job(3)).unwrap();
        q.send(Work::Urgent(9)).unwrap();
        q.send(Work::Stop).unwrap();
        while raw.stat().unwrap().messages > 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(q.try_recv().unwrap(), Some(job(3)));
        assert_eq!(q.try_recv().unwrap(), Some(Work::Stop));
        q.remove().unwrap();
        assert_eq!(worker.join().unwrap().unwrap(), [9]);
    });
}

#[test]
fn serve_returns_ok_when_the_queue_is_removed() {
    let raw = TestQueue::new();
    let q = typed(&raw);
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let mut n = 0;
            q.serve_fn(|_| n += 1).map(|()| n)
        });
        q.send(Work::Urgent(1)).unwrap();
        while raw.stat().unwrap().messages > 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        q.remove().unwrap();
        assert_eq!(worker.join().unwrap().unwrap(), 1);
    });
}
