//! What users trust a queue for, under load and faults: nothing lost, nothing
//! duplicated, order kept within a type, nothing hanging.
//!
//! `load_one_million_messages` is the long version of the load test:
//! `cargo test -p tests --test reliability -- --ignored`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ipcq::{TypedQueue, WAKE_SIGNAL};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tests::messages::{Load, Work};
use tests::{TestQueue, peer};

/// Runs `producers` × `per_producer` messages through a queue of `capacity`
/// bytes to `consumers` processes, optionally under a storm of signals, and
/// checks that each message arrived exactly once and in order per producer
/// and type.
fn move_messages(producers: u32, per_producer: u32, consumers: u32, capacity: u64, storm: bool) {
    let raw = TestQueue::with(|o| {
        o.capacity(capacity);
    });
    let q = TypedQueue::<Load>::from_queue((*raw).clone());
    let consumer_procs: Vec<Child> = (0..consumers)
        .map(|_| {
            peer!("consume", raw.key_arg())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let producer_procs: Vec<Child> = (0..producers)
        .map(|p| {
            peer!(
                "produce",
                raw.key_arg(),
                p.to_string(),
                per_producer.to_string()
            )
            .spawn()
            .unwrap()
        })
        .collect();
    let pids: Vec<Pid> = consumer_procs
        .iter()
        .chain(&producer_procs)
        .map(|c| Pid::from_raw(c.id() as i32))
        .collect();

    let storming = AtomicBool::new(storm);
    let mut signals_sent = 0u64;
    std::thread::scope(|s| {
        let stormer = s.spawn(|| {
            let mut sent = 0u64;
            while storming.load(Ordering::Relaxed) {
                for &pid in &pids {
                    // A peer that has exited makes this fail; that is fine.
                    if kill(pid, WAKE_SIGNAL).is_ok() {
                        sent += 1;
                    }
                }
                std::thread::sleep(Duration::from_micros(100));
            }
            sent
        });
        // Read the consumers' reports while they run, or a full pipe would
        // block them, and with them the producers.
        let readers: Vec<_> = consumer_procs
            .into_iter()
            .map(|c| {
                s.spawn(move || {
                    let out = c.wait_with_output().unwrap();
                    let text = String::from_utf8(out.stdout).unwrap();
                    assert!(out.status.success(), "a consumer failed: {text}");
                    text
                })
            })
            .collect();
        for mut p in producer_procs {
            assert!(p.wait().unwrap().success(), "a producer failed");
        }
        for _ in 0..consumers {
            q.send(Load::End).unwrap();
        }
        let outputs: Vec<String> = readers.into_iter().map(|r| r.join().unwrap()).collect();
        storming.store(false, Ordering::Relaxed);
        signals_sent = stormer.join().unwrap();
        check_exactly_once_in_order(&outputs, producers, per_producer);
    });
    if storm {
        println!(
            "storm: {signals_sent} signals sent to {} processes",
            pids.len()
        );
        assert!(
            signals_sent > 100,
            "the storm sent only {signals_sent} signals"
        );
    }
    assert_eq!(raw.stat().unwrap().messages, 0);
}

fn check_exactly_once_in_order(outputs: &[String], producers: u32, per_producer: u32) {
    let mut seen = vec![vec![false; per_producer as usize]; producers as usize];
    let mut total = 0u64;
    for output in outputs {
        // Per consumer, per producer and type, the last sequence number seen.
        let mut last: HashMap<(u32, u32), u32> = HashMap::new();
        for line in output.lines() {
            let (p, s) = line.split_once(' ').unwrap();
            let (p, s): (u32, u32) = (p.parse().unwrap(), s.parse().unwrap());
            assert!(
                !seen[p as usize][s as usize],
                "message {p}/{s} received twice"
            );
            seen[p as usize][s as usize] = true;
            total += 1;
            if let Some(prev) = last.insert((p, s % 2), s) {
                assert!(
                    prev < s,
                    "producer {p}: {s} arrived after {prev} of the same type"
                );
            }
        }
    }
    assert_eq!(
        total,
        u64::from(producers) * u64::from(per_producer),
        "messages lost"
    );
}

#[test]
fn load_with_blocking_senders_loses_and_duplicates_nothing() {
    // 512 bytes of capacity hold about 50 messages: senders block constantly.
    move_messages(3, 10_000, 2, 512, false);
}

#[test]
#[ignore = "long: one million messages; run with --ignored"]
fn load_one_million_messages() {
    move_messages(4, 250_000, 3, 1024, false);
}

#[test]
fn a_signal_storm_loses_and_duplicates_nothing() {
    move_messages(2, 50_000, 2, 512, true);
}

#[test]
fn removal_under_load_ends_every_blocked_sender_and_receiver() {
    let raw = TestQueue::full(64);
    let mut peers: Vec<Child> = (0..3)
        .map(|_| {
            peer!("send-work", raw.key_arg(), "0", "1000")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    peers.extend((0..2).map(|_| {
        peer!("recv", raw.key_arg(), "type:99", "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    }));
    // Let all of them block.
    let deadline = Instant::now() + Duration::from_secs(10);
    while raw.stat().unwrap().last_send_pid == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    raw.remove().unwrap();
    for peer in peers {
        let out = peer.wait_with_output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(3), "{text}");
        assert!(
            text.lines().last().unwrap().starts_with("error removed:"),
            "{text}"
        );
    }
}

/// Starts a slow worker on 20 jobs and returns it with its output lines,
/// once it has started job 2.
#[expect(
    clippy::zombie_processes,
    reason = "the caller waits for the worker it is handed"
)]
fn slow_worker_on_job_2(
    raw: &TestQueue,
) -> (Child, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let q = TypedQueue::<Work>::from_queue((**raw).clone());
    for id in 0..20 {
        q.send(Work::Job {
            id,
            payload: String::new(),
        })
        .unwrap();
    }
    let mut worker = peer!("slow-serve", raw.key_arg(), "300")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(worker.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().unwrap().unwrap();
        if line == "start 2" {
            return (worker, lines);
        }
    }
}

#[test]
fn sigterm_lets_a_worker_finish_the_message_in_hand_and_leaves_the_rest_queued() {
    let raw = TestQueue::new();
    let (worker, mut lines) = slow_worker_on_job_2(&raw);
    kill(Pid::from_raw(worker.id() as i32), Signal::SIGTERM).unwrap();
    let rest: Vec<String> = lines.by_ref().map(Result::unwrap).collect();
    assert_eq!(
        rest,
        ["end 2", "done"],
        "the job in hand is finished, and no other is started"
    );
    let mut worker = worker;
    assert!(worker.wait().unwrap().success());
    // Jobs 0, 1 and 2 were handled; 17 wait for the next worker.
    assert_eq!(raw.stat().unwrap().messages, 17);
}

#[test]
fn sigkill_loses_only_the_message_in_hand() {
    let raw = TestQueue::new();
    let (mut worker, _lines) = slow_worker_on_job_2(&raw);
    kill(Pid::from_raw(worker.id() as i32), Signal::SIGKILL).unwrap();
    assert!(!worker.wait().unwrap().success());
    // Job 2 was taken off the queue and never finished: like any SysV queue,
    // a crash loses what the process had taken. Every other job is still there.
    let q = TypedQueue::<Work>::from_queue((*raw).clone());
    let left: Vec<u64> = q
        .try_iter()
        .map(|m| match m.unwrap() {
            Work::Job { id, .. } => id,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(left, (3..20).collect::<Vec<_>>());
}

#[test]
fn reaching_msgmni_gives_a_clear_error() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: a private IPC namespace needs root");
        return;
    }
    // In a namespace of its own the limit can be lowered without touching the
    // host's queues or the other tests.
    let out = Command::new("unshare")
        .args(["--ipc", env!("CARGO_BIN_EXE_peer"), "fill-msgmni", "8"])
        .output()
        .expect("unshare (util-linux) is needed");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("created 8"));
    let err = lines.next().unwrap();
    assert!(err.starts_with("error limit-reached:"), "{err}");
    assert!(err.contains("msgmni"), "{err}");
}
