//! A producer and a pool of worker processes sharing one queue: each job is
//! handled exactly once, by whichever worker is free.
//!
//! ```text
//! cargo run --example workers -- [--workers 3] [--jobs 30]
//! ```
//!
//! The workers are this same program, run as `workers --worker QUEUE_ID`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};

use clap::Parser;
use ipcq::{Key, QueueId, QueueMessage, StopHandle, TypedQueue};
use serde::{Deserialize, Serialize};

/// The jobs, and the word to stop.
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum Job {
    /// Resize an image.
    Resize { id: u32, width: u32, height: u32 },
    /// Compress a file.
    Compress { id: u32, level: u8 },
    /// Stop after this: one per worker, sent after every job.
    Done,
}

#[derive(Parser)]
#[command(about = "A producer and a pool of worker processes on one queue")]
struct Args {
    /// How many worker processes.
    #[arg(long, default_value_t = 3)]
    workers: u32,
    /// How many jobs.
    #[arg(long, default_value_t = 30)]
    jobs: u32,
    /// Internal: run as a worker on this queue id.
    #[arg(long, hide = true)]
    worker: Option<i32>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.worker {
        Some(id) => worker(QueueId::new(id)),
        None => produce(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("workers: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Each worker reports `handled JOB_ID` lines on stdout for the producer.
struct Worker<W: Write> {
    out: W,
    stop: StopHandle,
}

impl<W: Write> JobHandler for Worker<W> {
    fn resize(&mut self, id: u32, width: u32, height: u32) {
        let _ = writeln!(self.out, "handled {id} resize {width}x{height}");
    }

    fn compress(&mut self, id: u32, level: u8) {
        let _ = writeln!(self.out, "handled {id} compress level {level}");
    }

    fn done(&mut self) {
        self.stop.stop();
    }
}

/// What can go wrong here: the queue's errors, and the workers' processes
/// and pipes.
type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn worker(id: QueueId) -> Result<()> {
    let stop = StopHandle::new();
    let q = TypedQueue::<Job>::open_id(id)?.with_stop(stop.clone());
    let mut worker = Worker {
        out: std::io::stdout().lock(),
        stop,
    };
    Ok(q.serve(&mut worker)?)
}

fn produce(args: &Args) -> Result<()> {
    let q = TypedQueue::<Job>::create(Key::private())?;
    let result = run(&q, args);
    q.remove()?;
    result
}

fn run(q: &TypedQueue<Job>, args: &Args) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let children: Vec<_> = (0..args.workers)
        .map(|_| {
            Command::new(&exe)
                .args(["--worker", &q.id().to_string()])
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start a worker: {e}"))
        })
        .collect::<std::result::Result<_, _>>()?;
    for id in 0..args.jobs {
        let job = if id % 2 == 0 {
            Job::Resize {
                id,
                width: 64 + id,
                height: 48,
            }
        } else {
            Job::Compress {
                id,
                level: (id % 9) as u8 + 1,
            }
        };
        q.send(job)?;
    }
    for _ in &children {
        q.send(Job::Done)?;
    }

    let mut handled_by: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for mut child in children {
        let pid = child.id();
        let stdout = child.stdout.take().expect("piped");
        let mut count = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("cannot read worker {pid}'s report: {e}"))?;
            println!("worker {pid}: {line}");
            if let Some(id) = line
                .split_whitespace()
                .nth(1)
                .and_then(|id| id.parse().ok())
            {
                handled_by.entry(id).or_default().push(pid);
                count += 1;
            }
        }
        let status = child
            .wait()
            .map_err(|e| format!("cannot wait for worker {pid}: {e}"))?;
        let jobs = if count == 1 { "job" } else { "jobs" };
        println!("worker {pid} handled {count} {jobs} and exited with {status}");
    }
    let once = handled_by.values().filter(|pids| pids.len() == 1).count();
    println!("{once} of {} jobs handled exactly once", args.jobs);
    if once as u32 != args.jobs || handled_by.len() as u32 != args.jobs {
        return Err("a job was lost or handled twice".into());
    }
    Ok(())
}
