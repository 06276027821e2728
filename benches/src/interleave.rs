//! Interleaved streaming: one sender and one receiver take turns over every
//! transport, a block of messages on each, so that each transport is
//! compared with raw `msgsnd`/`msgrcv` a few milliseconds apart rather than
//! seconds apart.
//!
//! The separate streams of `scenarios::stream` measure each transport for a
//! fraction of a second, one after the other; on this kind of machine the
//! speed of the host changes between two such streams by more than the few
//! percent a target of 0.95 x raw is about. Here the child process holds one
//! connection per transport and sends `block` messages on the first, then
//! `block` on the second, and so on, a cycle over all of them, `cycles` times;
//! the parent receives them in the same order and times each block. A cycle
//! takes tens of milliseconds, so the blocks of one cycle share the host's
//! state, and the ratio of a transport's block to raw's block of the same
//! cycle is a tight pairing. The order is reversed every other cycle, so that
//! no transport always follows the same one.
//!
//! The child starts each block when the parent says `go`, once the parent
//! has received the previous block whole: each block is a short stream that
//! starts with empty buffers, and the sender never runs ahead into the next
//! transport's buffers while the receiver still drains the last one's.

use std::io::Write;
use std::time::Instant;

use crate::endpoints::{Endpoint, Prepared, Recv, Res, Transport, open_child, prepare};
use crate::procs::{Peer, await_go};

/// The order of the transports' blocks in cycle `cycle`: forwards in even
/// cycles, backwards in odd ones.
fn order(cycle: u64, transports: usize) -> impl Iterator<Item = usize> {
    let forwards = cycle.is_multiple_of(2);
    (0..transports).map(move |i| if forwards { i } else { transports - 1 - i })
}

/// One interleaved run: for each transport, in the order given, the messages
/// per second of its block in each cycle.
pub(crate) fn run(
    transports: &[Transport],
    size: usize,
    block: u64,
    cycles: u64,
) -> Res<Vec<Vec<f64>>> {
    match size {
        16 => run_n::<16>(transports, block, cycles),
        256 => run_n::<256>(transports, block, cycles),
        4096 => run_n::<4096>(transports, block, cycles),
        other => Err(format!("unsupported size {other}").into()),
    }
}

fn run_n<const N: usize>(transports: &[Transport], block: u64, cycles: u64) -> Res<Vec<Vec<f64>>> {
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
        } = prepare::<N>(t, Recv::Any)?;
        tickets.push(ticket);
        guards.extend(g);
        connects.push(connect);
    }
    let mut args = vec![
        "--child".to_owned(),
        "interleave".to_owned(),
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

    let mut rates = vec![Vec::with_capacity(cycles as usize); transports.len()];
    let mut sum = 0u64;
    for cycle in 0..cycles {
        for i in order(cycle, transports.len()) {
            let ep = &mut eps[i];
            peer.go()?;
            // Timed from the block's first message to its last: `block - 1`
            // arrivals, none of them the switch from the previous transport.
            sum += u64::from(ep.recv()?.ok_or("a stop in the stream")?);
            let start = Instant::now();
            for _ in 1..block {
                sum += u64::from(ep.recv()?.ok_or("a stop in the stream")?);
            }
            rates[i].push((block - 1) as f64 / start.elapsed().as_secs_f64());
        }
    }
    peer.expect("done")?;
    peer.finish()?;
    let total = block * cycles * transports.len() as u64;
    if sum != crate::scenarios::expected_sum(total) {
        return Err("interleaved: wrong payloads received".into());
    }
    drop(eps);
    drop(guards);
    Ok(rates)
}

/// The child's side: `--child interleave SIZE BLOCK CYCLES (TRANSPORT TICKET)...`.
pub(crate) fn child_main(args: &[String]) -> Res<()> {
    let [size, block, cycles, pairs @ ..] = args else {
        return Err(format!("bad interleave arguments {args:?}").into());
    };
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return Err(format!("bad interleave transports {pairs:?}").into());
    }
    let block: u64 = block.parse()?;
    let cycles: u64 = cycles.parse()?;
    let mut eps = pairs
        .chunks(2)
        .map(|pair| {
            let transport = Transport::from_id(&pair[0]).ok_or("unknown transport")?;
            match size.as_str() {
                "16" => open_child::<16>(transport, &pair[1], Recv::Any),
                "256" => open_child::<256>(transport, &pair[1], Recv::Any),
                "4096" => open_child::<4096>(transport, &pair[1], Recv::Any),
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
            eps[i].send_many(seq, block)?;
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
}
