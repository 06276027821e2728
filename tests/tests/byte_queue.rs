//! The byte queue against real kernel queues and a second process.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use ipcq::{Distrust, Error, Key, Limits, MsgBuffer, MsgQueue, OpenOptions, Selector};
use tests::{TestQueue, peer, run_ok};

fn bodies(q: &MsgQueue, selector: Selector) -> Vec<(i64, String)> {
    std::iter::from_fn(|| q.try_recv(selector).unwrap())
        .map(|m| (m.mtype, String::from_utf8(m.body).unwrap()))
        .collect()
}

#[test]
fn every_selection_mode_across_processes() {
    let q = TestQueue::new();
    // Another process sends: types 5, 2, 9, 2, 5 in that order.
    for (mtype, body) in [(5, "a"), (2, "b"), (9, "c"), (2, "d"), (5, "e")] {
        run_ok(peer!("send", q.key_arg(), mtype.to_string(), body));
    }
    assert_eq!(q.stat().unwrap().messages, 5);

    let take = |s| {
        let m = q.try_recv(s).unwrap().expect("a message");
        (m.mtype, String::from_utf8(m.body).unwrap())
    };
    // Exactly type 5: the oldest of that type.
    assert_eq!(take(Selector::Type(5)), (5, "a".into()));
    // Lowest type up to 5, the oldest of it: b, not the older e.
    assert_eq!(take(Selector::UpTo(5)), (2, "b".into()));
    // Anything but 2: the oldest that is not type 2.
    assert_eq!(take(Selector::Except(2)), (9, "c".into()));
    // Any: queue order.
    assert_eq!(take(Selector::Any), (2, "d".into()));
    assert_eq!(take(Selector::Any), (5, "e".into()));
    assert_eq!(q.try_recv(Selector::Any).unwrap(), None);
}

#[test]
fn a_receiving_process_selects_by_type() {
    let q = TestQueue::new();
    for (mtype, body) in [(7, "x1"), (3, "y1"), (7, "x2"), (1, "z1")] {
        q.send(mtype, body.as_bytes()).unwrap();
    }
    let out = run_ok(peer!("recv", q.key_arg(), "type:7", "2"));
    assert_eq!(out, "ready\n7 x1\n7 x2\n");
    let out = run_ok(peer!("recv", q.key_arg(), "upto:5", "1"));
    assert_eq!(out, "ready\n1 z1\n");
    let out = run_ok(peer!("recv", q.key_arg(), "except:1", "1"));
    assert_eq!(out, "ready\n3 y1\n");
}

#[test]
fn order_is_kept_within_a_type() {
    let q = TestQueue::new();
    let evens: Vec<String> = (0..200).step_by(2).map(|n| n.to_string()).collect();
    let odds: Vec<String> = (1..200).step_by(2).map(|n| n.to_string()).collect();
    let mut sender = peer!("send", q.key_arg(), "4");
    sender.args(&evens);
    let mut other = peer!("send", q.key_arg(), "6");
    other.args(&odds);
    // Two senders at once: the interleaving is arbitrary, each type's order is not.
    let a = sender.spawn().unwrap();
    let b = other.spawn().unwrap();
    for mut child in [a, b] {
        assert!(child.wait().unwrap().success());
    }
    let got: Vec<String> = bodies(&q, Selector::Type(6))
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    assert_eq!(got, odds);
    let got: Vec<String> = bodies(&q, Selector::Type(4))
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    assert_eq!(got, evens);
}

#[test]
fn priority_receive_takes_lowest_types_first() {
    let q = TestQueue::new();
    for (mtype, body) in [
        (3, "c1"),
        (1, "a1"),
        (2, "b1"),
        (3, "c2"),
        (1, "a2"),
        (8, "h"),
    ] {
        q.send(mtype, body.as_bytes()).unwrap();
    }
    let got = bodies(&q, Selector::UpTo(3));
    assert_eq!(
        got,
        [(1, "a1"), (1, "a2"), (2, "b1"), (3, "c1"), (3, "c2")].map(|(t, b)| (t, b.to_string()))
    );
    // Type 8 is above the bound and stays.
    assert_eq!(q.stat().unwrap().messages, 1);
}

#[test]
fn non_blocking_calls_on_an_empty_and_a_full_queue() {
    let q = TestQueue::with(|o| {
        o.capacity(64);
    });
    assert_eq!(q.try_recv(Selector::Any).unwrap(), None);
    let mut buf = MsgBuffer::new();
    assert!(!q.try_recv_into(Selector::Any, &mut buf).unwrap());

    q.try_send(1, &[0; 40]).unwrap();
    q.try_send(1, &[0; 24]).unwrap();
    let err = q.try_send(1, &[0; 1]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::WouldBlock {
                errno: ipcq::Errno::EAGAIN,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("queue is full"), "{err}");
    // Nothing of the refused message went in.
    let stat = q.stat().unwrap();
    assert_eq!((stat.messages, stat.bytes), (2, 64));

    // Selecting a type that is not there is empty too, though the queue is not.
    assert_eq!(q.try_recv(Selector::Type(2)).unwrap(), None);
}

#[test]
fn oversize_messages_are_refused_before_the_syscall() {
    let q = TestQueue::with(|o| {
        o.capacity(100);
    });
    let msgmax = Limits::read().unwrap().msgmax;
    match q.send(1, &[0; 101]) {
        Err(Error::TooLarge {
            size: 101,
            limit: 100,
            ..
        }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    q.set_attributes(&ipcq::Attributes::new().capacity(msgmax as u64 * 2))
        .unwrap();
    match q.try_send(1, &vec![0; msgmax + 1]) {
        Err(Error::TooLarge { size, limit, .. }) => assert_eq!((size, limit), (msgmax + 1, msgmax)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(q.stat().unwrap().messages, 0);
    assert_eq!(q.max_message_size(), msgmax);
}

#[test]
fn large_messages_are_received_whole_or_left_on_the_queue() {
    let q = TestQueue::new();
    let msgmax = Limits::read().unwrap().msgmax;
    let big: Vec<u8> = (0..msgmax).map(|i| (i % 251) as u8).collect();
    q.send(3, &big).unwrap();

    // A bounded buffer starts small whatever its limit.
    for limit in [usize::MAX, 1 << 40, 1 << 20] {
        assert_eq!(MsgBuffer::bounded(limit).capacity(), 8192, "{limit}");
    }
    // (Rounded up to whole words.)
    assert!((100..108).contains(&MsgBuffer::bounded(100).capacity()));
    // A bounded buffer that is too small: an error, and the message stays.
    let mut small = MsgBuffer::bounded(100);
    match q.try_recv_into(Selector::Any, &mut small) {
        Err(Error::TooLarge { limit, .. }) => assert!(limit >= 100 && limit < msgmax, "{limit}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(q.stat().unwrap().messages, 1);

    // A growing buffer that starts empty takes it whole.
    let mut buf = MsgBuffer::new();
    q.recv_into(Selector::Any, &mut buf).unwrap();
    assert_eq!(buf.mtype(), 3);
    assert_eq!(buf.body(), &big[..]);
    assert_eq!(q.stat().unwrap().messages, 0);

    // So does a bounded buffer whose limit is larger, growing if it must.
    let mut roomy = MsgBuffer::bounded(1 << 20);
    q.send(4, &big).unwrap();
    q.recv_into(Selector::Any, &mut roomy).unwrap();
    assert_eq!((roomy.mtype(), roomy.body()), (4, &big[..]));
}

#[test]
fn removal_wakes_a_blocked_receiver_in_another_process() {
    let q = TestQueue::new();
    let mut child = peer!("recv", q.key_arg(), "any", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    // Let it block in msgrcv.
    std::thread::sleep(Duration::from_millis(100));
    q.remove().unwrap();
    let status = child.wait().unwrap();
    let line = lines.next().unwrap().unwrap();
    assert!(line.starts_with("error removed:"), "{line}");
    assert_eq!(status.code(), Some(3));
}

#[test]
fn removal_wakes_blocked_senders_and_receivers_in_threads() {
    let full = TestQueue::full(8);
    let empty = TestQueue::new();
    std::thread::scope(|s| {
        let sender = s.spawn(|| full.send(1, b"more"));
        let receiver = s.spawn(|| empty.recv(Selector::Type(4)));
        std::thread::sleep(Duration::from_millis(100));
        full.remove().unwrap();
        empty.remove().unwrap();
        assert!(matches!(sender.join().unwrap(), Err(Error::Removed { .. })));
        assert!(matches!(
            receiver.join().unwrap(),
            Err(Error::Removed { .. })
        ));
    });
}

#[test]
fn a_removed_queue_is_not_found_afterwards() {
    let q = TestQueue::new();
    q.remove().unwrap();
    let err = q.send(1, b"late").unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(err.is_removed());
    assert!(matches!(
        q.try_recv(Selector::Any),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        q.stat(),
        Err(Error::NotFound { .. } | Error::Removed { .. })
    ));
    assert!(!MsgQueue::exists(q.key()).unwrap());
    assert!(matches!(
        MsgQueue::open(q.key()),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn ftok_gives_every_process_the_same_key() {
    let dir = std::env::temp_dir().join(format!("ipcq-ftok-{}", std::process::id()));
    std::fs::write(&dir, b"").unwrap();
    let key = Key::ftok(&dir, b'Q').unwrap();
    let theirs = run_ok(peer!("ftok", &dir, (b'Q').to_string()));
    assert_eq!(theirs.trim(), key.get().to_string());
    assert_ne!(Key::ftok(&dir, b'R').unwrap(), key);
    std::fs::remove_file(&dir).unwrap();

    let err = Key::ftok(&dir, b'Q').unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(matches!(
        Key::ftok("/", 0),
        Err(Error::InvalidArgument { .. })
    ));
}

#[test]
fn open_options_create_exclusively_and_set_attributes() {
    let q = TestQueue::with(|o| {
        o.mode(0o640).capacity(5000).uid(65534).gid(65534);
    });
    let stat = q.stat().unwrap();
    assert_eq!(
        (stat.mode, stat.capacity, stat.uid, stat.gid),
        (0o640, 5000, 65534, 65534)
    );
    assert_eq!(stat.creator_uid, nix::unistd::geteuid().as_raw());

    let again = OpenOptions::new().create_new(true).open(q.key());
    assert!(
        matches!(again, Err(Error::AlreadyExists { .. })),
        "{again:?}"
    );
    // Another user owns it now: opening it takes an explicit opt-in.
    let refused = MsgQueue::open(q.key()).unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Untrusted {
                reason: Distrust::Owner {
                    owner_uid: 65534,
                    trusted_uid: None,
                    ..
                },
                ..
            }
        ),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("owned by uid 65534"),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("trust_owner"),
        "the advice names the way to trust that user: {refused}"
    );
    // Trusting that owner, and that owner alone, opens it.
    let trusted = OpenOptions::new().trust_owner(65534).open(q.key()).unwrap();
    assert_eq!(trusted.id(), q.id());
    let other = OpenOptions::new()
        .trust_owner(65533)
        .open(q.key())
        .unwrap_err();
    assert!(
        matches!(
            other,
            Error::Untrusted {
                reason: Distrust::Owner {
                    owner_uid: 65534,
                    trusted_uid: Some(65533),
                    ..
                },
                ..
            }
        ),
        "{other:?}"
    );
    assert!(
        other.to_string().contains("nor the trusted uid 65533"),
        "{other}"
    );
    // create() opens the existing queue and leaves its attributes alone.
    let same = OpenOptions::new()
        .create(true)
        .mode(0o666)
        .allow_foreign(true)
        .open(q.key())
        .unwrap();
    assert_eq!(same.id(), q.id());
    assert_eq!(same.stat().unwrap().mode, 0o640);
    assert!(MsgQueue::exists(q.key()).unwrap());
}

#[test]
fn status_list_and_limits_describe_the_queue() {
    let q = TestQueue::new();
    run_ok(peer!("send", q.key_arg(), "2", "hello"));
    let stat = q.stat().unwrap();
    assert_eq!((stat.messages, stat.bytes), (1, 5));
    assert_ne!(stat.last_send_pid, 0);
    assert_ne!(stat.last_send_pid, std::process::id() as i32);
    assert!(stat.last_send.is_some());
    assert_eq!(stat.last_recv, None);
    assert_eq!(stat.key, q.key());

    q.recv(Selector::Any).unwrap();
    let stat = q.stat().unwrap();
    assert_eq!(stat.last_recv_pid, std::process::id() as i32);

    let listed = ipcq::list().unwrap();
    let entry = listed.iter().find(|s| s.id == q.id()).expect("listed");
    assert_eq!(
        (entry.key, entry.mode, entry.capacity),
        (q.key(), 0o600, stat.capacity)
    );

    let limits = Limits::read().unwrap();
    assert_eq!(stat.capacity, limits.msgmnb as u64);
}

#[test]
fn mtypes_below_one_are_refused_before_any_syscall() {
    let q = TestQueue::new();
    for bad in [0, -1, i64::MIN] {
        assert!(matches!(
            q.send(bad, b"x"),
            Err(Error::InvalidArgument { .. })
        ));
    }
    assert!(matches!(
        q.try_recv(Selector::Type(0)),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        q.try_recv(Selector::UpTo(-5)),
        Err(Error::InvalidArgument { .. })
    ));
    assert_eq!(q.stat().unwrap().last_send_pid, 0);
}

#[test]
fn a_handle_is_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<MsgQueue>();
    send_sync::<ipcq::TypedQueue<tests::messages::Work>>();

    let q = TestQueue::new();
    std::thread::scope(|s| {
        for t in 0..4 {
            let q = &q;
            s.spawn(move || {
                for i in 0..250 {
                    q.send(1 + t, format!("{t}-{i}").as_bytes()).unwrap();
                }
            });
        }
    });
    assert_eq!(q.stat().unwrap().messages, 1000);
    for t in 0..4 {
        let got = bodies(&q, Selector::Type(1 + t));
        let want: Vec<(i64, String)> = (0..250).map(|i| (1 + t, format!("{t}-{i}"))).collect();
        assert_eq!(got, want);
    }
}

#[test]
fn peek_copies_messages_by_position_and_leaves_them_queued() {
    let q = TestQueue::new();
    let msgmax = Limits::read().unwrap().msgmax;
    let big = vec![7u8; msgmax];
    q.send(9, b"first").unwrap();
    q.send(2, &big).unwrap();
    q.send(9, b"third").unwrap();
    let peeked: Vec<_> = (0..).map_while(|i| q.peek(i).unwrap()).collect();
    assert_eq!(peeked.len(), 3);
    assert_eq!((peeked[0].mtype, &peeked[0].body[..]), (9, &b"first"[..]));
    assert_eq!((peeked[1].mtype, peeked[1].body.len()), (2, msgmax));
    assert_eq!(peeked[1].body, big);
    assert_eq!(peeked[2].body, b"third");
    assert_eq!(q.stat().unwrap().messages, 3);
    // Peeking is what receiving would give, in order.
    for expected in peeked {
        assert_eq!(q.recv(Selector::Any).unwrap(), expected);
    }
    let mut bounded = MsgBuffer::bounded(4);
    q.send(1, b"too long").unwrap();
    assert!(matches!(
        q.peek_into(0, &mut bounded),
        Err(Error::TooLarge { .. })
    ));
    q.remove().unwrap();
    assert!(
        matches!(q.peek(0), Err(Error::NotFound { .. })),
        "{:?}",
        q.peek(0)
    );
}

#[test]
fn a_queue_every_user_may_write_to_is_refused_unless_allowed() {
    let q = TestQueue::with(|o| {
        o.mode(0o622);
    });
    let err = MsgQueue::open(q.key()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Untrusted {
                reason: Distrust::WorldWritable { mode: 0o622, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(
            "its mode 0622 lets every user write to it, so anyone can put any message in it; "
        ),
        "{err}"
    );
    // Trusting the owner does not help here: the advice is about the mode.
    assert!(!err.to_string().contains("trust_owner"), "{err}");
    assert!(err.to_string().contains("allow_foreign(true)"), "{err}");
    let by_id = MsgQueue::open_id(q.id()).unwrap_err();
    assert!(matches!(by_id, Error::Untrusted { .. }), "{by_id:?}");
    assert_eq!((err.op(), by_id.op()), (ipcq::Op::Open, ipcq::Op::OpenId));
    let opened = OpenOptions::new()
        .allow_foreign(true)
        .open(q.key())
        .unwrap();
    assert_eq!(opened.id(), q.id());
    // Trusting its owner does not make a queue anyone may write to trusted.
    let owner = q.stat().unwrap().uid;
    let err = OpenOptions::new()
        .trust_owner(owner)
        .open(q.key())
        .unwrap_err();
    assert!(matches!(err, Error::Untrusted { .. }), "{err:?}");
    // A queue this user owns with a private mode needs no opt-in.
    let own = TestQueue::new();
    assert_eq!(MsgQueue::open(own.key()).unwrap().id(), own.id());
}

#[test]
fn a_caller_that_creates_queues_every_user_may_write_to_opens_them_again() {
    let q = TestQueue::with(|o| {
        o.mode(0o622);
    });
    // A daemon restarting with the options it created the queue with.
    for mode in [0o622, 0o666, 0o602] {
        let reopened = OpenOptions::new()
            .create(true)
            .mode(mode)
            .open(q.key())
            .unwrap();
        assert_eq!(reopened.id(), q.id(), "{mode:o}");
    }
    // A mode without write for others is no such opt-in.
    let err = OpenOptions::new()
        .create(true)
        .mode(0o660)
        .open(q.key())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Untrusted {
                reason: Distrust::WorldWritable { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("create(true) and that mode"),
        "{err}"
    );
    // Without creation a mode says nothing of what the caller wants.
    for options in [
        OpenOptions::new().mode(0o666),
        OpenOptions::new().create(true).mode(0o666),
    ] {
        assert!(matches!(
            options.open_id(q.id()),
            Err(Error::Untrusted { .. })
        ));
    }
    assert!(matches!(
        OpenOptions::new().mode(0o666).open(q.key()),
        Err(Error::Untrusted { .. })
    ));
}

#[test]
fn an_owner_the_kernel_cannot_map_is_an_invalid_argument_not_a_removed_queue() {
    let q = TestQueue::new();
    // (uid_t)-1 is no uid in any user namespace: IPC_SET answers EINVAL, the
    // errno that also means "no queue has this id".
    let err = q
        .set_attributes(&ipcq::Attributes::new().uid(u32::MAX))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    assert!(!err.is_removed(), "{err}");
    assert!(err.to_string().contains("4294967295"), "{err}");
    assert!(q.stat().is_ok());

    // The same at creation (open removes the queue it made; the suite checks
    // that none is left).
    let key = Key::private();
    let err = OpenOptions::new()
        .create(true)
        .uid(u32::MAX)
        .open(key)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}

#[test]
fn opening_without_creation_refuses_a_private_key() {
    // IPC_PRIVATE always makes a new queue: "open the existing one" would
    // hand back a queue the caller does not know it must remove.
    let err = MsgQueue::open(Key::private()).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    assert!(err.to_string().contains("create"), "{err}");
    let err = OpenOptions::new().open(Key::private()).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}

#[test]
fn modes_outside_0o777_and_a_zero_capacity_are_refused_before_anything_is_made() {
    let dir = tests::ScratchDir::new(env!("CARGO_TARGET_TMPDIR"), "mode-check");
    let key = Key::ftok(dir.path(), b'M').unwrap();
    let refused = |configure: &dyn Fn(&mut OpenOptions)| {
        let mut options = OpenOptions::new();
        configure(options.create(true));
        let result = options.open(key);
        // Whatever the result, no queue may be left behind under the key.
        if let Ok(made) = MsgQueue::open(key) {
            made.remove().unwrap();
            panic!("a queue was made: {result:?}");
        }
        let err = result.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
        err.to_string()
    };
    // 644 in decimal is 0o1204: without the check, a queue of mode 0o204.
    assert_eq!(
        refused(&|o| {
            o.mode(644);
        }),
        "cannot open the queue (msgget): invalid argument: mode 0o1204 has bits outside 0o777, the \
         read and write bits a queue has; 644 looks like octal written in decimal: write \
         0o644 (EINVAL)"
    );
    let said = refused(&|o| {
        o.mode(0o1600);
    });
    assert!(
        said.contains("mode 0o1600 has bits outside 0o777"),
        "{said}"
    );
    assert!(!said.contains("looks like octal"), "{said}");
    let said = refused(&|o| {
        o.capacity(0);
    });
    assert!(said.contains("capacity must be at least 1 byte"), "{said}");

    let q = TestQueue::new();
    let err = q
        .set_attributes(&ipcq::Attributes::new().mode(600))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    assert!(err.to_string().contains("write 0o600"), "{err}");
    assert_eq!(q.stat().unwrap().mode, 0o600);
}
