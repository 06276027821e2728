//! Handles that spin before they sleep: the spin changes how a call waits,
//! never what it returns, and deadlines, stops and removal end it.

use std::time::{Duration, Instant};

use ipcq::{Error, Key, MsgQueue, Selector, StopHandle, TypedQueue};
use tests::TestQueue;
use tests::messages::Work;

/// Longer than any of these tests may take: a call that returned only when
/// such a spin ran out would fail the test's bound instead of passing.
const LONG_SPIN: Duration = Duration::from_secs(60);

/// Well under [`LONG_SPIN`], and generous for a loaded machine.
const BOUND: Duration = Duration::from_secs(20);

#[test]
fn the_spin_is_set_by_the_options_and_kept_by_clones_and_typed_views() {
    let q = TestQueue::with(|o| {
        o.spin(Duration::from_micros(40));
    });
    assert_eq!(q.spin(), Duration::from_micros(40));
    assert_eq!(q.clone().spin(), Duration::from_micros(40));
    let opened = MsgQueue::options()
        .spin(Duration::from_micros(7))
        .open_id(q.id())
        .unwrap();
    assert_eq!(opened.spin(), Duration::from_micros(7));
    assert_eq!(MsgQueue::open_id(q.id()).unwrap().spin(), Duration::ZERO);

    let typed = TypedQueue::<Work>::from_queue(MsgQueue::open_id(q.id()).unwrap())
        .with_spin(Duration::from_micros(9));
    assert_eq!(typed.as_queue().spin(), Duration::from_micros(9));
    assert_eq!(typed.clone().as_queue().spin(), Duration::from_micros(9));
}

#[test]
fn a_spinning_receive_takes_a_message_sent_while_it_spins() {
    let q = TestQueue::new();
    let spinning = MsgQueue::open_id(q.id()).unwrap().with_spin(LONG_SPIN);
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            q.send(3, b"during").unwrap();
        });
        let started = Instant::now();
        assert_eq!(spinning.recv(Selector::Type(3)).unwrap().body, b"during");
        assert!(started.elapsed() < BOUND);
    });
}

#[test]
fn a_receive_whose_spin_ran_out_sleeps_until_a_message_comes() {
    let q = TestQueue::new();
    let spinning = MsgQueue::open_id(q.id())
        .unwrap()
        .with_spin(Duration::from_micros(20));
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(200));
            q.send(1, b"after").unwrap();
        });
        assert_eq!(spinning.recv(Selector::Any).unwrap().body, b"after");
    });
}

#[test]
fn a_spinning_receive_keeps_to_its_selector() {
    let q = TestQueue::new();
    let spinning = MsgQueue::open_id(q.id()).unwrap().with_spin(LONG_SPIN);
    q.send(1, b"other").unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            q.send(2, b"wanted").unwrap();
        });
        assert_eq!(spinning.recv(Selector::Type(2)).unwrap().body, b"wanted");
    });
    assert_eq!(q.try_recv(Selector::Any).unwrap().unwrap().body, b"other");
}

#[test]
fn the_deadline_ends_a_spin() {
    let q = TestQueue::new();
    let spinning = MsgQueue::open_id(q.id()).unwrap().with_spin(LONG_SPIN);
    let timeout = Duration::from_millis(100);
    let started = Instant::now();
    assert_eq!(spinning.recv_timeout(Selector::Any, timeout).unwrap(), None);
    let waited = started.elapsed();
    assert!(waited >= timeout, "returned early, after {waited:?}");
    assert!(waited < BOUND, "spun past the deadline, for {waited:?}");

    // A send on a full queue too.
    let full = TestQueue::with(|o| {
        o.capacity(8).spin(LONG_SPIN);
    });
    full.send(1, &[0; 8]).unwrap();
    let started = Instant::now();
    let err = full.send_timeout(1, b"x", timeout).unwrap_err();
    assert!(err.is_timed_out(), "{err:?}");
    assert!(started.elapsed() < BOUND);
    assert_eq!(full.stat().unwrap().messages, 1);
}

#[test]
fn a_spinning_send_goes_through_when_room_is_made() {
    let q = TestQueue::with(|o| {
        o.capacity(8).spin(LONG_SPIN);
    });
    q.send(1, &[0; 8]).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            q.recv(Selector::Any).unwrap();
        });
        let started = Instant::now();
        q.send(2, b"in").unwrap();
        assert!(started.elapsed() < BOUND);
    });
    assert_eq!(q.recv(Selector::Any).unwrap().body, b"in");
}

#[test]
fn a_stop_ends_a_spin_even_if_a_reset_follows() {
    let q = TestQueue::new();
    let stop = StopHandle::new();
    let spinning = MsgQueue::open_id(q.id())
        .unwrap()
        .with_stop(stop.clone())
        .with_spin(LONG_SPIN);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let started = Instant::now();
            (spinning.recv(Selector::Any), started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(100));
        stop.stop();
        stop.reset();
        let (got, took) = waiter.join().unwrap();
        assert!(matches!(got, Err(Error::Stopped { .. })), "{got:?}");
        assert!(took < BOUND, "spun on for {took:?} after the stop");
    });
}

#[test]
fn removing_the_queue_ends_a_spin() {
    let q = TestQueue::new();
    let spinning = MsgQueue::open_id(q.id()).unwrap().with_spin(LONG_SPIN);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            let started = Instant::now();
            (spinning.recv(Selector::Any), started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(100));
        q.remove().unwrap();
        let (got, took) = waiter.join().unwrap();
        assert!(got.as_ref().is_err_and(Error::is_removed), "{got:?}");
        assert!(took < BOUND, "spun on for {took:?} after the removal");
    });
}

#[test]
fn typed_receives_spin_as_the_byte_queue_does() {
    let q = TestQueue::new();
    let spinning = q.typed::<Work>().with_spin(LONG_SPIN);
    let sender = TypedQueue::<Work>::open(Key::new(q.key().get())).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            sender.send(tests::job(7)).unwrap();
        });
        assert_eq!(spinning.recv().unwrap(), tests::job(7));
    });
}

/// The state letter of thread `tid` of this process: `R` running or ready to
/// run, `S` asleep, as `/proc` shows it.
fn thread_state(tid: nix::unistd::Pid) -> char {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    // The name in parentheses may hold spaces; the state follows it.
    let after_name = &stat[stat.rfind(')').unwrap() + 1..];
    after_name.trim_start().chars().next().unwrap()
}

#[test]
fn a_spinning_receive_stays_on_the_cpu_and_a_plain_one_sleeps() {
    let q = TestQueue::new();
    for (spin, awake) in [(LONG_SPIN, true), (Duration::ZERO, false)] {
        let waiting = MsgQueue::open_id(q.id()).unwrap().with_spin(spin);
        std::thread::scope(|s| {
            let (tid_tx, tid_rx) = std::sync::mpsc::channel();
            let waiter = s.spawn(move || {
                tid_tx.send(nix::unistd::gettid()).unwrap();
                waiting.recv(Selector::Type(9)).unwrap()
            });
            let tid = tid_rx.recv().unwrap();
            std::thread::sleep(Duration::from_millis(100));
            let states: String = (0..20)
                .map(|_| {
                    std::thread::sleep(Duration::from_millis(5));
                    thread_state(tid)
                })
                .collect();
            q.send(9, b"done").unwrap();
            assert_eq!(waiter.join().unwrap().body, b"done");
            if awake {
                assert!(!states.contains('S'), "slept while spinning: {states}");
            } else {
                assert!(states.chars().all(|c| c == 'S'), "did not sleep: {states}");
            }
        });
    }
}
