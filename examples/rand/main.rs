//! The original `examples/rand`, ported: a listener that prints random
//! numbers as they arrive, a sender, and a queue deleter, all on key 3053
//! with the number as message type 7.
//!
//! ```text
//! cargo run --example rand -- listen          # blocks; one line per message
//! cargo run --example rand -- send --count 3  # from another terminal
//! cargo run --example rand -- delete          # the listener exits 0
//! ```
//!
//! The number travels as plain text (`#[ipcq(text)]`), exactly as the
//! original PHP sender wrote it, so this still works unchanged once the
//! listener has created the queue:
//!
//! ```text
//! php -r '$q = msg_get_queue(3053); msg_send($q, 7, (string) rand(), false);'
//! ```
//!
//! If the PHP side may create the queue first, give it a mode:
//! `msg_get_queue(3053, 0600)`. Without one PHP creates it with mode 0666,
//! writable by every user, and the listener refuses such a queue
//! (`Error::Untrusted`); `delete` removes it all the same.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ipcq::service::Signals;
use ipcq::{Error, Key, OpenOptions, QueueMessage, StopHandle, TypedQueue};
use serde::{Deserialize, Serialize};

/// What travels on the queue.
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
enum RandMsg {
    /// A random number, as its decimal text.
    #[ipcq(mtype = 7, text)]
    Number(u64),
}

#[derive(Parser)]
#[command(about = "Send and receive random numbers over a System V message queue")]
struct Args {
    /// The queue's key: decimal, or 0x and hex digits as `ipcs` shows it.
    #[arg(long, default_value = "3053", global = true)]
    key: Key,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print `received <n>` for each number until the queue is removed.
    Listen,
    /// Send random numbers, printing `sent <n>` for each.
    Send {
        /// How many numbers to send.
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Remove the queue; running listeners exit.
    Delete,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let key = args.key;
    let result = match args.command {
        Command::Listen => listen(key),
        Command::Send { count } => send(key, count),
        // Like ipcrm, delete acts on the queue it is told to, whoever made it.
        Command::Delete => {
            TypedQueue::<RandMsg>::open_with(key, OpenOptions::new().allow_foreign(true))
                .and_then(|q| q.remove())
                .map_err(Into::into)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rand: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What can go wrong here: the queue's errors, and writing to stdout.
type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn listen(key: Key) -> Result<()> {
    let stop = StopHandle::new();
    let _signals = Signals::new(&stop).install()?;
    let q = TypedQueue::<RandMsg>::create(key)?.with_stop(stop);
    let mut out = std::io::stdout().lock();
    // The iterator ends when the queue is removed or a signal stops us.
    for msg in q.iter() {
        match msg {
            Ok(RandMsg::Number(n)) => {
                writeln!(out, "received {n}")
                    .and_then(|()| out.flush())
                    .map_err(|e| format!("cannot write to stdout: {e}"))?;
            }
            // Something else on our queue: say so, keep listening.
            Err(Error::Decode(e)) => eprintln!("rand: skipped a message: {e}"),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn send(key: Key, count: u32) -> Result<()> {
    let q = TypedQueue::<RandMsg>::create(key)?;
    let mut random = Random::seeded();
    for _ in 0..count {
        // The range of PHP's rand(): 0 to getrandmax().
        let n = random.next() % (1 << 31);
        q.send(RandMsg::Number(n))?;
        println!("sent {n}");
    }
    Ok(())
}

/// xorshift64*: plenty for demo numbers, and no dependency for it.
struct Random(u64);

impl Random {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Random((nanos ^ u64::from(std::process::id()).rotate_left(32)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
