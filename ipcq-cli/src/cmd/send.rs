//! `ipcq send KEY --type N [TEXT | --file F]`: send one message.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::os::unix::ffi::OsStrExt;

use ipcq::StopHandle;

use crate::cli::SendArgs;
use crate::failure::{EXIT_INTERRUPTED, Failure, Outcome, exit_code};
use crate::signals::{self, Interrupts};

/// Sends the body exactly as given.
pub(crate) fn run(args: &SendArgs) -> Outcome {
    let queue = args.key.key.open()?;
    let limit = queue.max_message_size();
    let Body { body, size } = body(args, limit)?;
    if body.len() > limit {
        // A stream read only as far as one byte past the limit is "more
        // than" it; a text or a regular file has a known size.
        let size = match size {
            Some(size) => format!("{size} bytes, more than the {limit}"),
            None => format!("more than {limit} bytes, the most"),
        };
        return Err(Failure::new(format!(
            "cannot send: the message is {size} {} takes (the lesser of kernel.msgmax and \
             the queue's capacity); nothing was sent",
            args.key.key
        )));
    }
    // Without read permission the queue's capacity is unknown, and the kernel
    // treats a message larger than it as one that does not fit yet: it waits
    // for ever, or reports a full queue. Say so where that may be the case.
    let capacity_unknown = queue.stat().is_err();
    let default_capacity = ipcq::Limits::read().map_or(0, |l| l.msgmnb);
    if capacity_unknown && body.len() > default_capacity && !args.nowait && args.timeout.is_none() {
        eprintln!(
            "ipcq: warning: {} bytes is more than a queue holds by default (kernel.msgmnb, \
             {default_capacity} bytes), and this process may not read this queue's capacity: \
             if the message is larger, this waits for ever",
            body.len()
        );
    }
    // A send that may wait for room ends on SIGINT or SIGTERM saying that
    // nothing was sent, as the other waiting commands do.
    let stop = StopHandle::new();
    let interrupts = Interrupts::catch(Some(stop.clone()))?;
    let queue = queue.with_stop(stop);
    let sent = if args.nowait {
        queue.try_send(args.mtype, &body)
    } else if let Some(timeout) = args.timeout {
        queue.send_timeout(args.mtype, &body, timeout)
    } else {
        queue.send(args.mtype, &body)
    };
    match sent {
        Err(ipcq::Error::Stopped { .. }) => Err(Failure::with_code(
            EXIT_INTERRUPTED,
            format!(
                "stopped by {} while waiting for room; nothing was sent",
                interrupts.caught().map_or("a signal", signals::name)
            ),
        )),
        Err(e @ (ipcq::Error::WouldBlock { .. } | ipcq::Error::TimedOut { .. }))
            if capacity_unknown =>
        {
            Err(Failure::with_code(
                exit_code(&e),
                format!(
                    "{e} (or the message, {} bytes, is larger than the queue's capacity, which \
                 this process may not read)",
                    body.len()
                ),
            ))
        }
        sent => Ok(sent?),
    }
}

/// A message body as read, and its whole size where that is known.
struct Body {
    body: Vec<u8>,
    /// The size of the TEXT argument or of a regular file; `None` for a
    /// stream, which is read no further than one byte past the limit.
    size: Option<u64>,
}

/// The message body: the TEXT argument's bytes, the file's, or stdin's. Reads
/// at most one byte past `limit`, enough to tell that a body is too large
/// without taking in an endless stream.
fn body(args: &SendArgs, limit: usize) -> Outcome<Body> {
    if let Some(text) = &args.text {
        let body = text.as_bytes().to_vec();
        let size = Some(body.len() as u64);
        return Ok(Body { body, size });
    }
    let most = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut body = Vec::new();
    if let Some(path) = &args.file {
        let cannot =
            |e: std::io::Error| Failure::new(format!("cannot read {}: {e}", path.display()));
        let file = File::open(path).map_err(cannot)?;
        let size = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        file.take(most).read_to_end(&mut body).map_err(cannot)?;
        return Ok(Body { body, size });
    }
    let stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        eprintln!("ipcq: reading the message body from the terminal; end it with Ctrl-D");
    }
    stdin
        .take(most)
        .read_to_end(&mut body)
        .map_err(|e| Failure::new(format!("cannot read standard input: {e}")))?;
    Ok(Body { body, size: None })
}
