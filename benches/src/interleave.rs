//! Interleaved measurements: one pair of processes takes turns over every
//! transport, a block of messages on each, so that each transport is
//! compared with raw `msgsnd`/`msgrcv` a few milliseconds apart rather than
//! seconds apart.
//!
//! The separate streams of `scenarios::stream` measure each transport for a
//! fraction of a second, one after the other; on this kind of machine the
//! speed of the host changes between two such streams by more than the few
//! percent a target of 0.95 x raw is about. Here the child process holds one
//! connection per transport, and a cycle runs one block on each of them in
//! turn, `cycles` times; the parent times each block. A cycle takes tens of
//! milliseconds, so the blocks of one cycle share the host's state, and the
//! ratio of a transport's block to raw's block of the same cycle is a tight
//! pairing. The order is reversed every other cycle, so that no transport
//! always follows the same one.
//!
//! The child starts each block when the parent says `go`, once the parent
//! has finished the previous block: each block starts with empty buffers,
//! and a sender never runs ahead into the next transport's buffers while the
//! receiver still drains the last one's.

use std::io::Write;
use std::time::Instant;

use crate::endpoints::{Endpoint, Prepared, Recv, Res, Transport, open_child, prepare};
use crate::procs::{Peer, await_go};
use crate::scenarios::thread_cpu;
use crate::stats::median;

/// What the blocks of an interleaved run do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// The child streams a block of messages to the parent: the block's
    /// messages per second, timed from its first message to its last.
    Stream,
    /// The parent sends a message and the child sends it back, a block of
    /// round trips timed one by one: the block's median round trip, as round
    /// trips per second.
    PingPong,
}

impl Pattern {
    pub(crate) fn id(self) -> &'static str {
        match self {
            Pattern::Stream => "stream",
            Pattern::PingPong => "pingpong",
        }
    }

    fn from_id(id: &str) -> Option<Pattern> {
        [Pattern::Stream, Pattern::PingPong]
            .into_iter()
            .find(|p| p.id() == id)
    }

    /// What the receives select on a System V queue both directions share.
    fn recv(self) -> Recv {
        match self {
            Pattern::Stream => Recv::Any,
            Pattern::PingPong => Recv::Own,
        }
    }
}

/// What one transport's blocks of an interleaved run measured, a value per
/// cycle.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    /// Messages per second streaming; for ping-pong the inverse of the
    /// block's median round trip.
    pub(crate) per_sec: Vec<f64>,
    /// Ping-pong only: the CPU time the timing thread used per round trip
    /// of the block, in microseconds.
    pub(crate) cpu_us: Vec<f64>,
}

/// The order of the transports' blocks in cycle `cycle`: forwards in even
/// cycles, backwards in odd ones.
fn order(cycle: u64, transports: usize) -> impl Iterator<Item = usize> {
    let forwards = cycle.is_multiple_of(2);
    (0..transports).map(move |i| if forwards { i } else { transports - 1 - i })
}

/// One interleaved run: for each transport, in the order given, what its
/// block measured in each cycle.
pub(crate) fn run(
    pattern: Pattern,
    transports: &[Transport],
    size: usize,
    block: u64,
    cycles: u64,
) -> Res<Vec<Blocks>> {
    match size {
        16 => run_n::<16>(pattern, transports, block, cycles),
        256 => run_n::<256>(pattern, transports, block, cycles),
        4096 => run_n::<4096>(pattern, transports, block, cycles),
        other => Err(format!("unsupported size {other}").into()),
    }
}

fn run_n<const N: usize>(
    pattern: Pattern,
    transports: &[Transport],
    block: u64,
    cycles: u64,
) -> Res<Vec<Blocks>> {
    if block < 2 {
        return Err("a block needs at least two messages to be timed".into());
    }
    let mut tickets = Vec::new();
    let mut guards = Vec::new();
    let mut connects = Vec::new();
    for &t in transports {
        let Prepared {
            ticket,
            guards: g,
            connect,
        } = prepare::<N>(t, pattern.recv())?;
        tickets.push(ticket);
        guards.extend(g);
        connects.push(connect);
    }
    let mut args = vec![
        "--child".to_owned(),
        "interleave".to_owned(),
        pattern.id().to_owned(),
        N.to_string(),
        block.to_string(),
        cycles.to_string(),
    ];
    for (t, ticket) in transports.iter().zip(&tickets) {
        args.push(t.id().to_owned());
        args.push(ticket.clone());
    }
    let mut peer = Peer::spawn_with(&args)?;
    let mut eps = connects
        .into_iter()
        .map(|connect| connect())
        .collect::<Res<Vec<Box<dyn Endpoint>>>>()?;
    peer.expect("ready")?;

    let mut blocks: Vec<Blocks> = transports.iter().map(|_| Blocks::default()).collect();
    let mut seq = 0u64;
    let mut sum = 0u64;
    let mut round_trips = Vec::with_capacity(block as usize);
    for cycle in 0..cycles {
        for i in order(cycle, transports.len()) {
            let ep = &mut eps[i];
            peer.go()?;
            match pattern {
                Pattern::Stream => {
                    // Timed from the block's first message to its last:
                    // `block - 1` arrivals, none of them the switch from the
                    // previous transport.
                    sum += u64::from(ep.recv()?.ok_or("a stop in the stream")?);
                    let start = Instant::now();
                    for _ in 1..block {
                        sum += u64::from(ep.recv()?.ok_or("a stop in the stream")?);
                    }
                    blocks[i]
                        .per_sec
                        .push((block - 1) as f64 / start.elapsed().as_secs_f64());
                }
                Pattern::PingPong => {
                    round_trips.clear();
                    let cpu = thread_cpu()?;
                    for _ in 0..block {
                        let start = Instant::now();
                        ep.send(seq)?;
                        let back = ep.recv()?;
                        round_trips.push(start.elapsed().as_secs_f64());
                        if back != Some(seq as u8) {
                            let id = transports[i].id();
                            return Err(format!("{id}: the echo is {back:?}, not {seq}").into());
                        }
                        seq += 1;
                    }
                    let cpu = thread_cpu()? - cpu;
                    blocks[i].per_sec.push(1.0 / median(&round_trips));
                    blocks[i]
                        .cpu_us
                        .push(cpu.as_secs_f64() * 1e6 / block as f64);
                }
            }
        }
    }
    peer.expect("done")?;
    peer.finish()?;
    let total = block * cycles * transports.len() as u64;
    if pattern == Pattern::Stream && sum != crate::scenarios::expected_sum(total) {
        return Err("interleaved: wrong payloads received".into());
    }
    drop(eps);
    drop(guards);
    Ok(blocks)
}

/// The child's side:
/// `--child interleave PATTERN SIZE BLOCK CYCLES (TRANSPORT TICKET)...`.
pub(crate) fn child_main(args: &[String]) -> Res<()> {
    let [pattern, size, block, cycles, pairs @ ..] = args else {
        return Err(format!("bad interleave arguments {args:?}").into());
    };
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return Err(format!("bad interleave transports {pairs:?}").into());
    }
    let pattern = Pattern::from_id(pattern).ok_or("unknown pattern")?;
    let block: u64 = block.parse()?;
    let cycles: u64 = cycles.parse()?;
    let mut eps = pairs
        .chunks(2)
        .map(|pair| {
            let transport = Transport::from_id(&pair[0]).ok_or("unknown transport")?;
            let (ticket, recv) = (&pair[1], pattern.recv());
            match size.as_str() {
                "16" => open_child::<16>(transport, ticket, recv),
                "256" => open_child::<256>(transport, ticket, recv),
                "4096" => open_child::<4096>(transport, ticket, recv),
                other => Err(format!("unsupported size {other}").into()),
            }
        })
        .collect::<Res<Vec<Box<dyn Endpoint>>>>()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    let mut seq = 0;
    for cycle in 0..cycles {
        for i in order(cycle, eps.len()) {
            await_go()?;
            let ep = &mut eps[i];
            match pattern {
                Pattern::Stream => ep.send_many(seq, block)?,
                Pattern::PingPong => {
                    for _ in 0..block {
                        let byte = ep.recv()?.ok_or("a stop in a ping-pong")?;
                        ep.send(u64::from(byte))?;
                    }
                }
            }
            seq += block;
        }
    }
    writeln!(out, "done")?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_other_cycle_runs_backwards() {
        assert_eq!(order(0, 3).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(order(1, 3).collect::<Vec<_>>(), [2, 1, 0]);
        assert_eq!(order(2, 3).collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn patterns_round_trip_through_their_ids() {
        for p in [Pattern::Stream, Pattern::PingPong] {
            assert_eq!(Pattern::from_id(p.id()), Some(p));
        }
    }
}
