//! Measures `recv_timeout`: the CPU it uses while idle, how soon after the
//! deadline it returns, and how soon it hands over a message that arrives
//! while it waits. `cargo run --release --example recv_timeout`
//!
//! These are measurements to read, not assertions: the README quotes them.

use std::time::{Duration, Instant};

use ipcq::{Key, MsgQueue, Selector};
use nix::time::{ClockId, clock_gettime};

/// The CPU time the calling thread has used, user and system.
fn cpu_time() -> Duration {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .expect("clock_gettime")
        .into()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> ipcq::Result<()> {
    let q = MsgQueue::create(Key::private())?;

    // 1. CPU while idle: one long wait with nothing arriving.
    let idle = Duration::from_secs(2);
    let cpu = cpu_time();
    assert!(q.recv_timeout(Selector::Any, idle)?.is_none());
    let used = cpu_time() - cpu;
    println!(
        "idle: {:?} of CPU during a {:?} wait ({:.4}% of a core)",
        used,
        idle,
        100.0 * used.as_secs_f64() / idle.as_secs_f64()
    );

    // 2. Overshoot: how long after the deadline an empty wait returns.
    let timeout = Duration::from_millis(20);
    let late: Vec<Duration> = (0..50)
        .map(|_| {
            let start = Instant::now();
            assert!(q.recv_timeout(Selector::Any, timeout).unwrap().is_none());
            start.elapsed() - timeout
        })
        .collect();
    let worst = *late.iter().max().unwrap();
    println!(
        "deadline: returns {:?} after it (median of 50), {worst:?} at worst",
        median(late)
    );

    // 3. Hand-over: a message sent while the receiver waits.
    let mut delays = Vec::new();
    for _ in 0..50 {
        std::thread::scope(|s| {
            let sender = s.spawn(|| {
                std::thread::sleep(Duration::from_millis(5));
                let sent = Instant::now();
                q.send(1, b"now").unwrap();
                sent
            });
            let msg = q
                .recv_timeout(Selector::Any, Duration::from_secs(10))
                .unwrap();
            let got = Instant::now();
            assert!(msg.is_some());
            delays.push(got - sender.join().unwrap());
        });
    }
    let worst = *delays.iter().max().unwrap();
    println!(
        "hand-over: message in hand {:?} after it was sent (median of 50), {worst:?} at worst",
        median(delays)
    );

    q.remove()
}
