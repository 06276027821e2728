//! The measurements. Each two-process one sets up a fresh connection, starts
//! the child(ren), and times its own side from `go` to the last message.

use std::time::{Duration, Instant};

use ipcq::{Bincode, Codec, Key, OpenOptions, Postcard, TypedQueue};
use nix::sys::resource::{UsageWho, getrusage};
use nix::time::{ClockId, clock_gettime};
use serde::Serialize;

use crate::alloc::allocations;
use crate::cleanup::Guard;
use crate::endpoints::{Endpoint, Prepared, Recv, Res, Transport, prepare};
use crate::payload::{BenchMsg, Bytes, Msg16, VecMsg};
use crate::procs::{Peer, Role};
use crate::stats::percentile;

/// Runs `$f::<N>(args)` for the N that `$size` names.
macro_rules! sized {
    ($size:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $size {
            16 => $f::<16>($($arg),*),
            256 => $f::<256>($($arg),*),
            4096 => $f::<4096>($($arg),*),
            other => Err(format!("unsupported size {other}").into()),
        }
    };
}

/// The sum of `seq as u8` over `0..count`: what a receiver's check must find.
pub(crate) fn expected_sum(count: u64) -> u64 {
    (count / 256) * (0..256).sum::<u64>() + (0..count % 256).sum::<u64>()
}

/// Starts `n` child processes playing `role` on the connection `ticket`
/// names (each with `count`), connects the parent's end, and once every
/// child is ready tells them all to go: the children, the parent's end, and
/// the moment the first was told.
fn start_peers(
    n: u64,
    role: Role,
    transport: Transport,
    size: usize,
    ticket: &str,
    count: u64,
    connect: Box<dyn FnOnce() -> Res<Box<dyn Endpoint>>>,
) -> Res<(Vec<Peer>, Box<dyn Endpoint>, Instant)> {
    let mut peers = (0..n)
        .map(|_| Peer::spawn(role, transport, size, ticket, count))
        .collect::<Res<Vec<Peer>>>()?;
    let ep = connect()?;
    for peer in &mut peers {
        peer.expect("ready")?;
    }
    let start = Instant::now();
    for peer in &mut peers {
        peer.go()?;
    }
    Ok((peers, ep, start))
}

/// Waits for each child to report that it is done, and for it to exit; what
/// each reported.
fn finish_all(peers: Vec<Peer>) -> Res<Vec<String>> {
    peers
        .into_iter()
        .map(|mut peer| {
            let report = peer.expect("done")?;
            peer.finish()?;
            Ok(report)
        })
        .collect()
}

/// How many times this thread has given up the CPU to wait (voluntary
/// context switches): a blocking call that had to sleep counts one.
pub(crate) fn thread_waits() -> Res<u64> {
    Ok(u64::try_from(
        getrusage(UsageWho::RUSAGE_THREAD)?.voluntary_context_switches(),
    )?)
}

/// Fails unless the first bytes of the payloads received add up to `expected`.
fn check_sum(transport: Transport, sum: u64, expected: u64) -> Res<()> {
    if sum != expected {
        return Err(format!("{}: wrong payloads received", transport.id()).into());
    }
    Ok(())
}

/// One streaming run.
pub(crate) struct Streamed {
    pub(crate) msgs_per_sec: f64,
    /// Times the receiver slept waiting for a message, per message.
    pub(crate) receiver_waits: f64,
    /// Times the sender slept waiting for room, per message.
    pub(crate) sender_waits: f64,
}

/// Streaming: the child sends `count` payloads as fast as it can; messages
/// per second received by the parent, and how often each side had to wait.
pub(crate) fn stream(transport: Transport, size: usize, count: u64) -> Res<Streamed> {
    sized!(size, stream_n(transport, count))
}

fn stream_n<const N: usize>(transport: Transport, count: u64) -> Res<Streamed> {
    let Prepared {
        ticket,
        guards,
        connect,
    } = prepare::<N>(transport, Recv::Any)?;
    let (peers, mut ep, start) =
        start_peers(1, Role::Produce, transport, N, &ticket, count, connect)?;
    let waits_before = thread_waits()?;
    let mut sum = 0u64;
    for _ in 0..count {
        sum += u64::from(ep.recv()?.ok_or("a stop in the stream")?);
    }
    let elapsed = start.elapsed();
    let receiver_waits = thread_waits()? - waits_before;
    let reports = finish_all(peers)?;
    check_sum(transport, sum, expected_sum(count))?;
    drop(ep);
    drop(guards);
    let sender_waits: u64 = reports
        .first()
        .and_then(|r| r.parse().ok())
        .ok_or("the sender did not report its waits")?;
    Ok(Streamed {
        msgs_per_sec: count as f64 / elapsed.as_secs_f64(),
        receiver_waits: receiver_waits as f64 / count as f64,
        sender_waits: sender_waits as f64 / count as f64,
    })
}

/// Round-trip latencies of one ping-pong run, in microseconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct Latency {
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    /// CPU time the timing process's thread used per timed round trip: what
    /// a transport that polls instead of sleeping pays for its latency.
    pub(crate) cpu_us: f64,
}

/// Ping-pong: the parent sends a payload, the child sends it back; `count`
/// round trips timed one by one after `warmup` untimed ones. With `one_cpu`,
/// both processes are pinned to CPU 0.
pub(crate) fn pingpong(
    transport: Transport,
    size: usize,
    count: u64,
    warmup: u64,
    one_cpu: bool,
) -> Res<Latency> {
    if !one_cpu {
        return sized!(size, pingpong_n(transport, count, warmup));
    }
    on_cpu0(|| sized!(size, pingpong_n(transport, count, warmup)))
}

/// Runs `f` with this thread, and the children it starts (which inherit its
/// mask), pinned to CPU 0.
pub(crate) fn on_cpu0<T>(f: impl FnOnce() -> Res<T>) -> Res<T> {
    let this_thread = nix::unistd::Pid::from_raw(0);
    let before = nix::sched::sched_getaffinity(this_thread)?;
    let mut cpu0 = nix::sched::CpuSet::new();
    cpu0.set(0)?;
    nix::sched::sched_setaffinity(this_thread, &cpu0)?;
    let result = f();
    nix::sched::sched_setaffinity(this_thread, &before)?;
    result
}

fn pingpong_n<const N: usize>(transport: Transport, count: u64, warmup: u64) -> Res<Latency> {
    let Prepared {
        ticket,
        guards,
        connect,
    } = prepare::<N>(transport, Recv::Own)?;
    let (peers, mut ep, _) = start_peers(
        1,
        Role::Echo,
        transport,
        N,
        &ticket,
        warmup + count,
        connect,
    )?;
    let mut samples = Vec::with_capacity(count as usize);
    let mut cpu_before = Duration::ZERO;
    for seq in 0..warmup + count {
        if seq == warmup {
            cpu_before = thread_cpu()?;
        }
        let start = Instant::now();
        ep.send(seq)?;
        let back = ep.recv()?;
        let rtt = start.elapsed();
        if back != Some(seq as u8) {
            return Err(format!("{}: the echo is {back:?}, not {seq}", transport.id()).into());
        }
        if seq >= warmup {
            samples.push(rtt.as_secs_f64() * 1e6);
        }
    }
    let cpu = thread_cpu()? - cpu_before;
    finish_all(peers)?;
    drop(ep);
    drop(guards);
    samples.sort_by(f64::total_cmp);
    Ok(Latency {
        p50_us: percentile(&samples, 50.0),
        p99_us: percentile(&samples, 99.0),
        cpu_us: cpu.as_secs_f64() * 1e6 / count as f64,
    })
}

/// Fan-in: `producers` child processes send `count` 16-byte payloads in all
/// to one queue, the parent receives them; messages per second.
pub(crate) fn fan_in(transport: Transport, producers: u64, count: u64) -> Res<f64> {
    let Prepared {
        ticket,
        guards,
        connect,
    } = prepare::<16>(transport, Recv::Any)?;
    let each = count / producers;
    let (peers, mut ep, start) = start_peers(
        producers,
        Role::Produce,
        transport,
        16,
        &ticket,
        each,
        connect,
    )?;
    let mut sum = 0u64;
    for _ in 0..each * producers {
        sum += u64::from(ep.recv()?.ok_or("a stop in the stream")?);
    }
    let elapsed = start.elapsed();
    finish_all(peers)?;
    check_sum(transport, sum, producers * expected_sum(each))?;
    drop(ep);
    drop(guards);
    Ok((each * producers) as f64 / elapsed.as_secs_f64())
}

/// Fan-out: the parent sends `count` 16-byte payloads, then one stop per
/// consumer, to `consumers` child processes that share one queue; messages
/// per second, until the last consumer has reported.
pub(crate) fn fan_out(transport: Transport, consumers: u64, count: u64) -> Res<f64> {
    let Prepared {
        ticket,
        guards,
        connect,
    } = prepare::<16>(transport, Recv::Any)?;
    let (mut peers, mut ep, start) =
        start_peers(consumers, Role::Consume, transport, 16, &ticket, 0, connect)?;
    ep.send_many(0, count)?;
    for _ in 0..consumers {
        ep.send_stop()?;
    }
    let (mut received, mut sum) = (0u64, 0u64);
    for peer in &mut peers {
        let report = peer.expect("done")?;
        let (n, s) = report.split_once(' ').ok_or("a bad report")?;
        received += n.parse::<u64>()?;
        sum += s.parse::<u64>()?;
    }
    let elapsed = start.elapsed();
    for peer in peers {
        peer.finish()?;
    }
    if (received, sum) != (count, expected_sum(count)) {
        return Err(format!(
            "{}: the consumers received {received} payloads",
            transport.id()
        )
        .into());
    }
    drop(ep);
    drop(guards);
    Ok(count as f64 / elapsed.as_secs_f64())
}

/// What `recv_timeout` costs while nothing arrives.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct TimeoutReport {
    /// How long each idle wait was.
    pub(crate) idle_wait_ms: f64,
    /// CPU time (user + system, this thread) used by each idle wait, in ms.
    pub(crate) idle_cpu_ms: Vec<f64>,
    /// The same as a share of one core.
    pub(crate) idle_cpu_percent_median: f64,
    /// The timeout of the short waits.
    pub(crate) short_wait_ms: f64,
    /// How far past its deadline each short wait returned, in ms.
    pub(crate) late_ms_median: f64,
    pub(crate) late_ms_p99: f64,
    pub(crate) late_ms_max: f64,
    pub(crate) short_waits: usize,
}

/// The CPU time the calling thread has used, user and system.
pub(crate) fn thread_cpu() -> Res<Duration> {
    Ok(clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)?.into())
}

/// `recv_timeout` on an empty TypedQueue: CPU used during `idle_runs` waits
/// of `idle`, and lateness of `short_runs` waits of `short`.
pub(crate) fn recv_timeout(
    idle: Duration,
    idle_runs: usize,
    short: Duration,
    short_runs: usize,
) -> Res<TimeoutReport> {
    let q = TypedQueue::<Msg16>::open_with(Key::private(), OpenOptions::new().create_new(true))?;
    let _guard = Guard::sysv(q.id().get());
    let mut idle_cpu_ms = Vec::new();
    let mut shares = Vec::new();
    for _ in 0..idle_runs {
        let cpu = thread_cpu()?;
        let start = Instant::now();
        if q.recv_timeout(idle)?.is_some() {
            return Err("a message on an empty queue".into());
        }
        let wall = start.elapsed();
        let used = thread_cpu()? - cpu;
        idle_cpu_ms.push(used.as_secs_f64() * 1e3);
        shares.push(used.as_secs_f64() / wall.as_secs_f64() * 100.0);
    }
    let mut late = Vec::new();
    for _ in 0..short_runs {
        let start = Instant::now();
        if q.recv_timeout(short)?.is_some() {
            return Err("a message on an empty queue".into());
        }
        late.push((start.elapsed().as_secs_f64() - short.as_secs_f64()) * 1e3);
    }
    late.sort_by(f64::total_cmp);
    Ok(TimeoutReport {
        idle_wait_ms: idle.as_secs_f64() * 1e3,
        idle_cpu_ms,
        idle_cpu_percent_median: crate::stats::median(&shares),
        short_wait_ms: short.as_secs_f64() * 1e3,
        late_ms_median: percentile(&late, 50.0),
        late_ms_p99: percentile(&late, 99.0),
        late_ms_max: *late.last().expect("some waits"),
        short_waits: short_runs,
    })
}

/// Allocations per message, counted in this thread.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct AllocReport {
    pub(crate) messages: u64,
    /// `TypedQueue::send` of a 16-byte `Bytes<16>` variant, by reference.
    pub(crate) typed_send: f64,
    /// `TypedQueue::recv` of it.
    pub(crate) typed_recv: f64,
    /// `TypedQueue::send` of a `Vec<u8>` variant, by reference.
    pub(crate) typed_vec_send: f64,
    /// `TypedQueue::recv` of it (the vector is allocated, of course).
    pub(crate) typed_vec_recv: f64,
    /// `TypedQueue::send_batch` of `Bytes<16>` messages, per message.
    pub(crate) batch_send: f64,
    /// `TypedQueue::recv` of batched messages, per message.
    pub(crate) batch_recv: f64,
}

/// Sends and receives `rounds` × 256 messages of each kind on a private
/// queue, after a warm-up, counting the allocations of each phase.
pub(crate) fn allocations_per_message(rounds: u64) -> Res<AllocReport> {
    const ROUND: u64 = 256;
    let q = TypedQueue::<Msg16>::open_with(Key::private(), OpenOptions::new().create_new(true))?;
    let _guard = Guard::sysv(q.id().get());
    let vq = TypedQueue::<VecMsg>::from_queue(q.as_queue().clone());
    let msg = Msg16::Up(Bytes::numbered(1));
    let vmsg = VecMsg::Up(vec![1; 16]);
    let batch = || (0..ROUND).map(|seq| Msg16::Up(Bytes::numbered(seq)));

    let during = |f: &mut dyn FnMut() -> Res<()>| -> Res<u64> {
        let before = allocations();
        f()?;
        Ok(allocations() - before)
    };
    let mut counts = [0u64; 6];
    for round in 0..=rounds {
        let phase = [
            during(&mut || (0..ROUND).try_for_each(|_| Ok(q.send(&msg)?)))?,
            during(&mut || (0..ROUND).try_for_each(|_| q.recv().map(drop).map_err(Into::into)))?,
            during(&mut || (0..ROUND).try_for_each(|_| Ok(vq.send(&vmsg)?)))?,
            during(&mut || (0..ROUND).try_for_each(|_| vq.recv().map(drop).map_err(Into::into)))?,
            during(&mut || q.send_batch(batch()).map(drop).map_err(Into::into))?,
            during(&mut || (0..ROUND).try_for_each(|_| q.recv().map(drop).map_err(Into::into)))?,
        ];
        // Round 0 warms the per-thread and batch buffers up.
        if round > 0 {
            for (total, n) in counts.iter_mut().zip(phase) {
                *total += n;
            }
        }
    }
    let messages = rounds * ROUND;
    let per = |n: u64| n as f64 / messages as f64;
    Ok(AllocReport {
        messages,
        typed_send: per(counts[0]),
        typed_recv: per(counts[1]),
        typed_vec_send: per(counts[2]),
        typed_vec_recv: per(counts[3]),
        batch_send: per(counts[4]),
        batch_recv: per(counts[5]),
    })
}

/// One process, one thread: `count` times send a payload, then receive it,
/// never blocking (the batched variant sends as many as fit in one System V
/// message with one `send_batch`, then receives them). What remains is the syscalls and each layer's own work,
/// without the scheduling of two processes; nanoseconds per send + receive.
pub(crate) fn same_thread(transport: Transport, size: usize, count: u64) -> Res<f64> {
    sized!(size, same_thread_n(transport, count))
}

/// [`typed_same_thread`] on queue `$q` with the message type of payload size
/// `N`, in [`same_thread_n`]: one of `$m16`, `$m256` and `$m4096`, and codec
/// `$codec`.
macro_rules! typed_of_size {
    ($q:expr, $count:expr, $batch:expr, $codec:ty, $m16:ident, $m256:ident, $m4096:ident) => {{
        use crate::payload::{$m16, $m256, $m4096};
        let (q, count, batch) = ($q.clone(), $count, $batch);
        match N {
            16 => typed_same_thread::<16, $m16, $codec>(q, count, batch),
            256 => typed_same_thread::<256, $m256, $codec>(q, count, batch),
            4096 => typed_same_thread::<4096, $m4096, $codec>(q, count, batch),
            _ => Err("unsupported size".into()),
        }?
    }};
}

fn same_thread_n<const N: usize>(transport: Transport, count: u64) -> Res<f64> {
    let q = ipcq::MsgQueue::options()
        .create_new(true)
        .open(Key::private())?;
    let _guard = Guard::sysv(q.id().get());
    let id = q.id().get();
    let start;
    // Every loop reads each received payload's first byte, as a receiver
    // that uses the message does, and the sum shows that all came through.
    let mut sum = 0u64;
    match transport {
        Transport::Raw => {
            let mut msg = Box::new(crate::raw::RawMsg {
                mtype: 1,
                text: Bytes::<N>::numbered(0).0,
            });
            let mut buf = crate::raw::recv_buf();
            start = Instant::now();
            for seq in 0..count {
                msg.text[0] = seq as u8;
                crate::raw::send(id, &msg)?;
                crate::raw::recv(id, &mut buf, 0)?;
                sum += u64::from(buf.text[0]);
            }
        }
        Transport::Bytes => {
            let mut payload = Bytes::<N>::numbered(0).0;
            let mut buf = ipcq::MsgBuffer::new();
            start = Instant::now();
            for seq in 0..count {
                payload[0] = seq as u8;
                q.send(1, &payload)?;
                q.recv_into(ipcq::Selector::Any, &mut buf)?;
                sum += u64::from(buf.body()[0]);
            }
        }
        Transport::Typed | Transport::TypedBatch => {
            let batch = transport == Transport::TypedBatch;
            (start, sum) = typed_of_size!(q, count, batch, Bincode, Msg16, Msg256, Msg4096);
        }
        Transport::TypedPostcard => {
            (start, sum) = typed_of_size!(q, count, false, Postcard, Msg16, Msg256, Msg4096);
        }
        Transport::TypedSpin => {
            // Nothing here waits: what is measured is the path a spinning
            // handle's calls take when they need not.
            let q = q.clone().with_spin(crate::endpoints::SPIN);
            (start, sum) = typed_of_size!(q, count, false, Bincode, Msg16, Msg256, Msg4096);
        }
        Transport::TypedRecord => {
            (start, sum) = typed_of_size!(q, count, false, Bincode, Rec16, Rec256, Rec4096);
        }
        Transport::TypedVec => {
            let tq = TypedQueue::<crate::payload::VecMsg>::from_queue(q.clone());
            let mut msg = crate::payload::VecMsg::Up(Bytes::<N>::numbered(0).0.to_vec());
            start = Instant::now();
            for seq in 0..count {
                if let crate::payload::VecMsg::Up(p) = &mut msg {
                    p[0] = seq as u8;
                }
                tq.send(&msg)?;
                match tq.recv()? {
                    crate::payload::VecMsg::Up(p) => sum += u64::from(p[0]),
                    other => return Err(format!("received {other:?}").into()),
                }
            }
        }
        other => return Err(format!("same_thread does not measure {}", other.id()).into()),
    }
    let elapsed = start.elapsed();
    check_sum(transport, sum, expected_sum(count))?;
    Ok(elapsed.as_secs_f64() * 1e9 / count as f64)
}

/// The typed loops of [`same_thread_n`]: when they started, and the sum of
/// the first bytes received.
fn typed_same_thread<const N: usize, M: BenchMsg<N>, C: Codec>(
    q: ipcq::MsgQueue,
    count: u64,
    batch: bool,
) -> Res<(Instant, u64)> {
    let tq = TypedQueue::<M, C>::from_queue(q);
    let mut msg = M::up(Bytes::numbered(0));
    let mut sum = 0u64;
    let start = Instant::now();
    let mut first_byte = |msg: M| {
        sum += u64::from(msg.first_byte().ok_or("a stop message")?);
        Res::Ok(())
    };
    if batch {
        // As many as fit in one System V message, so that it never blocks.
        let chunk = (tq.as_queue().max_message_size() / (N + 10)).max(1) as u64;
        let mut seq = 0;
        while seq < count {
            let end = (seq + chunk).min(count);
            tq.send_batch((seq..end).map(|s| M::up(Bytes::numbered(s))))?;
            for _ in seq..end {
                first_byte(tq.recv()?)?;
            }
            seq = end;
        }
    } else {
        for seq in 0..count {
            if let Some(p) = msg.payload_mut() {
                p[0] = seq as u8;
            }
            tq.send(&msg)?;
            first_byte(tq.recv()?)?;
        }
    }
    Ok((start, sum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_sums_wrap_at_256() {
        let brute = |n: u64| (0..n).map(|i| u64::from(i as u8)).sum::<u64>();
        for n in [0, 1, 255, 256, 257, 1000, 70_000] {
            assert_eq!(expected_sum(n), brute(n), "{n}");
        }
    }
}
