//! Request and reply between two threads on one queue, pinned to two CPUs:
//! the round trip's p50 and p99, and the CPU time the requesting thread uses
//! per round trip, on handles that sleep at once and on handles that spin
//! before they sleep (`with_spin`). `cargo run --release --example round_trip`
//!
//! These are measurements to read, not assertions: run it on the machine
//! the queues will run on, since what a wake-up costs depends on it.

use std::time::{Duration, Instant};

use clap::Parser;
use ipcq::{Key, OpenOptions, QueueMessage, TypedQueue};
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::time::{ClockId, clock_gettime};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// A request and its reply, told apart by mtype: each side receives only
/// its own kind, so one queue carries both directions.
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Rpc {
    /// A request, numbered.
    Ping(u64),
    /// The reply to request `n`.
    Pong(u64),
}

#[derive(Parser)]
#[command(about = "Round trips on handles that sleep, and on handles that spin")]
struct Args {
    /// Timed round trips per measurement.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    round_trips: u64,
    /// How long the spinning handles spin before they sleep, in microseconds.
    #[arg(long, default_value_t = 50)]
    spin_us: u64,
}

/// The CPU time the calling thread has used, user and system.
fn cpu_time() -> Duration {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .expect("clock_gettime")
        .into()
}

/// The CPUs this process may run on.
fn allowed_cpus() -> Vec<usize> {
    let set = sched_getaffinity(Pid::from_raw(0)).expect("sched_getaffinity");
    (0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect()
}

/// Keeps the calling thread on `cpu`.
fn pin(cpu: usize) {
    let mut set = CpuSet::new();
    set.set(cpu).expect("a CPU number within CpuSet");
    sched_setaffinity(Pid::from_raw(0), &set).expect("sched_setaffinity");
}

/// Removes the queue when dropped, however the measurement ends: the
/// replying thread, blocked in a receive, then returns.
struct RemoveOnDrop<'q>(&'q TypedQueue<Rpc>);

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        match self.0.remove() {
            Ok(()) | Err(ipcq::Error::NotFound { .. } | ipcq::Error::Removed { .. }) => {}
            Err(e) => eprintln!("could not remove queue {}: {e}", self.0.id()),
        }
    }
}

/// `round_trips` requests and replies between two threads on `cpus`, both
/// on handles that spin for `spin`; the sorted round trips and the CPU time
/// the requesting thread used per round trip.
fn measure(
    round_trips: u64,
    spin: Duration,
    cpus: (usize, usize),
) -> ipcq::Result<(Vec<Duration>, Duration)> {
    let client = TypedQueue::<Rpc>::open_with(
        Key::private(),
        OpenOptions::new().create_new(true).spin(spin),
    )?;
    let server = client.clone();
    std::thread::scope(|s| {
        // Dropped before the scope waits for its threads, also on a panic.
        let remove_on_exit = RemoveOnDrop(&client);
        let replies = s.spawn(|| {
            pin(cpus.1);
            let replied = reply(&server);
            if replied.is_err() {
                // Ends the requesting thread's wait for a reply.
                let _ = server.remove();
            }
            replied
        });
        let asked = s
            .spawn(|| {
                pin(cpus.0);
                ask(&client, round_trips)
            })
            .join()
            .expect("the requesting thread");
        drop(remove_on_exit);
        let replied = replies.join().expect("the replying thread");
        let (mut times, cpu) = asked?;
        replied?;
        times.sort();
        Ok((times, cpu))
    })
}

/// Replies to each request until the queue is removed.
fn reply(server: &TypedQueue<Rpc>) -> ipcq::Result<()> {
    loop {
        match server.recv_kind(RpcKind::Ping) {
            Ok(Rpc::Ping(n)) => server.send(Rpc::Pong(n))?,
            Ok(other) => unreachable!("received {other:?} by the request's kind"),
            Err(e) if e.is_removed() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// The requesting side of [`measure`].
fn ask(client: &TypedQueue<Rpc>, round_trips: u64) -> ipcq::Result<(Vec<Duration>, Duration)> {
    let mut times = Vec::with_capacity(round_trips as usize);
    let mut cpu = Duration::ZERO;
    // Untimed first: both threads running, caches warm.
    let warm_up = round_trips / 10;
    for n in 0..warm_up + round_trips {
        if n == warm_up {
            cpu = cpu_time();
        }
        let start = Instant::now();
        client.send(Rpc::Ping(n))?;
        let reply = client.recv_kind(RpcKind::Pong)?;
        let took = start.elapsed();
        assert_eq!(reply, Rpc::Pong(n), "a reply to another request");
        if n >= warm_up {
            times.push(took);
        }
    }
    let per_round_trip = (cpu_time() - cpu).div_f64(round_trips as f64);
    Ok((times, per_round_trip))
}

fn main() -> ipcq::Result<()> {
    let args = Args::parse();
    let spin = Duration::from_micros(args.spin_us);
    let cpus = allowed_cpus();
    let pair = match cpus[..] {
        [one] => {
            println!("one CPU ({one}) for both threads: each wake-up is a switch on it");
            (one, one)
        }
        [first, second, ..] => {
            println!("requests on CPU {first}, replies on CPU {second}");
            (first, second)
        }
        [] => unreachable!("a running process may run on some CPU"),
    };
    for (what, spin) in [("sleeping at once", Duration::ZERO), ("spinning", spin)] {
        let (times, cpu) = measure(args.round_trips, spin, pair)?;
        let at = |p: usize| times[(times.len() - 1) * p / 100];
        println!(
            "{what:>16} (spin {spin:?}): round trip p50 {:?}, p99 {:?}; CPU per round trip {cpu:?}",
            at(50),
            at(99),
        );
    }
    Ok(())
}
