//! Benchmarks of ipcq against raw `msgsnd`/`msgrcv` and other IPC, between
//! two processes (this binary starts itself again as the other one).
//!
//! ```sh
//! cargo run --release -p ipcq-benches              # everything, about 3 min
//! cargo run --release -p ipcq-benches -- --quick   # fewer messages and runs, about 25 s
//! cargo run --release -p ipcq-benches -- --json results.json --only stream,batch
//! ```
//!
//! Prints Markdown tables and writes every run's numbers as JSON
//! (`target/ipcq-benches.json` unless `--json FILE` says otherwise).
//! `docs/BENCHMARKS.md` explains each number.

#[allow(unsafe_code)]
mod alloc;
mod cleanup;
mod endpoints;
mod interleave;
mod namespace;
mod payload;
mod procs;
#[allow(unsafe_code)]
mod raw;
mod report;
mod scenarios;
mod stats;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use endpoints::{BATCH_CHUNK, Res, Transport};
use interleave::Pattern;
use payload::SIZES;
use report::{BatchRow, FanRow, InterleavedRow, Machine, OverheadRow, PingRow, Results, StreamRow};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

const USAGE: &str = "usage: ipcq-benches [--quick] [--json FILE] [--runs N] [--only SECTIONS]
                    [--transports IDS] [--msgmnb BYTES]
  --quick          fewer messages and runs (about 25 s instead of about 3 min)
  --json FILE      where to write the results (default target/ipcq-benches.json)
  --runs N         repeat each measurement N times (default 5, 3 with --quick)
  --only SECTIONS  comma-separated: stream, interleave, pingpong, fan, batch, overhead, timeout,
                   alloc
  --transports IDS comma-separated, for stream, interleave and pingpong: raw, raw-typed-size
                   (not pingpong), ipcq-bytes, ipcq-typed, ipcq-typed-spin, ipcq-typed-vec
                   (not pingpong), ipcq-typed-postcard (not pingpong), ipcq-typed-record,
                   ipc-channel, posix-mq, unix-socket (raw is always kept)
  --msgmnb BYTES   run in a private IPC namespace whose System V queues hold BYTES (the
                   host's default is 16384) and whose POSIX queues as many messages (root)
       ipcq-benches --pairs TRANSPORT SIZE COUNT
                   only COUNT one-thread send+receive pairs, for counting instructions under
                   callgrind (docs/BENCHMARKS.md)";

const SECTIONS: [&str; 8] = [
    "stream",
    "interleave",
    "pingpong",
    "fan",
    "batch",
    "overhead",
    "timeout",
    "alloc",
];

/// How much of everything one run does.
struct Plan {
    quick: bool,
    runs: usize,
    json: String,
    only: Vec<String>,
    transports: Vec<Transport>,
    /// Queue capacity in a private IPC namespace, if asked for.
    msgmnb: Option<usize>,
    /// Streaming messages per run, by payload size.
    stream: [u64; 3],
    /// Interleaved streaming: messages per block, by payload size.
    block: [u64; 3],
    /// Interleaved streaming: cycles over the transports per run.
    cycles: u64,
    /// Interleaved ping-pong: round trips per block, and cycles per run.
    pingpong_block: u64,
    pingpong_cycles: u64,
    pingpong: u64,
    pingpong_warmup: u64,
    fan: u64,
    batch: u64,
    overhead: u64,
    idle: Duration,
    idle_runs: usize,
    short: Duration,
    short_runs: usize,
    alloc_rounds: u64,
}

impl Plan {
    fn parse(args: &[String]) -> Result<Plan, String> {
        let quick = args.iter().any(|a| a == "--quick");
        let mut plan = if quick {
            Plan {
                quick,
                runs: 3,
                json: String::new(),
                only: Vec::new(),
                transports: Vec::new(),
                msgmnb: None,
                stream: [40_000, 40_000, 10_000],
                block: [2_000, 2_000, 400],
                cycles: 20,
                pingpong_block: 50,
                pingpong_cycles: 10,
                pingpong: 500,
                pingpong_warmup: 50,
                fan: 40_000,
                batch: 400_000,
                overhead: 20_000,
                idle: Duration::from_millis(250),
                idle_runs: 2,
                short: Duration::from_millis(5),
                short_runs: 20,
                alloc_rounds: 10,
            }
        } else {
            Plan {
                quick,
                runs: 5,
                json: String::new(),
                only: Vec::new(),
                transports: Vec::new(),
                msgmnb: None,
                stream: [200_000, 200_000, 50_000],
                block: [2_000, 2_000, 400],
                cycles: 60,
                pingpong_block: 100,
                pingpong_cycles: 30,
                pingpong: 2_000,
                pingpong_warmup: 200,
                fan: 200_000,
                batch: 2_000_000,
                overhead: 50_000,
                idle: Duration::from_secs(1),
                idle_runs: 3,
                short: Duration::from_millis(5),
                short_runs: 50,
                alloc_rounds: 40,
            }
        };
        plan.json = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into())
            + "/ipcq-benches.json";
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => {}
                "--json" => plan.json = args.next().ok_or("--json needs a file")?.clone(),
                "--runs" => {
                    plan.runs = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|&n| n > 0)
                        .ok_or("--runs needs a positive number")?;
                }
                "--only" => {
                    let list = args.next().ok_or("--only needs sections")?;
                    for section in list.split(',') {
                        if !SECTIONS.contains(&section) {
                            return Err(format!("unknown section {section}"));
                        }
                        plan.only.push(section.to_owned());
                    }
                }
                "--transports" => {
                    let list = args.next().ok_or("--transports needs transports")?;
                    for id in list.split(',') {
                        let t = Transport::from_id(id)
                            .ok_or_else(|| format!("unknown transport {id}"))?;
                        plan.transports.push(t);
                    }
                }
                "--msgmnb" => {
                    plan.msgmnb = Some(
                        args.next()
                            .and_then(|n| n.parse().ok())
                            .filter(|&n| n >= MIN_MSGMNB)
                            .ok_or("--msgmnb needs a number of bytes, at least 8192")?,
                    );
                }
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(plan)
    }

    fn wants(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == section)
    }

    /// Whether to measure `t` in the streaming and ping-pong sections.
    fn measures(&self, t: Transport) -> bool {
        t == Transport::Raw || self.transports.is_empty() || self.transports.contains(&t)
    }

    fn stream_count(&self, size: usize) -> u64 {
        self.stream[size_index(size)]
    }

    fn block(&self, size: usize) -> u64 {
        self.block[size_index(size)]
    }
}

fn size_index(size: usize) -> usize {
    SIZES
        .iter()
        .position(|&s| s == size)
        .expect("a measured size")
}

/// Streaming is measured for these; `TypedBatch` only at 16 bytes.
const STREAMED: [Transport; 11] = [
    Transport::Raw,
    Transport::RawTypedSize,
    Transport::Bytes,
    Transport::Typed,
    Transport::TypedSpin,
    Transport::TypedVec,
    Transport::TypedPostcard,
    Transport::TypedRecord,
    Transport::IpcChannel,
    Transport::PosixMq,
    Transport::Uds,
];

const PINGED: [Transport; 8] = [
    Transport::Raw,
    Transport::Bytes,
    Transport::Typed,
    Transport::TypedSpin,
    Transport::TypedRecord,
    Transport::IpcChannel,
    Transport::PosixMq,
    Transport::Uds,
];

const FAN_PROCESSES: u64 = 4;

/// The smallest `--msgmnb`: the default msgmax. A raw `msgsnd` of a message
/// larger than the queue's capacity blocks for ever instead of failing, and
/// the largest message measured is 4105 bytes.
const MIN_MSGMNB: usize = 8192;

/// Measured in one thread, without a second process.
const OVERHEAD: [Transport; 5] = [
    Transport::Raw,
    Transport::Bytes,
    Transport::Typed,
    Transport::TypedRecord,
    Transport::TypedBatch,
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--pairs") => return exit_code("ipcq-benches --pairs", pairs(&args[1..])),
        Some("--child") => return exit_code("ipcq-benches child", procs::child_main(&args[1..])),
        _ => {}
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let plan = match Plan::parse(&args) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = (|| {
        // First, while this is the only thread: threads and processes made
        // from here on inherit the namespace.
        if let Some(msgmnb) = plan.msgmnb {
            namespace::enter_private(msgmnb)?;
        }
        payload::check_mtypes()?;
        cleanup::on_signals();
        run(&plan, &args)
    })();
    exit_code("ipcq-benches", result)
}

/// Success, or failure after saying what went wrong.
fn exit_code(who: &str, result: Res<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{who}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--pairs TRANSPORT SIZE COUNT`: only the one-thread loop of one transport
/// at one size, for instruction counts under callgrind (`docs/BENCHMARKS.md`
/// has the command); prints ns per pair.
fn pairs(args: &[String]) -> Res<()> {
    let [transport, size, count] = args else {
        return Err("usage: --pairs raw|ipcq-bytes|ipcq-typed|ipcq-typed-spin|ipcq-typed-vec|ipcq-typed-postcard|ipcq-typed-record|ipcq-typed-batch SIZE COUNT".into());
    };
    let transport =
        Transport::from_id(transport).ok_or_else(|| format!("unknown transport {transport}"))?;
    let count: u64 = count.parse()?;
    if count == 0 {
        return Err("COUNT must be at least 1".into());
    }
    cleanup::on_signals();
    let ns = scenarios::same_thread(transport, size.parse()?, count)?;
    println!("{ns:.0} ns per pair");
    Ok(())
}

/// One interleaved run of the rows of `pattern`, `placement` and `size`.
fn interleave_round(
    rows: &mut [InterleavedRow],
    plan: &Plan,
    round: usize,
    pattern: Pattern,
    placement: Option<&'static str>,
    size: usize,
) {
    let rows: Vec<&mut InterleavedRow> = rows
        .iter_mut()
        .filter(|r| r.pattern == pattern.id() && r.placement == placement && r.size == size)
        .collect();
    let Some(first) = rows.first() else {
        return;
    };
    let block = first.block;
    let cycles = match pattern {
        Pattern::Stream => plan.cycles,
        Pattern::PingPong => plan.pingpong_cycles,
    };
    let transports: Vec<Transport> = rows
        .iter()
        .map(|r| Transport::from_id(r.transport).expect("a known transport"))
        .collect();
    let what = format!(
        "interleaved {} {}{size} B",
        pattern.id(),
        placement.map(|p| format!("{p} ")).unwrap_or_default()
    );
    let run = || interleave::run(pattern, &transports, size, block, cycles);
    let result = match placement {
        Some("one-cpu") => scenarios::on_cpu0(run),
        _ => run(),
    };
    let mut errors = Vec::new();
    let Some(blocks) = succeeded(&mut errors, &what, result) else {
        for row in rows {
            row.errors.extend(errors.iter().cloned());
        }
        return;
    };
    for (row, blocks) in rows.into_iter().zip(blocks) {
        row.cycles.extend((0..cycles).map(|c| (round, c)));
        row.per_sec.extend(blocks.per_sec);
        row.cpu_us.extend(blocks.cpu_us);
    }
}

/// Records one measurement's value, or its error.
fn record<T>(values: &mut Vec<T>, errors: &mut Vec<String>, what: &str, result: Res<T>) {
    values.extend(succeeded(errors, what, result));
}

/// One measurement's value, or `None` after reporting and keeping its error.
fn succeeded<T>(errors: &mut Vec<String>, what: &str, result: Res<T>) -> Option<T> {
    result
        .inspect_err(|e| {
            eprintln!("  {what}: failed: {e}");
            errors.push(e.to_string());
        })
        .ok()
}

fn run(plan: &Plan, args: &[String]) -> Res<()> {
    let started = Instant::now();
    let command = std::iter::once("cargo run --release -p ipcq-benches --".to_owned())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let machine = Machine {
        private_ipc_namespace: plan.msgmnb.is_some(),
        ..Machine::read()
    };
    let mut results = Results::new(command, plan.quick, plan.runs, machine);
    if plan.wants("stream") || plan.wants("batch") {
        for size in SIZES {
            let streamed = match (plan.wants("stream"), size) {
                (true, _) => &STREAMED[..],
                (false, 16) => &STREAMED[..1],
                (false, _) => continue,
            };
            for &t in streamed.iter().filter(|&&t| plan.measures(t)) {
                results
                    .streaming
                    .push(StreamRow::new(t, size, plan.stream_count(size)));
            }
            if size == 16 && plan.wants("batch") {
                results
                    .streaming
                    .push(StreamRow::new(Transport::TypedBatch, 16, plan.batch));
                if !plan.wants("stream") {
                    results.streaming.push(StreamRow::new(
                        Transport::Typed,
                        16,
                        plan.stream_count(16),
                    ));
                }
                results.batching = Some(BatchRow {
                    raw_per_message: None,
                    typed_per_message: None,
                    typed_batched: None,
                    ratio_to_raw: None,
                    chunk: BATCH_CHUNK,
                });
            }
        }
    }
    if plan.wants("interleave") {
        for size in SIZES {
            for &t in STREAMED.iter().filter(|&&t| plan.measures(t)) {
                results.interleaved.push(InterleavedRow::new(
                    Pattern::Stream,
                    None,
                    t,
                    size,
                    plan.block(size),
                ));
            }
        }
        for placement in report::PLACEMENTS {
            for size in SIZES {
                for t in PINGED.into_iter().filter(|&t| plan.measures(t)) {
                    results.interleaved.push(InterleavedRow::new(
                        Pattern::PingPong,
                        Some(placement),
                        t,
                        size,
                        plan.pingpong_block,
                    ));
                }
            }
        }
    }
    if plan.wants("pingpong") {
        for placement in report::PLACEMENTS {
            for size in SIZES {
                for t in PINGED.into_iter().filter(|&t| plan.measures(t)) {
                    results
                        .pingpong
                        .push(PingRow::new(t, size, plan.pingpong, placement));
                }
            }
        }
    }
    if plan.wants("overhead") {
        for size in SIZES {
            for t in OVERHEAD {
                results
                    .overhead
                    .push(OverheadRow::new(t, size, plan.overhead));
            }
        }
    }
    if plan.wants("fan") {
        for pattern in ["fan-in", "fan-out"] {
            for t in [Transport::Raw, Transport::Typed] {
                results.fan.push(FanRow {
                    pattern,
                    transport: t.id(),
                    label: t.label(),
                    processes: FAN_PROCESSES,
                    messages: plan.fan,
                    msgs_per_sec: Vec::new(),
                    median: None,
                    ratio_to_raw: None,
                    errors: Vec::new(),
                });
            }
        }
    }

    // Rounds: every measurement once per round, so that a noisy moment
    // touches all transports alike rather than all runs of one.
    for round in 1..=plan.runs {
        eprintln!("round {round} of {}", plan.runs);
        for row in &mut results.streaming {
            let t = Transport::from_id(row.transport).expect("a known transport");
            let what = format!("stream {} {} B", row.transport, row.size);
            let result = scenarios::stream(t, row.size, row.messages);
            if let Some(run) = succeeded(&mut row.errors, &what, result) {
                row.msgs_per_sec.push(run.msgs_per_sec);
                row.receiver_waits.push(run.receiver_waits);
                row.sender_waits.push(run.sender_waits);
                row.rounds.push(round);
            }
        }
        for (pattern, placement) in report::INTERLEAVED {
            for size in SIZES {
                interleave_round(
                    &mut results.interleaved,
                    plan,
                    round,
                    pattern,
                    placement,
                    size,
                );
            }
        }
        for row in &mut results.pingpong {
            let t = Transport::from_id(row.transport).expect("a known transport");
            let what = format!(
                "ping-pong {} {} {} B",
                row.placement, row.transport, row.size
            );
            let one_cpu = row.placement == "one-cpu";
            let result =
                scenarios::pingpong(t, row.size, row.round_trips, plan.pingpong_warmup, one_cpu);
            record(&mut row.runs, &mut row.errors, &what, result);
        }
        for row in &mut results.overhead {
            let t = Transport::from_id(row.transport).expect("a known transport");
            let what = format!("same thread {} {} B", row.transport, row.size);
            let result = scenarios::same_thread(t, row.size, row.pairs);
            record(&mut row.ns_per_pair, &mut row.errors, &what, result);
        }
        for row in &mut results.fan {
            let t = Transport::from_id(row.transport).expect("a known transport");
            let what = format!("{} {}", row.pattern, row.transport);
            let result = match row.pattern {
                "fan-in" => scenarios::fan_in(t, row.processes, row.messages),
                _ => scenarios::fan_out(t, row.processes, row.messages),
            };
            record(&mut row.msgs_per_sec, &mut row.errors, &what, result);
        }
    }
    if plan.wants("timeout") {
        eprintln!("recv_timeout");
        results.recv_timeout = Some(scenarios::recv_timeout(
            plan.idle,
            plan.idle_runs,
            plan.short,
            plan.short_runs,
        )?);
    }
    if plan.wants("alloc") {
        eprintln!("allocations");
        results.allocations = Some(scenarios::allocations_per_message(plan.alloc_rounds)?);
    }
    results.machine.loadavg_after = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned();
    results.seconds = started.elapsed().as_secs_f64();
    report::summarize(&mut results);

    println!("{}", report::render(&results));
    if let Some(dir) = std::path::Path::new(&plan.json)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&plan.json, serde_json::to_string_pretty(&results)? + "\n")?;
    eprintln!(
        "{:.0} s; results in {} (load average before: {}, after: {})",
        results.seconds, plan.json, results.machine.loadavg_before, results.machine.loadavg_after
    );
    Ok(())
}
