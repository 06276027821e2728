//! `ipcq send KEY --type N [TEXT | --file F]`: send one message.

use std::fs::File;
use std::io::{IsTerminal, Read, Seek};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

use ipcq::StopHandle;

use crate::cli::SendArgs;
use crate::failure::{EXIT_INTERRUPTED, Failure, Outcome, exit_code};
use crate::signals::{self, Interrupts};

/// Sends `body`, waiting for room. Where this process may not read the
/// queue's capacity, a message larger than it waits for ever as if the queue
/// were full: a send that has to wait says so on stderr first, once per
/// `warned`.
pub(crate) fn send_waiting(
    queue: &ipcq::MsgQueue,
    mtype: i64,
    body: &[u8],
    capacity_unknown: bool,
    warned: &mut bool,
) -> ipcq::Result<()> {
    if capacity_unknown && !*warned {
        match queue.try_send(mtype, body) {
            Err(ipcq::Error::WouldBlock { .. }) => {
                eprintln!(
                    "ipcq: warning: waiting for room: the queue is full, or the message ({} \
                     bytes) is larger than its capacity, which this process may not read; \
                     then this waits for ever (Ctrl-C stops it)",
                    body.len()
                );
                *warned = true;
            }
            tried => return tried,
        }
    }
    queue.send(mtype, body)
}

/// Sends the body exactly as given.
pub(crate) fn run(args: &SendArgs) -> Outcome {
    let queue = args.key.key.open()?;
    let limit = queue.max_message_size();
    let Body { body, size } = body(args, limit)?;
    if body.len() > limit {
        // A stream read only as far as one byte past the limit is "more
        // than" it; a text or a regular file has a known size.
        let size = match size {
            Some(size) => format!("{size} bytes, more than the {limit} bytes"),
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
    // for ever, or reports a full queue. The errors and a send that waits say so.
    let capacity_unknown = queue.stat().is_err();
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
        let mut warned = false;
        send_waiting(&queue, args.mtype, &body, capacity_unknown, &mut warned)
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
    /// The size of the TEXT argument, or of a regular file (given or on
    /// standard input) that is at least as large as what was read from it;
    /// `None` for a stream, which is read no further than one byte past the
    /// limit, and for files whose size says nothing (`/proc`).
    size: Option<u64>,
}

/// What the regular file `file` holds from `start` to its end, where the
/// `read` bytes just taken from it began: all of it for a file opened here,
/// the rest of it for one on standard input that was partly read before.
/// `None` if it is not a regular file, or holds less than was read from it.
fn file_size(file: &File, start: u64, read: usize) -> Option<u64> {
    let meta = file.metadata().ok()?;
    let size = meta.len().checked_sub(start)?;
    (meta.is_file() && size >= read as u64).then_some(size)
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
        let mut file = File::open(path).map_err(cannot)?;
        (&mut file)
            .take(most)
            .read_to_end(&mut body)
            .map_err(cannot)?;
        let size = file_size(&file, 0, body.len());
        return Ok(Body { body, size });
    }
    // A file redirected to standard input has a size too, from where it
    // stands now (standard input reads ahead into its buffer).
    let redirected = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(File::from);
    let start = redirected
        .as_ref()
        .and_then(|mut f| f.stream_position().ok());
    let stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        eprintln!("ipcq: reading the message body from the terminal; end it with Ctrl-D");
    }
    stdin
        .take(most)
        .read_to_end(&mut body)
        .map_err(|e| Failure::new(format!("cannot read standard input: {e}")))?;
    let size = redirected
        .zip(start)
        .and_then(|(file, start)| file_size(&file, start, body.len()));
    Ok(Body { body, size })
}
