//! The results: what was measured, the table printed, and the JSON written.

use std::fmt::Write as _;

use serde::Serialize;

use crate::endpoints::Transport;
use crate::interleave::Pattern;
use crate::scenarios::{AllocReport, Latency, TimeoutReport};
use crate::stats::{median, median_ci95, quartiles};

/// Everything one run measured.
#[derive(Debug, Serialize)]
pub(crate) struct Results {
    pub(crate) command: String,
    pub(crate) quick: bool,
    pub(crate) runs: usize,
    pub(crate) machine: Machine,
    pub(crate) streaming: Vec<StreamRow>,
    pub(crate) interleaved: Vec<InterleavedRow>,
    pub(crate) pingpong: Vec<PingRow>,
    pub(crate) fan: Vec<FanRow>,
    pub(crate) overhead: Vec<OverheadRow>,
    pub(crate) batching: Option<BatchRow>,
    pub(crate) recv_timeout: Option<TimeoutReport>,
    pub(crate) allocations: Option<AllocReport>,
    pub(crate) targets: Vec<Target>,
    pub(crate) seconds: f64,
}

/// Where it ran.
#[derive(Debug, Serialize)]
pub(crate) struct Machine {
    pub(crate) nproc: usize,
    pub(crate) cpu: String,
    pub(crate) kernel: String,
    pub(crate) rustc: String,
    pub(crate) msgmax: usize,
    pub(crate) msgmnb: usize,
    /// Whether the run had an IPC namespace of its own (`--msgmnb`).
    pub(crate) private_ipc_namespace: bool,
    pub(crate) mq_msg_max: String,
    /// The depth POSIX queues got, for 16, 256 and 4096-byte payloads.
    pub(crate) mq_depths: Vec<i64>,
    pub(crate) loadavg_before: String,
    pub(crate) loadavg_after: String,
}

impl Machine {
    pub(crate) fn read() -> Machine {
        let file = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpu = file("/proc/cpuinfo")
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_else(|| "unknown".into());
        let rustc = std::process::Command::new("rustc")
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map_or_else(|| "unknown".into(), |s| s.trim().to_owned());
        let limits = ipcq::Limits::read().ok();
        Machine {
            nproc: std::thread::available_parallelism().map_or(0, usize::from),
            cpu,
            kernel: file("/proc/sys/kernel/osrelease").trim().to_owned(),
            rustc,
            msgmax: limits.map_or(0, |l| l.msgmax),
            msgmnb: limits.map_or(0, |l| l.msgmnb),
            private_ipc_namespace: false,
            mq_msg_max: file("/proc/sys/fs/mqueue/msg_max").trim().to_owned(),
            mq_depths: [
                crate::endpoints::mq_depth_used::<16>(),
                crate::endpoints::mq_depth_used::<256>(),
                crate::endpoints::mq_depth_used::<4096>(),
            ]
            .into_iter()
            .map(|d| d.unwrap_or(-1))
            .collect(),
            loadavg_before: file("/proc/loadavg").trim().to_owned(),
            loadavg_after: String::new(),
        }
    }
}

/// Streaming throughput of one transport at one size.
#[derive(Debug, Serialize)]
pub(crate) struct StreamRow {
    pub(crate) transport: &'static str,
    pub(crate) label: &'static str,
    pub(crate) size: usize,
    pub(crate) messages: u64,
    /// Messages per second, one value per run.
    pub(crate) msgs_per_sec: Vec<f64>,
    /// Times the receiver slept waiting for a message, per message, one
    /// value per run (voluntary context switches).
    pub(crate) receiver_waits: Vec<f64>,
    /// Times the sender slept waiting for room, per message, one value per run.
    pub(crate) sender_waits: Vec<f64>,
    /// The round (from 1) of each value in `msgs_per_sec`.
    pub(crate) rounds: Vec<usize>,
    pub(crate) median: Option<f64>,
    /// This transport's throughput over raw msgsnd/msgrcv's at the same size
    /// in the same round, one value per round both ran in.
    pub(crate) x_raw: PairedRatios,
    pub(crate) errors: Vec<String>,
}

/// One transport at one size in an interleaved run (`interleave.rs`).
#[derive(Debug, Serialize)]
pub(crate) struct InterleavedRow {
    /// `stream`, or `pingpong` and where the processes run (`PLACEMENTS`).
    pub(crate) pattern: &'static str,
    pub(crate) placement: Option<&'static str>,
    pub(crate) transport: &'static str,
    pub(crate) label: &'static str,
    pub(crate) size: usize,
    /// Messages (streaming) or round trips (ping-pong) per block.
    pub(crate) block: u64,
    /// The rate of each of this transport's blocks: messages per second
    /// streaming, and for ping-pong the inverse of the block's median round
    /// trip.
    pub(crate) per_sec: Vec<f64>,
    /// Ping-pong only: the CPU time the timing process's thread used per
    /// round trip, in microseconds, block by block.
    pub(crate) cpu_us: Vec<f64>,
    /// The round (from 1) and the cycle in it (from 0) of each block.
    pub(crate) cycles: Vec<(usize, u64)>,
    pub(crate) median: Option<f64>,
    /// Ping-pong only: the median of `cpu_us`.
    pub(crate) cpu_us_median: Option<f64>,
    /// Each block's throughput over raw's block of the same cycle.
    pub(crate) x_raw: PairedRatios,
    pub(crate) errors: Vec<String>,
}

impl InterleavedRow {
    pub(crate) fn new(
        pattern: Pattern,
        placement: Option<&'static str>,
        transport: Transport,
        size: usize,
        block: u64,
    ) -> Self {
        InterleavedRow {
            pattern: pattern.id(),
            placement,
            transport: transport.id(),
            label: transport.label(),
            size,
            block,
            per_sec: Vec::new(),
            cpu_us: Vec::new(),
            cycles: Vec::new(),
            median: None,
            cpu_us_median: None,
            x_raw: PairedRatios::default(),
            errors: Vec::new(),
        }
    }
}

/// A transport's throughput over raw msgsnd/msgrcv's, measurement by
/// measurement, and what those ratios say.
#[derive(Debug, Default, Serialize)]
pub(crate) struct PairedRatios {
    /// One ratio per measurement that both ran in.
    pub(crate) values: Vec<f64>,
    /// Their median: what the tables call "x raw".
    pub(crate) median: Option<f64>,
    /// Their first and third quartiles.
    pub(crate) quartiles: Option<(f64, f64)>,
    /// A confidence interval of at least 95 % for the median of the
    /// distribution they come from (from 6 values on; `stats::median_ci95`).
    pub(crate) ci95: Option<(f64, f64)>,
}

impl PairedRatios {
    fn of(values: Vec<f64>) -> Self {
        PairedRatios {
            median: median_of(&values),
            quartiles: quartiles(&values),
            ci95: median_ci95(&values),
            values,
        }
    }

    /// "0.950 x raw (median of N rounds, quartiles …, 95 % CI …)".
    fn describe(&self, unit: &str) -> Option<String> {
        let median = self.median?;
        let spread = self
            .quartiles
            .map(|(q1, q3)| format!(", quartiles {q1:.2} to {q3:.2}"))
            .unwrap_or_default();
        let ci = self
            .ci95
            .map(|(lo, hi)| format!(", 95 % CI of the median {lo:.3} to {hi:.3}"))
            .unwrap_or_default();
        Some(format!(
            "{median:.3} x raw (median of {} {unit}{spread}{ci})",
            self.values.len()
        ))
    }
}

/// Ping-pong round trips of one transport at one size.
#[derive(Debug, Serialize)]
pub(crate) struct PingRow {
    /// `one-cpu`: both processes pinned to CPU 0; `any-cpu`: where the
    /// scheduler puts them.
    pub(crate) placement: &'static str,
    pub(crate) transport: &'static str,
    pub(crate) label: &'static str,
    pub(crate) size: usize,
    pub(crate) round_trips: u64,
    pub(crate) runs: Vec<Latency>,
    pub(crate) p50_us: Option<f64>,
    pub(crate) p99_us: Option<f64>,
    /// Median over runs of the timing process's CPU time per round trip.
    pub(crate) cpu_us: Option<f64>,
    /// p50 over raw's p50 at the same size (lower is better).
    pub(crate) p50_ratio_to_raw: Option<f64>,
    pub(crate) errors: Vec<String>,
}

/// Fan-in or fan-out throughput.
#[derive(Debug, Serialize)]
pub(crate) struct FanRow {
    pub(crate) pattern: &'static str,
    pub(crate) transport: &'static str,
    pub(crate) label: &'static str,
    pub(crate) processes: u64,
    pub(crate) messages: u64,
    pub(crate) msgs_per_sec: Vec<f64>,
    pub(crate) median: Option<f64>,
    pub(crate) ratio_to_raw: Option<f64>,
    pub(crate) errors: Vec<String>,
}

/// Send then receive in one thread, 16-byte payloads: each layer's own cost
/// on top of the two syscalls, without a second process's scheduling.
#[derive(Debug, Serialize)]
pub(crate) struct OverheadRow {
    pub(crate) size: usize,
    pub(crate) transport: &'static str,
    pub(crate) label: &'static str,
    pub(crate) pairs: u64,
    /// Nanoseconds per send + receive, one value per run.
    pub(crate) ns_per_pair: Vec<f64>,
    pub(crate) median: Option<f64>,
    pub(crate) ratio_to_raw: Option<f64>,
    pub(crate) errors: Vec<String>,
}

impl OverheadRow {
    pub(crate) fn new(transport: Transport, size: usize, pairs: u64) -> Self {
        OverheadRow {
            size,
            transport: transport.id(),
            label: transport.label(),
            pairs,
            ns_per_pair: Vec::new(),
            median: None,
            ratio_to_raw: None,
            errors: Vec::new(),
        }
    }
}

/// Batched typed messages against raw per-message sends, 16 bytes.
#[derive(Debug, Serialize)]
pub(crate) struct BatchRow {
    pub(crate) raw_per_message: Option<f64>,
    pub(crate) typed_per_message: Option<f64>,
    pub(crate) typed_batched: Option<f64>,
    pub(crate) ratio_to_raw: Option<f64>,
    pub(crate) chunk: u64,
}

/// A target of issue 5 and whether this run met it.
#[derive(Debug, Serialize)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) met: bool,
    pub(crate) detail: String,
}

pub(crate) fn median_of(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| median(values))
}

/// Sets each row's `value` over the raw transport's `value` in the same
/// group (`key` gives a row's transport and group), or `None` where either is
/// missing.
fn set_ratios_to_raw<R, G: PartialEq>(
    rows: &mut [R],
    key: impl Fn(&R) -> (&'static str, G),
    value: impl Fn(&R) -> Option<f64>,
    set: impl Fn(&mut R, Option<f64>),
) {
    let raw: Vec<(G, Option<f64>)> = rows
        .iter()
        .map(|r| (key(r), value(r)))
        .filter(|((transport, _), _)| *transport == Transport::Raw.id())
        .map(|((_, group), v)| (group, v))
        .collect();
    for row in rows.iter_mut() {
        let (_, group) = key(row);
        let raw = raw.iter().find(|(g, _)| *g == group).and_then(|(_, v)| *v);
        let ratio = value(row).zip(raw).map(|(v, r)| v / r);
        set(row, ratio);
    }
}

/// `values` over `raw_values`, wherever a value and a raw value have the
/// same key (the round, or the round and cycle, they were measured in).
fn paired_ratios<K: PartialEq>(
    keys: &[K],
    values: &[f64],
    raw_keys: &[K],
    raw_values: &[f64],
) -> Vec<f64> {
    keys.iter()
        .zip(values)
        .filter_map(|(key, value)| {
            let i = raw_keys.iter().position(|k| k == key)?;
            Some(value / raw_values[i])
        })
        .collect()
}

/// For each row, its values over those of the raw row of the same group,
/// paired by key: `id` gives a row's transport and group, `keyed` its keys
/// and values.
fn paired_with_raw<R, G: PartialEq, K: PartialEq>(
    rows: &[R],
    id: impl Fn(&R) -> (&'static str, G),
    keyed: impl Fn(&R) -> (&[K], &[f64]),
) -> Vec<PairedRatios> {
    rows.iter()
        .map(|row| {
            let (_, group) = id(row);
            let raw = rows.iter().find(|r| {
                let (transport, g) = id(r);
                transport == Transport::Raw.id() && g == group
            });
            let ratios = raw.map_or_else(Vec::new, |raw| {
                let ((keys, values), (raw_keys, raw_values)) = (keyed(row), keyed(raw));
                paired_ratios(keys, values, raw_keys, raw_values)
            });
            PairedRatios::of(ratios)
        })
        .collect()
}

impl Results {
    /// Results with nothing measured yet.
    pub(crate) fn new(command: String, quick: bool, runs: usize, machine: Machine) -> Self {
        Results {
            command,
            quick,
            runs,
            machine,
            streaming: Vec::new(),
            interleaved: Vec::new(),
            pingpong: Vec::new(),
            fan: Vec::new(),
            overhead: Vec::new(),
            batching: None,
            recv_timeout: None,
            allocations: None,
            targets: Vec::new(),
            seconds: 0.0,
        }
    }
}

impl StreamRow {
    pub(crate) fn new(transport: Transport, size: usize, messages: u64) -> Self {
        StreamRow {
            transport: transport.id(),
            label: transport.label(),
            size,
            messages,
            msgs_per_sec: Vec::new(),
            receiver_waits: Vec::new(),
            sender_waits: Vec::new(),
            rounds: Vec::new(),
            median: None,
            x_raw: PairedRatios::default(),
            errors: Vec::new(),
        }
    }
}

impl PingRow {
    pub(crate) fn new(
        transport: Transport,
        size: usize,
        round_trips: u64,
        placement: &'static str,
    ) -> Self {
        PingRow {
            placement,
            transport: transport.id(),
            label: transport.label(),
            size,
            round_trips,
            runs: Vec::new(),
            p50_us: None,
            p99_us: None,
            cpu_us: None,
            p50_ratio_to_raw: None,
            errors: Vec::new(),
        }
    }
}

/// Fills in medians and ratios once all runs are in.
pub(crate) fn summarize(results: &mut Results) {
    for row in &mut results.streaming {
        row.median = median_of(&row.msgs_per_sec);
    }
    // Ratios are taken round by round: the machine's speed drifts between
    // rounds, and a transport and raw measured seconds apart share more of
    // that drift than medians taken over the whole run do.
    let ratios = paired_with_raw(
        &results.streaming,
        |r| (r.transport, r.size),
        |r| (&r.rounds[..], &r.msgs_per_sec[..]),
    );
    for (row, ratios) in results.streaming.iter_mut().zip(ratios) {
        row.x_raw = ratios;
    }
    // Interleaved blocks pair with raw's block of the same cycle.
    let ratios = paired_with_raw(
        &results.interleaved,
        |r| (r.transport, (r.pattern, r.placement, r.size)),
        |r| (&r.cycles[..], &r.per_sec[..]),
    );
    for (row, ratios) in results.interleaved.iter_mut().zip(ratios) {
        row.median = median_of(&row.per_sec);
        row.cpu_us_median = median_of(&row.cpu_us);
        row.x_raw = ratios;
    }

    for row in &mut results.pingpong {
        let p50: Vec<f64> = row.runs.iter().map(|l| l.p50_us).collect();
        let p99: Vec<f64> = row.runs.iter().map(|l| l.p99_us).collect();
        let cpu: Vec<f64> = row.runs.iter().map(|l| l.cpu_us).collect();
        row.p50_us = median_of(&p50);
        row.p99_us = median_of(&p99);
        row.cpu_us = median_of(&cpu);
    }
    set_ratios_to_raw(
        &mut results.pingpong,
        |r| (r.transport, (r.placement, r.size)),
        |r| r.p50_us,
        |r, ratio| r.p50_ratio_to_raw = ratio,
    );

    for row in &mut results.fan {
        row.median = median_of(&row.msgs_per_sec);
    }
    set_ratios_to_raw(
        &mut results.fan,
        |r| (r.transport, r.pattern),
        |r| r.median,
        |r, ratio| r.ratio_to_raw = ratio,
    );

    for row in &mut results.overhead {
        row.median = median_of(&row.ns_per_pair);
    }
    set_ratios_to_raw(
        &mut results.overhead,
        |r| (r.transport, r.size),
        |r| r.median,
        |r, ratio| r.ratio_to_raw = ratio,
    );

    let median16 = |t: Transport| {
        results
            .streaming
            .iter()
            .find(|r| r.transport == t.id() && r.size == 16)
            .and_then(|r| r.median)
    };
    if let Some(batch) = &mut results.batching {
        batch.raw_per_message = median16(Transport::Raw);
        batch.typed_per_message = median16(Transport::Typed);
        batch.typed_batched = median16(Transport::TypedBatch);
        batch.ratio_to_raw = batch
            .typed_batched
            .zip(batch.raw_per_message)
            .map(|(b, r)| b / r);
    }
    results.targets = targets(results);
}

fn targets(results: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    let stream = |t: Transport, size: usize| {
        results
            .streaming
            .iter()
            .find(|r| r.transport == t.id() && r.size == size)
    };
    let interleaved = |t: Transport, size: usize, pattern: Pattern, placement: Option<&str>| {
        results.interleaved.iter().find(|r| {
            r.transport == t.id()
                && r.size == size
                && r.pattern == pattern.id()
                && r.placement == placement
        })
    };
    // The target itself, then the same for a variant that puts the bare
    // payload on the queue as raw does: what is left there is ipcq's code,
    // not the framing. Judged on the separate streams and, more tightly, on
    // the interleaved blocks.
    let per_message = [
        (Transport::Typed, ""),
        (Transport::TypedRecord, ", #[ipcq(bytes)] [u8; N] variant"),
    ];
    for (transport, which) in per_message {
        for size in crate::payload::SIZES {
            let framing = (transport == Transport::Typed)
                .then(|| stream(Transport::RawTypedSize, size)?.x_raw.median)
                .flatten()
                .map(|r| format!("; raw at TypedQueue's body size: {r:.2} x raw"))
                .unwrap_or_default();
            let measured = [
                (
                    "streaming",
                    stream(transport, size).map(|r| (&r.x_raw, "rounds")),
                ),
                (
                    "interleaved streaming",
                    interleaved(transport, size, Pattern::Stream, None)
                        .map(|r| (&r.x_raw, "cycles")),
                ),
            ];
            for (how, row) in measured {
                let Some((ratios, unit)) = row else {
                    continue;
                };
                let (Some(ratio), Some(detail)) = (ratios.median, ratios.describe(unit)) else {
                    continue;
                };
                out.push(Target {
                    name: format!("TypedQueue {how} >= 0.95 x raw at {size} B{which}"),
                    met: ratio >= 0.95,
                    detail: format!("{detail}{framing}"),
                });
            }
        }
    }
    if let Some(a) = &results.allocations {
        out.push(Target {
            name: "0 allocations per message on send and receive (no heap fields)".into(),
            met: a.typed_send == 0.0 && a.typed_recv == 0.0,
            detail: format!(
                "send {:.3}, recv {:.3}; batched: send {:.4}, recv {:.4}",
                a.typed_send, a.typed_recv, a.batch_send, a.batch_recv
            ),
        });
    }
    if let Some(ratio) = results.batching.as_ref().and_then(|b| b.ratio_to_raw) {
        out.push(Target {
            name: "send_batch of 16-byte typed messages >= 10 x raw per-message".into(),
            met: ratio >= 10.0,
            detail: format!("{ratio:.1} x raw"),
        });
    }
    let peers = [Transport::IpcChannel, Transport::PosixMq, Transport::Uds];
    // TypedQueue as it comes, then on handles that spin before they sleep
    // (opt-in: it spends CPU time on waiting).
    let spun = format!(
        "TypedQueue with a {} us spin",
        crate::endpoints::SPIN.as_micros()
    );
    let typed = [
        (Transport::Typed, "TypedQueue"),
        (Transport::TypedSpin, spun.as_str()),
    ];
    for (transport, who) in typed {
        for size in [16, 256] {
            // Compared as ratios to raw, as the streaming tables show them.
            let ratio = |t: Transport| stream(t, size).and_then(|r| r.x_raw.median);
            out.extend(ahead_of_peers(
                who,
                format!("streaming ahead of every peer at {size} B"),
                ratio(transport),
                peers.map(|p| (p, ratio(p))),
                |typed, peer| typed > peer,
                |x| format!("{x:.2}x raw"),
            ));
            let ratio = |t: Transport| {
                interleaved(t, size, Pattern::Stream, None).and_then(|r| r.x_raw.median)
            };
            out.extend(ahead_of_peers(
                who,
                format!("interleaved streaming ahead of every peer at {size} B"),
                ratio(transport),
                peers.map(|p| (p, ratio(p))),
                |typed, peer| typed > peer,
                |x| format!("{x:.3}x raw"),
            ));
            for placement in PLACEMENTS {
                // Round trips per second over raw's: above is faster.
                let ratio = |t: Transport| {
                    interleaved(t, size, Pattern::PingPong, Some(placement))
                        .and_then(|r| r.x_raw.median)
                };
                out.extend(ahead_of_peers(
                    who,
                    format!(
                        "interleaved ping-pong faster than every peer at {size} B ({placement})"
                    ),
                    ratio(transport),
                    peers.map(|p| (p, ratio(p))),
                    |typed, peer| typed > peer,
                    |x| format!("{x:.3}x raw"),
                ));
                let ping = |t: Transport| {
                    results
                        .pingpong
                        .iter()
                        .find(|r| {
                            r.transport == t.id() && r.size == size && r.placement == placement
                        })
                        .and_then(|r| r.p50_us)
                };
                out.extend(ahead_of_peers(
                    who,
                    format!("ping-pong p50 below every peer at {size} B ({placement})"),
                    ping(transport),
                    peers.map(|p| (p, ping(p))),
                    |typed, peer| typed < peer,
                    |x| format!("{x:.1} us"),
                ));
            }
        }
    }
    out
}

/// The target "`who` `what`": that TypedQueue's `typed` (measured as `who`)
/// beats every peer's value; none when TypedQueue or every peer went
/// unmeasured (`--transports`).
fn ahead_of_peers<const P: usize>(
    who: &str,
    what: String,
    typed: Option<f64>,
    peers: [(Transport, Option<f64>); P],
    beats: impl Fn(f64, f64) -> bool,
    show: impl Fn(f64) -> String,
) -> Option<Target> {
    let typed = typed?;
    let measured: Vec<(Transport, f64)> = peers
        .into_iter()
        .filter_map(|(p, v)| Some((p, v?)))
        .collect();
    if measured.is_empty() {
        return None;
    }
    let compared: Vec<String> = measured
        .iter()
        .map(|&(p, v)| format!("{} {}", p.id(), show(v)))
        .collect();
    Some(Target {
        name: format!("{who} {what}"),
        met: measured.iter().all(|&(_, v)| beats(typed, v)),
        detail: format!("{who} {}; {}", show(typed), compared.join(", ")),
    })
}

/// Where the ping-pong processes run.
pub(crate) const PLACEMENTS: [&str; 2] = ["one-cpu", "any-cpu"];

/// The interleaved measurements, in the order they run and are printed:
/// streaming, then ping-pong in each placement.
pub(crate) const INTERLEAVED: [(Pattern, Option<&str>); 3] = [
    (Pattern::Stream, None),
    (Pattern::PingPong, Some(PLACEMENTS[0])),
    (Pattern::PingPong, Some(PLACEMENTS[1])),
];

/// What a placement means, for headings.
fn placement_text(placement: &str) -> &'static str {
    match placement {
        "one-cpu" => "both processes on CPU 0",
        _ => "processes where the scheduler puts them",
    }
}

/// `1234567.8` as `1,234,568`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn opt(value: Option<f64>, f: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "-".into(), f)
}

/// Writes a table with a row per transport, in the order the rows first name
/// them, and a column per payload size: `key` gives a row's transport, label
/// and size, `cell` its entry; "-" where a transport has no row at a size.
fn size_table<R>(
    s: &mut String,
    rows: &[R],
    key: impl Fn(&R) -> (&'static str, &'static str, usize),
    cell: impl Fn(&R) -> String,
) {
    let _ = writeln!(s, "| transport | 16 B | 256 B | 4096 B |");
    let _ = writeln!(s, "|---|---:|---:|---:|");
    let mut seen = Vec::new();
    for row in rows {
        let (transport, label, _) = key(row);
        if seen.contains(&transport) {
            continue;
        }
        seen.push(transport);
        let cells: Vec<String> = crate::payload::SIZES
            .iter()
            .map(|&size| {
                rows.iter()
                    .find(|r| {
                        let (t, _, n) = key(r);
                        t == transport && n == size
                    })
                    .map_or_else(|| "-".into(), &cell)
            })
            .collect();
        let _ = writeln!(s, "| {label} | {} |", cells.join(" | "));
    }
}

/// The tables, as Markdown.
pub(crate) fn render(results: &Results) -> String {
    let mut s = String::new();
    let m = &results.machine;
    let _ = writeln!(
        s,
        "ipcq-benches{}: {} run(s) each, medians; {} cores, {}, Linux {}, {}; \
         System V queues hold {} B{}; POSIX mq depth {:?}",
        if results.quick { " --quick" } else { "" },
        results.runs,
        m.nproc,
        m.cpu,
        m.kernel,
        m.rustc,
        m.msgmnb,
        if m.private_ipc_namespace {
            " (private IPC namespace)"
        } else {
            ""
        },
        m.mq_depths
    );

    if !results.streaming.is_empty() {
        let _ = writeln!(
            s,
            "\n### Streaming throughput, messages/s (x raw: median over rounds of the ratio to raw in the same round)\n"
        );
        size_table(
            &mut s,
            &results.streaming,
            |r| (r.transport, r.label, r.size),
            |r| {
                if !r.errors.is_empty() && r.median.is_none() {
                    return "failed".into();
                }
                format!(
                    "{} ({})",
                    opt(r.median, thousands),
                    opt(r.x_raw.median, |x| format!("{x:.2}x"))
                )
            },
        );
    }

    for (pattern, placement) in INTERLEAVED {
        let rows: Vec<&InterleavedRow> = results
            .interleaved
            .iter()
            .filter(|r| r.pattern == pattern.id() && r.placement == placement)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let (title, unit, cell): (String, &str, fn(&InterleavedRow) -> String) = match placement
        {
            None => (
                "Interleaved streaming, x raw: median over cycles of the ratio to raw's block in the same cycle (95 % CI)".into(),
                "message",
                |_| String::new(),
            ),
            Some(placement) => (
                format!(
                    "Interleaved ping-pong, {}: median round trip in us, the timing process's CPU time per round trip (median over blocks), and x raw: median over cycles of raw's round trip over the transport's in the same cycle (95 % CI)",
                    placement_text(placement)
                ),
                "round-trip",
                |r| {
                    let round_trip = opt(r.median, |per_sec| format!("{:.1} us", 1e6 / per_sec));
                    let cpu = opt(r.cpu_us_median, |us| format!("{us:.1}"));
                    format!("{round_trip}, CPU {cpu}, ")
                },
            ),
        };
        let _ = writeln!(s, "\n### {title}\n");
        let blocks: Vec<String> = crate::payload::SIZES
            .iter()
            .filter_map(|&size| {
                let row = rows.iter().find(|r| r.size == size)?;
                Some(format!(
                    "{size} B: {} cycles of one {}-{unit} block per transport",
                    row.per_sec.len(),
                    row.block
                ))
            })
            .collect();
        let _ = writeln!(s, "{}.\n", blocks.join("; "));
        size_table(
            &mut s,
            &rows,
            |r| (r.transport, r.label, r.size),
            |r| {
                if !r.errors.is_empty() && r.median.is_none() {
                    return "failed".into();
                }
                let ci = r
                    .x_raw
                    .ci95
                    .map(|(lo, hi)| format!(" ({lo:.3} to {hi:.3})"))
                    .unwrap_or_default();
                let value = cell(r);
                format!("{value}{}{ci}", opt(r.x_raw.median, |x| format!("{x:.3}x")))
            },
        );
    }

    if results
        .streaming
        .iter()
        .any(|r| !r.receiver_waits.is_empty())
    {
        let _ = writeln!(
            s,
            "\n### Streaming: sleeps per message, receiver / sender (voluntary context switches, medians)\n"
        );
        size_table(
            &mut s,
            &results.streaming,
            |r| (r.transport, r.label, r.size),
            |r| match (median_of(&r.receiver_waits), median_of(&r.sender_waits)) {
                (Some(receiver), Some(sender)) => format!("{receiver:.3} / {sender:.3}"),
                _ => "-".into(),
            },
        );
    }

    for placement in PLACEMENTS {
        if !results.pingpong.iter().any(|r| r.placement == placement) {
            continue;
        }
        let _ = writeln!(
            s,
            "\n### Ping-pong round trip, p50 / p99 in microseconds, and CPU time per round trip of the timing process, {}\n",
            placement_text(placement)
        );
        let rows: Vec<&PingRow> = results
            .pingpong
            .iter()
            .filter(|r| r.placement == placement)
            .collect();
        size_table(
            &mut s,
            &rows,
            |r| (r.transport, r.label, r.size),
            |r| {
                if r.p50_us.is_none() && !r.errors.is_empty() {
                    return "failed".into();
                }
                format!(
                    "{} / {}, CPU {}",
                    opt(r.p50_us, |x| format!("{x:.1}")),
                    opt(r.p99_us, |x| format!("{x:.1}")),
                    opt(r.cpu_us, |x| format!("{x:.1}"))
                )
            },
        );
    }

    if !results.fan.is_empty() {
        let _ = writeln!(
            s,
            "\n### Fan-in and fan-out, 16-byte messages, messages/s\n"
        );
        let _ = writeln!(s, "| pattern | transport | processes | msg/s | x raw |");
        let _ = writeln!(s, "|---|---|---:|---:|---:|");
        for row in &results.fan {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                row.pattern,
                row.label,
                row.processes,
                opt(row.median, thousands),
                opt(row.ratio_to_raw, |x| format!("{x:.2}"))
            );
        }
    }

    if !results.overhead.is_empty() {
        let _ = writeln!(
            s,
            "\n### One thread: send then receive, ns per message pair (x raw)\n"
        );
        size_table(
            &mut s,
            &results.overhead,
            |r| (r.transport, r.label, r.size),
            |r| {
                format!(
                    "{} ({})",
                    opt(r.median, |x| format!("{x:.0}")),
                    opt(r.ratio_to_raw, |x| format!("{x:.2}x"))
                )
            },
        );
    }

    if let Some(b) = &results.batching {
        let _ = writeln!(s, "\n### Batching, 16-byte messages, messages/s\n");
        let _ = writeln!(s, "| sender | msg/s | x raw |");
        let _ = writeln!(s, "|---|---:|---:|");
        let _ = writeln!(
            s,
            "| raw msgsnd, one per message | {} | 1.00 |",
            opt(b.raw_per_message, thousands)
        );
        let _ = writeln!(
            s,
            "| TypedQueue::send, one per message | {} | {} |",
            opt(b.typed_per_message, thousands),
            opt(
                b.typed_per_message
                    .zip(b.raw_per_message)
                    .map(|(t, r)| t / r),
                |x| format!("{x:.2}")
            )
        );
        let _ = writeln!(
            s,
            "| TypedQueue::send_batch, chunks of {} | {} | {} |",
            b.chunk,
            opt(b.typed_batched, thousands),
            opt(b.ratio_to_raw, |x| format!("{x:.1}"))
        );
    }

    if let Some(t) = &results.recv_timeout {
        let _ = writeln!(s, "\n### recv_timeout with nothing arriving\n");
        let _ = writeln!(s, "| what | measured |");
        let _ = writeln!(s, "|---|---:|");
        let cpu: Vec<String> = t.idle_cpu_ms.iter().map(|c| format!("{c:.2}")).collect();
        let _ = writeln!(
            s,
            "| CPU per {:.0} ms wait (ms, each run) | {} ({:.3} % of a core, median) |",
            t.idle_wait_ms,
            cpu.join(", "),
            t.idle_cpu_percent_median
        );
        let _ = writeln!(
            s,
            "| return past the deadline, {} waits of {:.0} ms | median {:.3} ms, p99 {:.3} ms, max {:.3} ms |",
            t.short_waits, t.short_wait_ms, t.late_ms_median, t.late_ms_p99, t.late_ms_max
        );
    }

    if let Some(a) = &results.allocations {
        let _ = writeln!(
            s,
            "\n### Allocations per message ({} messages each)\n",
            a.messages
        );
        let _ = writeln!(s, "| call | allocations per message |");
        let _ = writeln!(s, "|---|---:|");
        for (what, n) in [
            ("TypedQueue::send, Bytes<16> variant", a.typed_send),
            ("TypedQueue::recv, Bytes<16> variant", a.typed_recv),
            ("TypedQueue::send, Vec<u8> variant", a.typed_vec_send),
            ("TypedQueue::recv, Vec<u8> variant", a.typed_vec_recv),
            ("TypedQueue::send_batch, Bytes<16>", a.batch_send),
            ("TypedQueue::recv of batched Bytes<16>", a.batch_recv),
        ] {
            let _ = writeln!(s, "| {what} | {n:.3} |");
        }
    }

    if !results.targets.is_empty() {
        let _ = writeln!(s, "\n### Targets\n");
        let _ = writeln!(s, "| target | met | measured |");
        let _ = writeln!(s, "|---|---|---|");
        for t in &results.targets {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                t.name,
                if t.met { "yes" } else { "**no**" },
                t.detail
            );
        }
    }

    let errors: Vec<String> = results
        .streaming
        .iter()
        .flat_map(|r| {
            r.errors
                .iter()
                .map(move |e| format!("stream {} {} B: {e}", r.transport, r.size))
        })
        .chain(results.pingpong.iter().flat_map(|r| {
            r.errors.iter().map(move |e| {
                format!(
                    "ping-pong {} {} {} B: {e}",
                    r.placement, r.transport, r.size
                )
            })
        }))
        .chain(results.overhead.iter().flat_map(|r| {
            r.errors
                .iter()
                .map(move |e| format!("same thread {} {} B: {e}", r.transport, r.size))
        }))
        .chain(results.fan.iter().flat_map(|r| {
            r.errors
                .iter()
                .map(move |e| format!("{} {}: {e}", r.pattern, r.transport))
        }))
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(s, "\n### Failed runs\n");
        for e in errors {
            let _ = writeln!(s, "- {e}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: Transport, rounds: &[usize], values: &[f64]) -> StreamRow {
        let mut row = StreamRow::new(t, 16, 1);
        row.rounds = rounds.to_vec();
        row.msgs_per_sec = values.to_vec();
        row
    }

    fn results_of(streaming: Vec<StreamRow>) -> Results {
        let machine = Machine {
            nproc: 0,
            cpu: String::new(),
            kernel: String::new(),
            rustc: String::new(),
            msgmax: 0,
            msgmnb: 0,
            private_ipc_namespace: false,
            mq_msg_max: String::new(),
            mq_depths: Vec::new(),
            loadavg_before: String::new(),
            loadavg_after: String::new(),
        };
        Results {
            streaming,
            ..Results::new(String::new(), false, 0, machine)
        }
    }

    #[test]
    fn ratios_pair_values_of_the_same_round() {
        // Round 2 of raw failed, round 3 of the typed queue failed.
        let raw = row(Transport::Raw, &[1, 3, 4], &[100.0, 200.0, 400.0]);
        let typed = row(Transport::Typed, &[1, 2, 4], &[90.0, 50.0, 200.0]);

        let mut results = results_of(vec![raw, typed]);
        summarize(&mut results);
        let typed = &results.streaming[1];
        assert_eq!(typed.x_raw.values, [0.9, 0.5]);
        assert_eq!(typed.x_raw.median, Some(0.7));
        assert_eq!(results.streaming[0].x_raw.median, Some(1.0));
    }

    #[test]
    fn interleaved_blocks_pair_with_raw_in_the_same_cycle_and_size() {
        let row = |t: Transport, size: usize, cycles: &[(usize, u64)], rates: &[f64]| {
            let mut row = InterleavedRow::new(Pattern::Stream, None, t, size, 10);
            row.cycles = cycles.to_vec();
            row.per_sec = rates.to_vec();
            row
        };
        let mut results = results_of(Vec::new());
        results.interleaved = vec![
            row(
                Transport::Raw,
                16,
                &[(1, 0), (1, 1), (2, 0)],
                &[100.0, 200.0, 50.0],
            ),
            // Cycle (1, 1) of this row failed; (2, 1) has no raw block.
            row(
                Transport::Typed,
                16,
                &[(1, 0), (2, 0), (2, 1)],
                &[90.0, 40.0, 70.0],
            ),
            row(Transport::Raw, 256, &[(1, 0)], &[1000.0]),
            row(Transport::Typed, 256, &[(1, 0)], &[500.0]),
        ];
        summarize(&mut results);
        let typed16 = &results.interleaved[1].x_raw;
        assert_eq!(typed16.values, [0.9, 0.8]);
        assert!((typed16.median.unwrap() - 0.85).abs() < 1e-12);
        assert_eq!(results.interleaved[3].x_raw.values, [0.5]);
        assert_eq!(results.interleaved[1].median, Some(70.0));
    }

    #[test]
    fn interleaved_round_trips_give_the_median_cpu_time_of_their_blocks() {
        let mut results = results_of(Vec::new());
        let mut row =
            InterleavedRow::new(Pattern::PingPong, Some("any-cpu"), Transport::Raw, 16, 10);
        row.cycles = vec![(1, 0), (1, 1), (1, 2)];
        row.per_sec = vec![1.0e5, 2.0e5, 3.0e5];
        row.cpu_us = vec![9.0, 3.5, 4.0];
        results.interleaved = vec![row];
        summarize(&mut results);
        assert_eq!(results.interleaved[0].cpu_us_median, Some(4.0));
        let report = render(&results);
        assert!(report.contains("5.0 us, CPU 4.0, 1.000x"), "{report}");
    }

    #[test]
    fn ratios_to_raw_are_within_each_group() {
        let row = |t: Transport, size: usize, ns: f64| {
            let mut row = OverheadRow::new(t, size, 1);
            row.ns_per_pair = vec![ns];
            row
        };
        let mut results = results_of(Vec::new());
        results.overhead = vec![
            row(Transport::Raw, 16, 100.0),
            row(Transport::Typed, 16, 150.0),
            row(Transport::Raw, 256, 200.0),
            row(Transport::Typed, 256, 100.0),
            row(Transport::Typed, 4096, 300.0),
        ];
        summarize(&mut results);
        let ratios: Vec<Option<f64>> = results.overhead.iter().map(|r| r.ratio_to_raw).collect();
        assert_eq!(ratios, [Some(1.0), Some(1.5), Some(1.0), Some(0.5), None]);
    }

    #[test]
    fn peers_are_judged_only_when_measured() {
        let faster = |typed: f64, peer: f64| typed > peer;
        let show = |x: f64| format!("{x:.2}x raw");
        let none = [(Transport::PosixMq, None), (Transport::Uds, None)];
        assert!(ahead_of_peers("TypedQueue", "t".into(), Some(0.9), none, faster, show).is_none());
        let some = [(Transport::PosixMq, Some(0.7)), (Transport::Uds, None)];
        assert!(ahead_of_peers("TypedQueue", "t".into(), None, some, faster, show).is_none());

        let ahead =
            ahead_of_peers("TypedQueue", "t".into(), Some(0.9), some, faster, show).unwrap();
        assert!(ahead.met);
        assert_eq!(ahead.detail, "TypedQueue 0.90x raw; posix-mq 0.70x raw");
        let level = [(Transport::PosixMq, Some(0.7)), (Transport::Uds, Some(0.9))];
        assert!(
            !ahead_of_peers("TypedQueue", "t".into(), Some(0.9), level, faster, show)
                .unwrap()
                .met
        );
    }

    #[test]
    fn size_tables_have_a_row_per_transport_and_a_dash_where_unmeasured() {
        let rows = [
            (Transport::Raw, 16, "a"),
            (Transport::Typed, 16, "b"),
            (Transport::Raw, 4096, "c"),
        ];
        let mut s = String::new();
        size_table(
            &mut s,
            &rows,
            |r| (r.0.id(), r.0.label(), r.1),
            |r| r.2.into(),
        );
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(
            lines[2..],
            [
                "| raw msgsnd/msgrcv (libc) | a | - | c |",
                "| ipcq TypedQueue, Bytes<N> | b | - | - |",
            ]
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1234567.8), "1,234,568");
    }
}
