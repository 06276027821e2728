//! `ipcq dump KEY FILE`: move every message of a queue into a file, crash-safely.
//!
//! Three steps, so that a crash anywhere loses nothing (docs/DUMP.md):
//! copy the messages with MSG_COPY; write the copies to FILE durably; only
//! then take them off the queue, each checked against its copy first.

use std::time::SystemTime;

use ipcq::{Error, Message, MsgQueue, Selector};

use super::report_done;
use crate::cli::DumpArgs;
use crate::dumpfile::{self, Header};
use crate::durable;
use crate::failure::{EXIT_INTERRUPTED, Failure, Outcome};
use crate::format::{counted, message_line, unix_seconds};
use crate::signals::{self, Interrupts};

/// Runs the three steps and reports what was moved.
pub(crate) fn run(args: &DumpArgs) -> Outcome {
    let queue = args.key.key.open_trusting(args.trust)?;
    let stat = queue.stat()?;
    let interrupts = Interrupts::catch(None)?;
    let file = args.file.display();

    // Step 1: copy.
    let copies = copy_all(&queue, &interrupts).map_err(|f| {
        f.context(format!(
            "cannot dump {}; the queue was not changed and {file} not written",
            args.key.key
        ))
    })?;
    let header = Header {
        key: stat.key.get(),
        mode: stat.mode,
        capacity: stat.capacity,
        dumped_at: unix_seconds(Some(SystemTime::now())).unwrap_or(0),
    };
    let bytes: usize = copies.iter().map(|m| m.body.len()).sum();
    let amount = format!(
        "{} ({})",
        counted(copies.len() as u64, "message"),
        counted(bytes as u64, "byte")
    );

    // Step 2: write the file durably, unless asked to stop before FILE is
    // touched: then an old FILE (--force) is left as it was.
    let bytes = dumpfile::encode(&header, &copies);
    let written = durable::write_file_unless(&args.file, &bytes, args.force, || {
        interrupts.caught().is_some()
    })
    .map_err(|e| Failure::new(format!("{e}; the queue was not changed")))?;
    if let Some(signal) = interrupts.caught() {
        // The user asked to stop before anything left the queue: leave no
        // new file either, but never remove what FILE held before.
        let left = if !written {
            if args.force {
                format!("{file} was left as it was")
            } else {
                format!("{file} was not written")
            }
        } else if args.force {
            format!(
                "{file}, already replaced, holds copies of messages that are all still on the queue"
            )
        } else {
            match durable::remove_file(&args.file) {
                Ok(()) => format!("{file} was not kept"),
                Err(e) => {
                    format!("{e}; it holds copies of messages that are all still on the queue")
                }
            }
        };
        return Err(Failure::with_code(
            EXIT_INTERRUPTED,
            format!(
                "dump stopped by {}; the queue was not changed and {left}",
                signals::name(signal)
            ),
        ));
    }
    if args.keep {
        return report_done(|out| {
            writeln!(
                out,
                "copied {amount} from {} to {file}; they are still on the queue",
                args.key.key.with_id(queue.id())
            )
        });
    }

    // Step 3: take them off the queue. This never waits, so signals simply
    // wait for it to end: stopping half-way would only leave messages in both places.
    match take_copies(&queue, &copies) {
        TakeEnd::All => {
            let left = queue.stat().map(|s| s.messages).unwrap_or(0);
            let meanwhile = if left > 0 {
                let stay = if left == 1 { "stays" } else { "stay" };
                format!(
                    "; {} sent during the dump {stay} on the queue",
                    counted(left, "message")
                )
            } else {
                String::new()
            };
            report_done(|out| {
                writeln!(
                    out,
                    "dumped {amount} from {} to {file}{meanwhile}",
                    args.key.key.with_id(queue.id())
                )
            })
        }
        TakeEnd::Changed {
            taken,
            found,
            extra,
        } => Err(changed(
            args, &header, &copies, taken, &found, extra, &queue,
        )),
        TakeEnd::Failed { taken, error } => Err(failed(args, copies.len(), taken, &error)),
    }
}

/// Copies every message, oldest first, without taking any.
fn copy_all(queue: &MsgQueue, interrupts: &Interrupts) -> Outcome<Vec<Message>> {
    let mut copies = Vec::new();
    loop {
        if let Some(signal) = interrupts.caught() {
            return Err(Failure::with_code(
                EXIT_INTERRUPTED,
                format!("stopped by {}", signals::name(signal)),
            ));
        }
        match queue.peek(copies.len())? {
            Some(message) => copies.push(message),
            None => return Ok(copies),
        }
    }
}

/// What the take step needs of a queue: a trait so that the tests can play
/// the other processes that use the queue meanwhile.
pub(crate) trait Source {
    /// A copy of the oldest message, if there is one.
    fn oldest(&self) -> ipcq::Result<Option<Message>>;
    /// Takes the oldest message, if there is one, without waiting.
    fn take_oldest(&self) -> ipcq::Result<Option<Message>>;
}

impl Source for MsgQueue {
    fn oldest(&self) -> ipcq::Result<Option<Message>> {
        self.peek(0)
    }

    fn take_oldest(&self) -> ipcq::Result<Option<Message>> {
        self.try_recv(Selector::Any)
    }
}

/// How the take step ended.
#[derive(Debug)]
pub(crate) enum TakeEnd {
    /// Every copied message was taken off the queue.
    All,
    /// Another process changed the head of the queue: after `taken` messages
    /// the oldest was `found` instead of the next copy. `extra` is a message that
    /// a race made this process take although it is not the next copy: it is
    /// off the queue, so it must go into the file.
    Changed {
        taken: usize,
        found: Option<Message>,
        extra: Option<Message>,
    },
    /// A call failed after `taken` messages were taken.
    Failed { taken: usize, error: Error },
}

/// Takes the copied messages off the queue in order, checking before each
/// that the oldest message is still the next copy.
///
/// A check and a take are two calls, and another process may receive between
/// them: then the message taken is checked again and, if it is another one,
/// reported as `extra` rather than dropped.
pub(crate) fn take_copies(source: &impl Source, copies: &[Message]) -> TakeEnd {
    for (taken, copy) in copies.iter().enumerate() {
        match source.oldest() {
            Ok(Some(oldest)) if oldest == *copy => {}
            Ok(found) => {
                return TakeEnd::Changed {
                    taken,
                    found,
                    extra: None,
                };
            }
            Err(error) => return TakeEnd::Failed { taken, error },
        }
        match source.take_oldest() {
            Ok(Some(message)) if message == *copy => {}
            Ok(Some(message)) => {
                return TakeEnd::Changed {
                    taken,
                    found: Some(message.clone()),
                    extra: Some(message),
                };
            }
            Ok(None) => {
                return TakeEnd::Changed {
                    taken,
                    found: None,
                    extra: None,
                };
            }
            Err(error) => return TakeEnd::Failed { taken, error },
        }
    }
    TakeEnd::All
}

/// Another process received during the take step: rewrites FILE to hold just
/// what this process took, so that every message is in exactly one place.
fn changed(
    args: &DumpArgs,
    header: &Header,
    copies: &[Message],
    taken: usize,
    found: &Option<Message>,
    extra: Option<Message>,
    queue: &MsgQueue,
) -> Failure {
    let file = args.file.display();
    let expected = &copies[taken];
    let found_text = match found {
        // The same type and size, other bytes: say so, or the two read alike.
        Some(m) if short(m) == short(expected) => {
            format!("it was another message of {}", short(m))
        }
        Some(m) => format!("it was {}", short(m)),
        None => "the queue had no message left".into(),
    };
    let mut kept: Vec<Message> = copies[..taken].to_vec();
    let extra_text = match &extra {
        Some(m) => {
            kept.push(m.clone());
            format!(
                "; in the race this process took that message too, and it is the last in {file}"
            )
        }
        None => String::new(),
    };
    let what = format!(
        "dump stopped: another process received from {} during the dump: after {taken} of the \
         {} copied messages were taken, the oldest message should have been {} but {found_text}{extra_text}",
        args.key.key,
        copies.len(),
        short(expected)
    );
    match durable::write_file(&args.file, &dumpfile::encode(header, &kept), true) {
        Ok(()) => Failure::new(format!(
            "{what}. {file} now holds exactly the {} taken off the queue; the others were \
             left to the queue and its other readers",
            counted(kept.len() as u64, "message")
        )),
        Err(e) => {
            let extra_fate = match extra {
                Some(m) => match queue.send(m.mtype, &m.body) {
                    Ok(()) => " The extra message was sent back to the end of the queue.".into(),
                    Err(err) => format!(
                        " The extra message could not be sent back either ({err}); here it is: {}",
                        message_line(m.mtype, &m.body)
                    ),
                },
                None => String::new(),
            };
            Failure::new(format!(
                "{what}. Rewriting {file} failed ({e}), so it still holds all {} copied messages: \
                 the first {taken} were taken off the queue, and the others are also on it or \
                 were taken by the other process.{extra_fate}",
                copies.len()
            ))
        }
    }
}

/// A call failed during the take step: FILE keeps every copy.
fn failed(args: &DumpArgs, copied: usize, taken: usize, error: &Error) -> Failure {
    let file = args.file.display();
    let rest = copied - taken;
    if error.is_removed() || error.is_not_found() {
        Failure::new(format!(
            "dump stopped: {} was removed during the dump, after {taken} of {copied} messages \
             were taken off it. {file} holds all {copied}: it is the only copy of the other {rest}, \
             which went with the queue",
            args.key.key
        ))
    } else {
        Failure::new(format!(
            "dump stopped after {taken} of {copied} messages were taken off {}: {error}. \
             {file} holds all {copied}; its last {rest} are also still on the queue, as the \
             oldest messages there, so restoring {file} would deliver those twice",
            args.key.key
        ))
    }
}

/// `mtype 3, 12 bytes`: enough to tell messages apart in a report.
fn short(message: &Message) -> String {
    format!(
        "mtype {}, {}",
        message.mtype,
        counted(message.body.len() as u64, "byte")
    )
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use super::*;

    /// Another process: runs before each call with the call's name, and may
    /// change the queue.
    type Other = Box<dyn Fn(&str, &mut VecDeque<Message>)>;

    /// A queue in memory, with another process that acts between calls.
    struct FakeQueue {
        messages: RefCell<VecDeque<Message>>,
        other: Other,
    }

    impl FakeQueue {
        fn new(
            messages: &[Message],
            other: impl Fn(&str, &mut VecDeque<Message>) + 'static,
        ) -> Self {
            FakeQueue {
                messages: RefCell::new(messages.iter().cloned().collect()),
                other: Box::new(other),
            }
        }
    }

    impl Source for FakeQueue {
        fn oldest(&self) -> ipcq::Result<Option<Message>> {
            let mut q = self.messages.borrow_mut();
            (self.other)("oldest", &mut q);
            Ok(q.front().cloned())
        }

        fn take_oldest(&self) -> ipcq::Result<Option<Message>> {
            let mut q = self.messages.borrow_mut();
            (self.other)("take", &mut q);
            Ok(q.pop_front())
        }
    }

    fn msg(mtype: i64, body: &str) -> Message {
        Message {
            mtype,
            body: body.as_bytes().to_vec(),
        }
    }

    fn three() -> Vec<Message> {
        vec![msg(1, "a"), msg(2, "b"), msg(1, "c")]
    }

    #[test]
    fn takes_every_copy_and_leaves_later_sends() {
        let q = FakeQueue::new(&three(), |call, q| {
            // Another process keeps sending: its messages go after ours.
            if call == "take" {
                q.push_back(msg(9, "new"));
            }
        });
        assert!(matches!(take_copies(&q, &three()), TakeEnd::All));
        assert_eq!(q.messages.borrow().len(), 3);
        assert!(q.messages.borrow().iter().all(|m| m.mtype == 9));
    }

    #[test]
    fn stops_when_another_reader_took_the_next_copy() {
        let q = FakeQueue::new(&three(), |call, q| {
            // Another process takes "b" while this one is at the second message.
            if call == "oldest" && q.len() == 2 && q[0].body == b"b" {
                q.pop_front();
            }
        });
        match take_copies(&q, &three()) {
            TakeEnd::Changed {
                taken: 1,
                found: Some(found),
                extra: None,
            } => assert_eq!(found, msg(1, "c")),
            other => panic!("{other:?}"),
        }
        // "c" was not taken: it is still on the queue, so not lost.
        assert_eq!(
            q.messages.borrow().iter().cloned().collect::<Vec<_>>(),
            vec![msg(1, "c")]
        );
    }

    #[test]
    fn keeps_a_message_taken_in_the_race() {
        let q = FakeQueue::new(&three(), |call, q| {
            // Between the check and the take of "b", another process takes "b".
            if call == "take" && q.len() == 2 && q[0].body == b"b" {
                q.pop_front();
            }
        });
        match take_copies(&q, &three()) {
            TakeEnd::Changed {
                taken: 1,
                extra: Some(extra),
                ..
            } => assert_eq!(extra, msg(1, "c")),
            other => panic!("{other:?}"),
        }
        assert!(q.messages.borrow().is_empty());
    }

    #[test]
    fn stops_when_the_queue_emptied() {
        let q = FakeQueue::new(&three(), |call, q| {
            if call == "take" && q.len() == 1 {
                q.clear();
            }
        });
        assert!(matches!(
            take_copies(&q, &three()),
            TakeEnd::Changed {
                taken: 2,
                found: None,
                extra: None
            }
        ));
    }

    #[test]
    fn identical_messages_are_interchangeable() {
        let same = vec![msg(4, "x"), msg(4, "x")];
        let q = FakeQueue::new(&same, |call, q| {
            // Another reader takes one of two equal messages: this dump still
            // ends with one copy in the file per message it took.
            if call == "oldest" && q.len() == 2 {
                q.pop_front();
            }
        });
        assert!(matches!(
            take_copies(&q, &same),
            TakeEnd::Changed {
                taken: 1,
                found: None,
                extra: None
            }
        ));
    }
}
