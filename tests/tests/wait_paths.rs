//! Calls that may wait, with a deadline, a stop handle or a spin, give what
//! plain calls give: a message that is there is taken, every failure is
//! reported and never taken for a timeout, and a stop refuses the call.
//! A zero timeout and one already past take the shortest way, so they are
//! tried on every kind of handle.

use std::time::{Duration, Instant};

use ipcq::{Error, MsgBuffer, MsgQueue, Selector, StopHandle};
use tests::TestQueue;

const SPIN: Duration = Duration::from_millis(5);

/// Every kind of handle: plain, and the three that a call that may wait
/// takes out of line.
fn handles(q: &TestQueue) -> Vec<(&'static str, MsgQueue, Option<StopHandle>)> {
    let open = || MsgQueue::open_id(q.id()).unwrap();
    let s1 = StopHandle::new();
    let s2 = StopHandle::new();
    vec![
        ("plain", open(), None),
        ("stop", open().with_stop(s1.clone()), Some(s1)),
        ("spin", open().with_spin(SPIN), None),
        (
            "stop+spin",
            open().with_spin(SPIN).with_stop(s2.clone()),
            Some(s2),
        ),
    ]
}

fn timeouts() -> [Duration; 3] {
    [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_millis(30),
    ]
}

#[test]
fn a_message_larger_than_the_buffer_is_taken_even_with_a_zero_timeout() {
    let q = TestQueue::new();
    for (name, h, _) in handles(&q) {
        for t in timeouts() {
            q.send(3, &[5; 6000]).unwrap();
            // No room at all: E2BIG on the inline try, then the buffer grows.
            let mut buf = MsgBuffer::new();
            let got = h.recv_timeout_into(Selector::Any, &mut buf, t);
            assert!(matches!(got, Ok(true)), "{name} {t:?}: {got:?}");
            assert_eq!(buf.body(), &[5; 6000][..], "{name} {t:?}");
            assert_eq!(q.stat().unwrap().messages, 0, "{name} {t:?}");
        }
    }
}

#[test]
fn a_bounded_buffer_too_small_is_too_large_and_the_message_stays() {
    let q = TestQueue::new();
    q.send(3, &[5; 200]).unwrap();
    for (name, h, _) in handles(&q) {
        for t in timeouts() {
            let mut buf = MsgBuffer::bounded(100);
            let got = h.recv_timeout_into(Selector::Any, &mut buf, t);
            assert!(
                matches!(got, Err(Error::TooLarge { .. })),
                "{name} {t:?}: {got:?}"
            );
            assert_eq!(q.stat().unwrap().messages, 1, "{name} {t:?}");
        }
        // And a blocking receive into it.
        let got = h.recv_into(Selector::Any, &mut MsgBuffer::bounded(100));
        assert!(
            matches!(got, Err(Error::TooLarge { .. })),
            "{name}: {got:?}"
        );
        assert_eq!(q.stat().unwrap().messages, 1, "{name}");
    }
}

#[test]
fn a_removed_queue_is_an_error_not_a_timeout() {
    for t in timeouts() {
        let q = TestQueue::new();
        let hs = handles(&q);
        q.remove().unwrap();
        for (name, h, _) in &hs {
            let got = h.recv_timeout(Selector::Any, t);
            assert!(
                got.as_ref().is_err_and(Error::is_removed),
                "{name} {t:?}: {got:?}"
            );
            let got = h.send_timeout(1, b"x", t);
            assert!(
                got.as_ref().is_err_and(Error::is_removed),
                "{name} {t:?}: {got:?}"
            );
        }
        // Blocking calls on handles that go the waiting way.
        for (name, h, _) in &hs[1..] {
            let got = h.recv(Selector::Any);
            assert!(
                got.as_ref().is_err_and(Error::is_removed),
                "{name}: {got:?}"
            );
        }
    }
}

#[test]
fn a_stopped_handle_refuses_timed_and_blocking_receives_and_the_message_stays() {
    let q = TestQueue::new();
    q.send(1, b"kept").unwrap();
    for (name, h, stop) in handles(&q) {
        let Some(stop) = stop else { continue };
        stop.stop();
        for t in timeouts() {
            let got = h.recv_timeout(Selector::Any, t);
            assert!(
                got.as_ref().is_err_and(Error::is_stopped),
                "{name} {t:?}: {got:?}"
            );
            let got = h.recv_timeout_into(Selector::Any, &mut MsgBuffer::new(), t);
            assert!(
                got.as_ref().is_err_and(Error::is_stopped),
                "{name} {t:?}: {got:?}"
            );
        }
        let got = h.recv(Selector::Any);
        assert!(
            got.as_ref().is_err_and(Error::is_stopped),
            "{name}: {got:?}"
        );
        assert_eq!(q.stat().unwrap().messages, 1, "{name}");
        stop.reset();
        assert_eq!(
            h.recv_timeout(Selector::Any, Duration::ZERO)
                .unwrap()
                .unwrap()
                .body,
            b"kept"
        );
        q.send(1, b"kept").unwrap();
    }
}

#[test]
fn timed_calls_on_every_handle_take_what_is_there_and_time_out_on_nothing() {
    let q = TestQueue::with(|o| {
        o.capacity(8);
    });
    for (name, h, _) in handles(&q) {
        for t in timeouts() {
            // Empty: none, after the timeout and not long after it.
            let started = Instant::now();
            assert_eq!(
                h.recv_timeout(Selector::Any, t).unwrap(),
                None,
                "{name} {t:?}"
            );
            let took = started.elapsed();
            assert!(
                took >= t && took < t + Duration::from_secs(5),
                "{name} {t:?}: {took:?}"
            );
            // A message present: taken.
            q.send(2, b"m").unwrap();
            assert_eq!(
                h.recv_timeout(Selector::Any, t).unwrap().unwrap().body,
                b"m",
                "{name} {t:?}"
            );
            // A send with room goes through, on a full queue times out.
            h.send_timeout(1, &[0; 8], t).unwrap();
            let started = Instant::now();
            let got = h.send_timeout(1, b"x", t);
            assert!(
                got.as_ref().is_err_and(Error::is_timed_out),
                "{name} {t:?}: {got:?}"
            );
            assert!(started.elapsed() >= t, "{name} {t:?}");
            assert_eq!(q.recv(Selector::Any).unwrap().body, [0; 8], "{name} {t:?}");
            assert_eq!(q.stat().unwrap().messages, 0);
        }
        // A selector that picks nothing present, with a message of another type.
        q.send(7, b"other").unwrap();
        assert_eq!(
            h.recv_timeout(Selector::Type(3), Duration::ZERO).unwrap(),
            None,
            "{name}"
        );
        assert_eq!(q.recv(Selector::Any).unwrap().body, b"other");
    }
}

#[test]
fn a_message_sent_during_a_short_wait_is_taken_and_a_blocking_call_never_gives_none() {
    let q = TestQueue::new();
    for (name, h, _) in handles(&q) {
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                q.send(1, &[9; 5000]).unwrap();
            });
            let mut buf = MsgBuffer::new();
            let got = h.recv_timeout_into(Selector::Any, &mut buf, Duration::from_secs(10));
            assert!(matches!(got, Ok(true)), "{name}: {got:?}");
            assert_eq!(buf.body().len(), 5000);
        });
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                q.send(1, b"late").unwrap();
            });
            assert_eq!(h.recv(Selector::Any).unwrap().body, b"late", "{name}");
        });
    }
}
