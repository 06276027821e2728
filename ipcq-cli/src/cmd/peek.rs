//! `ipcq peek KEY`: show messages without taking them.

use super::print_report;
use crate::cli::PeekArgs;
use crate::failure::{Failure, Outcome};
use crate::format::write_message;

/// Prints the messages at positions 0, 1, … as `recv` would, leaving them queued.
pub(crate) fn run(args: &PeekArgs) -> Outcome {
    let queue = args.key.key.open()?;
    let limit = args.count.unwrap_or(u64::MAX);
    let mut failure = None;
    print_report(|out| {
        let mut position = 0usize;
        while (position as u64) < limit {
            let message = match queue.peek(position) {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(err) => {
                    failure = Some(Failure::from(err));
                    break;
                }
            };
            if args.raw {
                out.write_all(&message.body)?;
            } else {
                write_message(out, message.mtype, &message.body)?;
            }
            position += 1;
        }
        Ok(())
    })?;
    failure.map_or(Ok(()), Err)
}
