//! Several processes and threads on one queue: each message goes to exactly one.

use std::collections::BTreeMap;
use std::process::Stdio;

use ipcq::TypedQueue;
use tests::messages::Work;
use tests::{TestQueue, peer};

#[test]
fn worker_processes_share_jobs_from_producer_processes() {
    let raw = TestQueue::new();
    let q = TypedQueue::<Work>::from_queue((*raw).clone());
    let workers: Vec<_> = (0..3)
        .map(|_| {
            peer!("serve", raw.key_arg())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Two producer processes at once, 300 jobs each.
    let producers: Vec<_> = [(0, 299), (300, 599)]
        .into_iter()
        .map(|(a, b)| {
            peer!("send-work", raw.key_arg(), a.to_string(), b.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut p in producers {
        assert!(p.wait().unwrap().success());
    }
    // One stop per worker; FIFO puts them behind every job.
    for _ in 0..3 {
        q.send(Work::Stop).unwrap();
    }
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.ends_with("stop\ndone\n"), "{text}");
        for line in text.lines().filter_map(|l| l.strip_prefix("job ")) {
            *seen.entry(line.parse().unwrap()).or_default() += 1;
        }
    }
    let expected: BTreeMap<u64, usize> = (0..600).map(|id| (id, 1)).collect();
    assert_eq!(seen, expected, "every job handled exactly once");
    assert_eq!(raw.stat().unwrap().messages, 0);
}

#[test]
fn competing_threads_each_take_a_message_once() {
    let raw = TestQueue::new();
    let q = TypedQueue::<Work>::from_queue((*raw).clone());
    let got: Vec<Vec<u32>> = std::thread::scope(|s| {
        let receivers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        match q.recv().unwrap() {
                            Work::Urgent(n) => mine.push(n),
                            Work::Stop => return mine,
                            other => panic!("unexpected {other:?}"),
                        }
                    }
                })
            })
            .collect();
        let senders: Vec<_> = (0..2u32)
            .map(|t| {
                let q = &q;
                s.spawn(move || {
                    for n in 0..1000 {
                        q.send(Work::Urgent(t * 1000 + n)).unwrap();
                    }
                })
            })
            .collect();
        for sender in senders {
            sender.join().unwrap();
        }
        for _ in 0..4 {
            q.send(Work::Stop).unwrap();
        }
        receivers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut all: Vec<u32> = got.iter().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..2000).collect::<Vec<_>>());
    // Each receiver saw each sender's messages in the order they were sent.
    for mine in &got {
        for t in 0..2 {
            let from_t: Vec<u32> = mine.iter().copied().filter(|n| n / 1000 == t).collect();
            assert!(from_t.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
