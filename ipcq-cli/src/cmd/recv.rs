//! `ipcq recv KEY`: take messages off the queue and print them.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use ipcq::{Error, Message, MsgQueue, Selector, StopHandle};

use crate::cli::RecvArgs;
use crate::failure::{EXIT_INTERRUPTED, EXIT_NOTHING, Failure, Outcome};
use crate::format::{counted, write_message};
use crate::signals::{self, Interrupts};

/// How long each receive may wait.
enum Wait {
    No,
    Forever,
    Until(Instant),
}

/// Receives up to `--count` messages, printing each as it comes.
///
/// SIGINT and SIGTERM are caught, so that they end a wait for a message, but
/// never fall between taking a message and writing it out.
pub(crate) fn run(args: &RecvArgs) -> Outcome {
    let stop = StopHandle::new();
    let interrupts = Interrupts::catch(Some(stop.clone()))?;
    let queue = args.key.key.open()?.with_stop(stop);
    let selector = match (args.mtype, args.up_to, args.except) {
        (Some(n), _, _) => Selector::Type(n),
        (_, Some(n), _) => Selector::UpTo(n),
        (_, _, Some(n)) => Selector::Except(n),
        _ => Selector::Any,
    };
    let wait = match (args.nowait, args.timeout) {
        (true, _) => Wait::No,
        (false, Some(timeout)) => Instant::now()
            .checked_add(timeout)
            .map_or(Wait::Forever, Wait::Until),
        (false, None) => Wait::Forever,
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut received = 0;
    while received < args.count {
        let stopped = |signal| {
            Failure::with_code(
                EXIT_INTERRUPTED,
                format!(
                    "stopped by {} after receiving {received} of the {} messages asked for",
                    signals::name(signal),
                    args.count
                ),
            )
        };
        if let Some(signal) = interrupts.caught() {
            return Err(stopped(signal));
        }
        let message = match wait {
            Wait::No => queue.try_recv(selector),
            Wait::Forever => queue.recv(selector).map(Some),
            Wait::Until(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                queue.recv_timeout(selector, left)
            }
        };
        let message = match (message, interrupts.caught()) {
            (Err(Error::Stopped { .. }), Some(signal)) => return Err(stopped(signal)),
            (message, _) => message?,
        };
        let Some(message) = message else { break };
        // Flushed per message: a message off the queue must not sit in a buffer
        // that a kill would throw away.
        let written = if args.raw {
            out.write_all(&message.body)
        } else {
            write_message(&mut out, message.mtype, &message.body)
        }
        .and_then(|()| out.flush());
        if let Err(err) = written {
            return Err(unwritten(&queue, &message, &err));
        }
        received += 1;
    }
    if received < args.count {
        let more = if received == 0 { "none" } else { "no more" };
        let why = match (&wait, args.timeout) {
            (Wait::Until(_), Some(timeout)) if timeout.is_zero() => {
                format!("{more} is waiting (--timeout 0)")
            }
            (Wait::Until(_), Some(timeout)) => format!("{more} arrived within {timeout:?}"),
            _ => format!("{more} is waiting (--nowait)"),
        };
        let text = if received == 0 {
            format!("no {} on {}: {why}", describe(selector), args.key.key)
        } else {
            format!(
                "received {received} of the {} messages asked for from {}: {why}",
                args.count, args.key.key
            )
        };
        return Err(Failure::with_code(EXIT_NOTHING, text));
    }
    Ok(())
}

/// What the selection takes, for messages.
fn describe(selector: Selector) -> String {
    match selector {
        Selector::Any => "message".into(),
        Selector::Type(n) => format!("message of type {n}"),
        Selector::UpTo(n) => format!("message of type {n} or lower"),
        Selector::Except(n) => format!("message of a type other than {n}"),
    }
}

/// A message taken off the queue that could not be written out: sends it
/// back to the end of the queue rather than lose it, and says so.
fn unwritten(queue: &MsgQueue, message: &Message, err: &io::Error) -> Failure {
    let what = format!(
        "cannot write the message (mtype {}, {}) to standard output: {err}",
        message.mtype,
        counted(message.body.len() as u64, "byte")
    );
    match queue.send_timeout(message.mtype, &message.body, Duration::from_secs(5)) {
        Ok(()) => Failure::new(format!("{what}; it was sent back to the end of the queue")),
        Err(send) => Failure::new(format!(
            "{what}; sending it back to the queue failed too, so it is lost: {send}"
        )),
    }
}
