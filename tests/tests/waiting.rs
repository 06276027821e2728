//! Waiting: timeouts, signals that interrupt a blocked call, and stops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipcq::{Error, MsgQueue, Selector, StopHandle, WAKE_SIGNAL};
use nix::sys::pthread::{pthread_kill, pthread_self};
use tests::TestQueue;

#[test]
fn recv_timeout_gives_none_after_the_deadline_and_not_before() {
    let q = TestQueue::new();
    let timeout = Duration::from_millis(150);
    let started = Instant::now();
    assert_eq!(q.recv_timeout(Selector::Any, timeout).unwrap(), None);
    let waited = started.elapsed();
    assert!(waited >= timeout, "returned early, after {waited:?}");
    // Generous: a loaded CI machine may be slow to schedule us.
    assert!(
        waited < timeout + Duration::from_secs(2),
        "returned late, after {waited:?}"
    );
}

#[test]
fn recv_timeout_hands_over_a_message_that_arrives_in_time() {
    let q = TestQueue::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            q.send(4, b"on time").unwrap();
        });
        let msg = q
            .recv_timeout(Selector::Type(4), Duration::from_secs(30))
            .unwrap();
        assert_eq!(msg.map(|m| m.body), Some(b"on time".to_vec()));
    });
}

#[test]
fn a_waiting_message_is_returned_at_once_even_with_a_zero_timeout() {
    let q = TestQueue::new();
    q.send(1, b"ready").unwrap();
    let msg = q.recv_timeout(Selector::Any, Duration::ZERO).unwrap();
    assert_eq!(msg.unwrap().body, b"ready");
    assert_eq!(q.recv_timeout(Selector::Any, Duration::ZERO).unwrap(), None);
}

#[test]
fn send_timeout_fails_on_a_queue_that_stays_full() {
    let q = TestQueue::full(10);
    let started = Instant::now();
    let err = q
        .send_timeout(1, b"x", Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(err, Error::TimedOut { .. }), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(q.stat().unwrap().messages, 1);

    // Room made while waiting lets the send through.
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            q.recv(Selector::Any).unwrap();
        });
        q.send_timeout(2, b"in", Duration::from_secs(30)).unwrap();
    });
    assert_eq!(q.recv(Selector::Any).unwrap().body, b"in");
}

#[test]
fn signals_do_not_end_a_blocked_receive_without_a_stop() {
    let q = TestQueue::new();
    // A timed receive that waits installs ipcq's handler for the wake
    // signal, so that the storm below really interrupts msgrcv with EINTR
    // instead of being ignored (a deadline gone before the wait begins
    // installs nothing: hence a timeout no scheduler delay uses up).
    assert_eq!(
        q.recv_timeout(Selector::Any, Duration::from_millis(50))
            .unwrap(),
        None
    );
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        let receiver = s.spawn(|| {
            tx.send(pthread_self()).unwrap();
            q.recv(Selector::Any)
        });
        let target = rx.recv().unwrap();
        let storm_ends = Instant::now() + Duration::from_millis(200);
        while Instant::now() < storm_ends {
            pthread_kill(target, WAKE_SIGNAL).unwrap();
            std::thread::sleep(Duration::from_micros(200));
        }
        assert!(!receiver.is_finished(), "a signal ended the receive");
        q.send(9, b"after the storm").unwrap();
        assert_eq!(receiver.join().unwrap().unwrap().body, b"after the storm");
    });
}

/// A test queue, a stop handle, and a second handle to the queue that the
/// stop handle stops.
fn stoppable_queue() -> (TestQueue, StopHandle, MsgQueue) {
    let q = TestQueue::new();
    let stop = StopHandle::new();
    let stoppable = MsgQueue::open(q.key()).unwrap().with_stop(stop.clone());
    (q, stop, stoppable)
}

#[test]
fn a_stop_wakes_blocked_calls_and_refuses_new_ones() {
    let (q, stop, stoppable) = stoppable_queue();
    std::thread::scope(|s| {
        let waiters: Vec<_> = (0..3)
            .map(|_| s.spawn(|| stoppable.recv(Selector::Any)))
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        stop.stop();
        assert!(started.elapsed() < Duration::from_secs(2));
        for w in waiters {
            assert!(matches!(w.join().unwrap(), Err(Error::Stopped { .. })));
        }
    });
    // Later blocking calls return at once, and no message was taken.
    q.send(1, b"kept").unwrap();
    assert!(stoppable.recv(Selector::Any).unwrap_err().is_stopped());
    assert!(stoppable.send(1, b"x").unwrap_err().is_stopped());
    // Calls with a deadline too, though these would not have had to wait.
    let long = Duration::from_secs(30);
    let timed = stoppable.recv_timeout(Selector::Any, long);
    assert!(timed.unwrap_err().is_stopped());
    let timed = stoppable.send_timeout(1, b"x", long);
    assert!(timed.unwrap_err().is_stopped());
    assert_eq!(q.stat().unwrap().messages, 1);
    // Non-blocking calls still work, and a reset makes blocking ones work again.
    assert!(stoppable.try_recv(Selector::Any).unwrap().is_some());
    stop.reset();
    stoppable.send(1, b"again").unwrap();
    assert_eq!(stoppable.recv(Selector::Any).unwrap().body, b"again");
}

#[test]
fn a_call_blocked_when_a_stop_is_requested_returns_stopped_though_a_reset_follows() {
    let (q, stop, stoppable) = stoppable_queue();
    let stopping = AtomicBool::new(true);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| stoppable.recv(Selector::Any));
        std::thread::sleep(Duration::from_millis(100));
        // Another thread resets the handle again and again while the stop is
        // under way, so the waiter, when woken, finds no stop requested.
        let (running, started) = mpsc::channel();
        let (stop, stopping) = (&stop, &stopping);
        let resetter = s.spawn(move || {
            running.send(()).unwrap();
            while stopping.load(Ordering::SeqCst) {
                stop.reset();
            }
        });
        started.recv().unwrap();
        stop.stop();
        stopping.store(false, Ordering::SeqCst);
        resetter.join().unwrap();
        // Without the stop, the waiter would take this message.
        q.send(1, b"after").unwrap();
        let got = waiter.join().unwrap();
        assert!(matches!(got, Err(Error::Stopped { .. })), "{got:?}");
    });
    // A call made after the reset waits as usual.
    stop.reset();
    assert_eq!(
        stoppable.try_recv(Selector::Any).unwrap().unwrap().body,
        b"after"
    );
    let waited = stoppable.recv_timeout(Selector::Any, Duration::from_millis(50));
    assert!(matches!(waited, Ok(None)), "{waited:?}");
}

#[test]
fn a_stop_does_not_wait_for_a_call_made_after_a_reset() {
    let (q, stop, stoppable) = stoppable_queue();
    std::thread::scope(|s| {
        // A worker that pauses on a stop, and waits again after a reset.
        let worker = s.spawn(|| {
            let first = stoppable.recv(Selector::Any);
            assert!(matches!(first, Err(Error::Stopped { .. })), "{first:?}");
            stop.reset();
            stoppable.recv(Selector::Any)
        });
        std::thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        stop.stop();
        let took = started.elapsed();
        q.send(1, b"resumed").unwrap();
        assert_eq!(worker.join().unwrap().unwrap().body, b"resumed");
        // Generous: without the fix, stop() kept waking the new call for 5 s.
        assert!(took < Duration::from_secs(2), "stop() took {took:?}");
    });
}

#[test]
fn timeouts_and_stops_end_after_the_program_ignores_the_wake_signal() {
    // In a peer process: the signal's disposition is the whole process's.
    let q = TestQueue::new();
    let out = tests::run_ok_within(
        tests::peer!("wake-signal-ignored", q.key_arg()),
        Duration::from_secs(10),
    );
    assert_eq!(
        out,
        "timeout ended\ntimeout ended\nstop ended\nown handler kept\n"
    );
}

#[test]
fn a_wake_signal_handler_the_program_installed_first_stays() {
    let q = TestQueue::new();
    let out = tests::run_ok_within(
        tests::peer!("wake-signal-handled-first", q.key_arg()),
        Duration::from_secs(10),
    );
    assert_eq!(out, "woken true raised 1\n");
}

#[test]
fn a_timed_wait_made_while_a_panic_unwinds_leaves_no_timer_behind() {
    // In a peer process, whose timers no other test's can be mistaken for.
    let q = TestQueue::new();
    let output = tests::peer!("timed-in-unwind", q.key_arg())
        .output()
        .expect("run the peer");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "timers 0\n");
}

/// Runs `f` on a thread that blocks the wake signal, as programs that take
/// signals in one thread with `sigwait` or a signalfd block them in the
/// others; checks that it still blocks it afterwards.
fn with_wake_signal_blocked<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};
    std::thread::scope(|s| {
        s.spawn(|| {
            let wake = SigSet::from(WAKE_SIGNAL);
            pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&wake), None).unwrap();
            let result = f();
            let mut now = SigSet::empty();
            pthread_sigmask(SigmaskHow::SIG_BLOCK, None, Some(&mut now)).unwrap();
            assert!(now.contains(WAKE_SIGNAL), "the thread's mask was changed");
            result
        })
        .join()
        .unwrap()
    })
}

#[test]
fn timeouts_and_stops_reach_a_thread_that_blocks_the_wake_signal() {
    let (q, stop, stoppable) = stoppable_queue();
    let (done, finished) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        // Should the waits never end, removing the queue ends them (with
        // Removed), so that the test fails instead of hanging.
        let queue = &q;
        s.spawn(move || {
            if finished.recv_timeout(Duration::from_secs(20)).is_err() {
                let _ = queue.remove();
            }
        });
        let started = Instant::now();
        let waited =
            with_wake_signal_blocked(|| q.recv_timeout(Selector::Any, Duration::from_millis(100)));
        assert_eq!(waited.unwrap(), None);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );

        let waiter = s.spawn(|| with_wake_signal_blocked(|| stoppable.recv(Selector::Any)));
        std::thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        stop.stop();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(waiter.join().unwrap().unwrap_err().is_stopped());
        done.send(()).unwrap();
    });
}
