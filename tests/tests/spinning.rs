//! Handles that spin before they sleep: the spin changes how a call waits,
//! never what it returns, and deadlines, stops and removal end it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipcq::{Error, MsgBuffer, MsgQueue, Selector, StopHandle, TypedQueue};
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::time::{ClockId, clock_gettime};
use nix::unistd::{Pid, gettid};
use tests::TestQueue;
use tests::messages::Work;

/// Longer than any of these tests may take: a call that returned only when
/// such a spin ran out would fail the test's bound instead of passing.
const LONG_SPIN: Duration = Duration::from_secs(60);

/// Well under [`LONG_SPIN`], and generous for a loaded machine.
const BOUND: Duration = Duration::from_secs(20);

/// A second handle to `q` that spins for `spin`.
fn spinning(q: &TestQueue, spin: Duration) -> MsgQueue {
    MsgQueue::open_id(q.id()).unwrap().with_spin(spin)
}

/// Runs `f` and returns its result with how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed())
}

/// The state letter of thread `tid` of this process: `R` running or ready to
/// run, `S` asleep, as `/proc` shows it.
fn thread_state(tid: Pid) -> char {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    // The name in parentheses may hold spaces; the state follows it.
    let after_name = &stat[stat.rfind(')').unwrap() + 1..];
    after_name.trim_start().chars().next().unwrap()
}

/// The states of thread `tid` at `n` moments 5 ms apart.
fn states(tid: Pid, n: usize) -> String {
    (0..n)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(5));
            thread_state(tid)
        })
        .collect()
}

/// Keeps the calling thread, and the threads it starts from now on, on the
/// first CPU it may run on.
fn pin_to_one_cpu() {
    let allowed = sched_getaffinity(Pid::from_raw(0)).unwrap();
    let first = (0..CpuSet::count())
        .find(|&cpu| allowed.is_set(cpu).unwrap_or(false))
        .unwrap();
    let mut cpus = CpuSet::new();
    cpus.set(first).unwrap();
    sched_setaffinity(Pid::from_raw(0), &cpus).unwrap();
}

/// The CPU time the calling thread has used.
fn thread_cpu() -> Duration {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .unwrap()
        .into()
}

/// Runs `wait` in a thread of its own, which starts waiting after it has
/// sent its id; `watch` looks at that thread by its id, then `arrive` makes
/// the wait end. What `watch` saw.
fn watching<T>(
    wait: impl FnOnce() + Send,
    watch: impl FnOnce(Pid) -> T,
    arrive: impl FnOnce(),
) -> T {
    std::thread::scope(|s| {
        let (tid_tx, tid_rx) = mpsc::channel();
        let waiter = s.spawn(move || {
            tid_tx.send(gettid()).unwrap();
            wait();
        });
        let seen = watch(tid_rx.recv().unwrap());
        arrive();
        waiter.join().unwrap();
        seen
    })
}

/// The states of a thread running `wait` from 50 to 100 ms into the wait
/// (see [`watching`]): all `R` if it spun.
fn spun_while_waiting(wait: impl FnOnce() + Send, arrive: impl FnOnce()) -> String {
    let watch = |tid| {
        std::thread::sleep(Duration::from_millis(50));
        states(tid, 10)
    };
    watching(wait, watch, arrive)
}

#[test]
fn the_spin_is_set_by_the_options_and_kept_by_clones_and_typed_views() {
    let q = TestQueue::with(|o| {
        o.spin(Duration::from_micros(40));
    });
    assert_eq!(q.spin_duration(), Duration::from_micros(40));
    assert_eq!(q.clone().spin_duration(), Duration::from_micros(40));
    let opened = MsgQueue::options()
        .spin(Duration::from_micros(7))
        .open_id(q.id())
        .unwrap();
    assert_eq!(opened.spin_duration(), Duration::from_micros(7));
    assert_eq!(
        MsgQueue::open_id(q.id()).unwrap().spin_duration(),
        Duration::ZERO
    );

    let typed = TypedQueue::<Work>::from_queue(MsgQueue::open_id(q.id()).unwrap())
        .with_spin(Duration::from_micros(9));
    assert_eq!(typed.spin_duration(), Duration::from_micros(9));
    assert_eq!(typed.clone().spin_duration(), Duration::from_micros(9));
}

#[test]
fn a_spinning_receive_takes_a_message_sent_while_it_spins() {
    let q = TestQueue::new();
    let spinning = spinning(&q, LONG_SPIN);
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            q.send(3, b"during").unwrap();
        });
        let (got, took) = timed(|| spinning.recv(Selector::Type(3)));
        assert_eq!(got.unwrap().body, b"during");
        assert!(took < BOUND);
    });
}

#[test]
fn a_spinning_receive_stays_on_the_cpu_then_sleeps_and_a_plain_one_sleeps_at_once() {
    let q = TestQueue::new();
    let spin = Duration::from_millis(400);
    for handle in [spinning(&q, spin), spinning(&q, Duration::ZERO)] {
        let watch = |tid| {
            let started = Instant::now();
            std::thread::sleep(Duration::from_millis(50));
            let early = states(tid, 20);
            let spun_early = started.elapsed() < spin;
            // Long after the spin: asleep in msgrcv, both handles.
            std::thread::sleep(spin + Duration::from_millis(600));
            (early, spun_early, states(tid, 10))
        };
        let (early, spun_early, late) = watching(
            || assert_eq!(handle.recv(Selector::Type(9)).unwrap().body, b"done"),
            watch,
            || q.send(9, b"done").unwrap(),
        );
        if handle.spin_duration().is_zero() {
            assert!(early.chars().all(|c| c == 'S'), "did not sleep: {early}");
        } else if spun_early {
            assert!(!early.contains('S'), "slept while spinning: {early}");
        }
        assert!(late.chars().all(|c| c == 'S'), "did not sleep: {late}");
    }
}

#[test]
fn a_spin_shorter_than_the_timeout_is_followed_by_a_sleep_until_the_deadline() {
    let q = TestQueue::new();
    let spinning = spinning(&q, Duration::from_millis(1));
    let timeout = Duration::from_millis(500);
    let cpu = thread_cpu();
    let (got, took) = timed(|| spinning.recv_timeout(Selector::Any, timeout));
    let used = thread_cpu() - cpu;
    assert_eq!(got.unwrap(), None);
    assert!(took >= timeout, "returned early, after {took:?}");
    assert!(took < BOUND);
    // A spin through the whole timeout would use a good part of it.
    assert!(
        used < Duration::from_millis(100),
        "{used:?} of CPU in a wait of {took:?}"
    );
    // A message that comes after the spin but before the deadline.
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            q.send(1, b"in time").unwrap();
        });
        let got = spinning.recv_timeout(Selector::Any, Duration::from_secs(30));
        assert_eq!(got.unwrap().unwrap().body, b"in time");
    });
}

#[test]
fn non_blocking_calls_do_not_spin() {
    let q = TestQueue::with(|o| {
        o.capacity(8).spin(LONG_SPIN);
    });
    let (got, took) = timed(|| q.try_recv(Selector::Any));
    assert_eq!(got.unwrap(), None);
    assert!(took < BOUND);
    q.send(1, &[0; 8]).unwrap();
    let (got, took) = timed(|| q.try_send(1, b"x"));
    assert!(got.unwrap_err().is_would_block());
    assert!(took < BOUND);
    let typed = q.typed::<Work>().with_spin(LONG_SPIN);
    q.try_recv(Selector::Any).unwrap();
    let (got, took) = timed(|| typed.try_recv());
    assert_eq!(got.unwrap(), None);
    assert!(took < BOUND);
}

#[test]
fn a_spinning_receive_keeps_to_its_selector() {
    let q = TestQueue::new();
    let spinning = spinning(&q, LONG_SPIN);
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
fn a_message_too_large_for_the_buffer_during_a_spin_grows_it_or_stays_queued() {
    let q = TestQueue::new();
    let spinning = spinning(&q, LONG_SPIN);
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            q.send(1, &[7; 6000]).unwrap();
        });
        // A new buffer, which has no room at all, grows to take it.
        let mut buf = MsgBuffer::new();
        let (got, took) = timed(|| spinning.recv_into(Selector::Any, &mut buf));
        got.unwrap();
        assert!(took < BOUND);
        assert_eq!(buf.body(), &[7; 6000][..]);
    });
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            q.send(2, &[8; 200]).unwrap();
        });
        // A bounded one refuses it, and it stays on the queue.
        let mut bounded = MsgBuffer::bounded(100);
        let (got, took) = timed(|| spinning.recv_into(Selector::Any, &mut bounded));
        assert!(matches!(got, Err(Error::TooLarge { .. })), "{got:?}");
        assert!(took < BOUND);
    });
    assert_eq!(q.try_recv(Selector::Any).unwrap().unwrap().body, [8; 200]);
}

#[test]
fn the_deadline_ends_a_spin() {
    let q = TestQueue::new();
    let spinning = spinning(&q, LONG_SPIN);
    let timeout = Duration::from_millis(100);
    let (got, took) = timed(|| spinning.recv_timeout(Selector::Any, timeout));
    assert_eq!(got.unwrap(), None);
    assert!(took >= timeout, "returned early, after {took:?}");
    assert!(took < BOUND, "spun past the deadline, for {took:?}");

    // A send on a full queue too.
    let full = TestQueue::with(|o| {
        o.capacity(8).spin(LONG_SPIN);
    });
    full.send(1, &[0; 8]).unwrap();
    let (got, took) = timed(|| full.send_timeout(1, b"x", timeout));
    assert!(got.as_ref().is_err_and(Error::is_timed_out), "{got:?}");
    assert!(took < BOUND);
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
        let (sent, took) = timed(|| q.send(2, b"in"));
        sent.unwrap();
        assert!(took < BOUND);
    });
    assert_eq!(q.recv(Selector::Any).unwrap().body, b"in");
}

#[test]
fn a_stop_ends_a_spin_even_if_a_reset_follows() {
    let q = TestQueue::full(8);
    let stop = StopHandle::new();
    let spinning = spinning(&q, LONG_SPIN).with_stop(stop.clone());
    let (ready_tx, ready) = mpsc::channel();
    std::thread::scope(|s| {
        let receiver = s.spawn(|| {
            ready_tx.send(()).unwrap();
            timed(|| spinning.recv(Selector::Type(2)).map(drop))
        });
        let sender = s.spawn(|| {
            ready_tx.send(()).unwrap();
            timed(|| spinning.send(1, b"x"))
        });
        ready.recv().unwrap();
        ready.recv().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        stop.stop();
        stop.reset();
        for (got, took) in [receiver.join().unwrap(), sender.join().unwrap()] {
            assert!(matches!(got, Err(Error::Stopped { .. })), "{got:?}");
            assert!(took < BOUND, "spun on for {took:?} after the stop");
        }
    });
}

#[test]
fn a_stop_returns_only_once_a_spinning_call_has_left() {
    let q = TestQueue::new();
    for _ in 0..10 {
        let stop = StopHandle::new();
        let handle = spinning(&q, LONG_SPIN).with_stop(stop.clone());
        let left = AtomicBool::new(false);
        let (ready_tx, ready) = mpsc::channel();
        std::thread::scope(|s| {
            // On one CPU the stopping thread runs on while the spinning one
            // waits for its turn: a stop that did not wait for it would
            // return first.
            pin_to_one_cpu();
            let waiter = s.spawn(|| {
                ready_tx.send(()).unwrap();
                let got = handle.recv(Selector::Any);
                left.store(true, Ordering::SeqCst);
                got
            });
            ready.recv().unwrap();
            std::thread::sleep(Duration::from_millis(50));
            stop.stop();
            let left_first = left.load(Ordering::SeqCst);
            assert!(waiter.join().unwrap().unwrap_err().is_stopped());
            assert!(left_first, "stop() returned while the call went on");
        });
    }
}

#[test]
fn removing_the_queue_ends_a_spin() {
    let q = TestQueue::full(8);
    let spinning = spinning(&q, LONG_SPIN);
    std::thread::scope(|s| {
        let receiver = s.spawn(|| timed(|| spinning.recv(Selector::Type(2)).map(drop)));
        let sender = s.spawn(|| timed(|| spinning.send(1, b"x")));
        std::thread::sleep(Duration::from_millis(100));
        q.remove().unwrap();
        for (got, took) in [receiver.join().unwrap(), sender.join().unwrap()] {
            assert!(got.as_ref().is_err_and(Error::is_removed), "{got:?}");
            assert!(took < BOUND, "spun on for {took:?} after the removal");
        }
    });
}

#[test]
fn spinning_sides_take_turns_on_one_cpu() {
    // Two threads that spin without end, on one CPU: each try yields the CPU
    // to the other, which takes its message at once. A spin that did not
    // yield would hold the CPU until the scheduler took it away, a
    // millisecond or more per turn: seconds of CPU time for these round
    // trips, where yielding takes a fraction of one however busy the
    // machine is.
    let q = TestQueue::new();
    let (ping, pong) = (spinning(&q, LONG_SPIN), spinning(&q, LONG_SPIN));
    const ROUND_TRIPS: u32 = 5000;
    std::thread::scope(|s| {
        pin_to_one_cpu();
        s.spawn(|| {
            for _ in 0..ROUND_TRIPS {
                let msg = pong.recv(Selector::Type(1)).unwrap();
                pong.send(2, &msg.body).unwrap();
            }
        });
        let cpu = thread_cpu();
        for i in 0..ROUND_TRIPS {
            ping.send(1, &i.to_le_bytes()).unwrap();
            let back = ping.recv(Selector::Type(2)).unwrap();
            assert_eq!(back.body, i.to_le_bytes());
        }
        let used = thread_cpu() - cpu;
        assert!(
            used < Duration::from_secs(3),
            "{ROUND_TRIPS} round trips used {used:?} of CPU"
        );
    });
}

#[test]
fn typed_receives_and_sends_spin_as_the_byte_queue_does() {
    let q = TestQueue::with(|o| {
        o.capacity(64);
    });
    let spinning = q.typed::<Work>().with_spin(LONG_SPIN);
    let plain = q.typed::<Work>();
    let seen = spun_while_waiting(
        || assert_eq!(spinning.recv().unwrap(), tests::job(7)),
        || plain.send(tests::job(7)).unwrap(),
    );
    assert!(!seen.contains('S'), "slept while spinning: {seen}");

    // A send that waits for room on a full queue.
    while plain.try_send(tests::job(1)).is_ok() {}
    let queued = q.stat().unwrap().messages;
    let seen = spun_while_waiting(
        || spinning.send(tests::job(8)).unwrap(),
        || {
            plain.recv().unwrap();
        },
    );
    assert!(!seen.contains('S'), "slept while spinning: {seen}");
    assert_eq!(q.stat().unwrap().messages, queued);
}

#[test]
fn with_spin_keeps_the_batch_items_a_typed_handle_has_buffered() {
    let q = TestQueue::new();
    let typed = q.typed::<Work>();
    typed
        .send_batch([Work::Urgent(1), Work::Urgent(2), Work::Urgent(3)])
        .unwrap();
    assert_eq!(typed.recv().unwrap(), Work::Urgent(1));
    let typed = typed.with_spin(LONG_SPIN);
    assert_eq!(typed.pending(), 2);
    assert_eq!(typed.try_recv().unwrap(), Some(Work::Urgent(2)));
    assert_eq!(typed.try_recv().unwrap(), Some(Work::Urgent(3)));
}

#[test]
fn a_worker_loop_on_a_spinning_handle_serves_and_ends_on_a_stop() {
    let q = TestQueue::new();
    let stop = StopHandle::new();
    let worker = q
        .typed::<Work>()
        .with_spin(LONG_SPIN)
        .with_stop(stop.clone());
    let sender = q.typed::<Work>();
    std::thread::scope(|s| {
        let serving = s.spawn(|| {
            let mut handled = Vec::new();
            let (served, took) = timed(|| worker.serve_fn(|m| handled.push(m)));
            (served, took, handled)
        });
        for n in 0..3 {
            // Each arrives while the worker spins for the next.
            std::thread::sleep(Duration::from_millis(20));
            sender.send(Work::Urgent(n)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
        stop.stop();
        let (served, took, handled) = serving.join().unwrap();
        served.unwrap();
        assert_eq!(handled, [Work::Urgent(0), Work::Urgent(1), Work::Urgent(2)]);
        assert!(took < BOUND, "served on for {took:?} after the stop");
    });
}
