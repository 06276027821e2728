//! `ipcq restore FILE KEY`: send a dump's messages back to a queue, in order.

use std::path::Path;

use ipcq::{Error, Limits, MsgQueue, OpenOptions, StopHandle};

use super::send::send_waiting;
use super::show::read_dump;
use super::{report_done, settings_given};
use crate::cli::RestoreArgs;
use crate::dumpfile::{self, Dump};
use crate::durable::{self, Identity, Replaced};
use crate::failure::{EXIT_INTERRUPTED, Failure, Outcome, exit_code};
use crate::format::{counted, listed};
use crate::signals::{self, Interrupts};
use crate::target::Target;

/// Checks the whole file, opens or creates the queue, sends the messages.
pub(crate) fn run(args: &RestoreArgs) -> Outcome {
    let path = args.file.display();
    let left = "; it was left in place and nothing was sent";
    // Which file FILE is, taken before it is read: only that very file is
    // later rewritten or removed.
    let identity = Identity::of(&args.file);
    let dump = read_dump(&args.file).map_err(|f| {
        let f = f.context("cannot restore");
        // A file that is not there was not left anywhere.
        if args.file.exists() {
            f.followed_by(left)
        } else {
            f.followed_by("; nothing was sent")
        }
    })?;
    let total = dump.messages.len();
    // Refuse a bad --skip before creating anything.
    let skip = match usize::try_from(args.skip) {
        Ok(skip) if skip <= total => skip,
        _ => {
            return Err(Failure::new(format!(
                "cannot restore: --skip {} is more than the {} in {path}{left}",
                args.skip,
                counted(total as u64, "message")
            )));
        }
    };
    let header = dump.header;

    let stop = StopHandle::new();
    let interrupts = Interrupts::catch(Some(stop.clone()))?;

    let mut options = OpenOptions::new();
    options.mode(args.mode.unwrap_or(header.mode));
    let capacity = args
        .capacity
        .or((header.capacity > 0).then_some(header.capacity));
    if let Some(capacity) = capacity {
        options.capacity(capacity);
    }
    if let Some(owner) = args.owner {
        options.uid(owner.uid).gid(owner.gid);
    }
    let (queue, created) = args
        .key
        .key
        .create_or_open(&options, false, args.trust)
        .map_err(|f| {
            // Raising a capacity above msgmnb takes CAP_SYS_RESOURCE, which a dump
            // from a queue an administrator enlarged may ask for without saying so.
            let msgmnb = Limits::read().map_or(u64::MAX, |l| l.msgmnb as u64);
            let hint = match capacity {
                Some(c) if args.capacity.is_none() && c > msgmnb => format!(
                    " with the dump's capacity of {} (above kernel.msgmnb, {msgmnb}): \
                 pass --capacity for less",
                    counted(c, "byte")
                ),
                _ => String::new(),
            };
            f.context(format!("cannot restore into {}{hint}", args.key.key))
                .followed_by(left)
        })?;
    let queue = queue.with_stop(stop);

    // Every message must fit, or none is sent: a half-restored queue is worse
    // than a clear refusal.
    let limit = queue.max_message_size();
    if let Some((i, m)) = dump
        .messages
        .iter()
        .enumerate()
        .skip(skip)
        .find(|(_, m)| m.body.len() > limit)
    {
        let undone = if created && queue.remove().is_ok() {
            "; the queue this created was removed again"
        } else {
            ""
        };
        return Err(Failure::new(format!(
            "cannot restore: message {} of {path} is {}, more than the {} {} takes \
             (the lesser of kernel.msgmax and its capacity){left}{undone}",
            i + 1,
            counted(m.body.len() as u64, "byte"),
            counted(limit as u64, "byte"),
            args.key.key
        )));
    }

    // Without read permission the check above knew only msgmax: a message
    // larger than the capacity would wait for ever. A send that waits says so.
    let capacity_unknown = queue.stat().is_err();
    let mut warned = false;
    // `sent` counts the file's messages now on the queue: those skipped, as a
    // previous run sent them, and those this run sent before this one.
    for (sent, message) in dump.messages.iter().enumerate().skip(skip) {
        let result = match interrupts.caught() {
            Some(signal) => Err(Stopped::Signal(signal)),
            None if args.nowait => queue
                .try_send(message.mtype, &message.body)
                .map_err(Stopped::Error),
            None => send_waiting(
                &queue,
                message.mtype,
                &message.body,
                capacity_unknown,
                &mut warned,
            )
            .map_err(Stopped::Error),
        };
        if let Err(stopped) = result {
            let stopped = match (stopped, interrupts.caught()) {
                (Stopped::Error(Error::Stopped { .. }), Some(signal)) => Stopped::Signal(signal),
                (stopped, _) => stopped,
            };
            return Err(partial(
                args,
                &queue,
                &dump,
                identity.as_ref(),
                skip,
                sent,
                &stopped,
            ));
        }
    }

    let bytes: usize = dump.messages[skip..].iter().map(|m| m.body.len()).sum();
    let mut line = format!(
        "restored {} ({}) to {}",
        counted((total - skip) as u64, "message"),
        counted(bytes as u64, "byte"),
        args.key.key.with_id(queue.id())
    );
    if created {
        if let Ok(stat) = queue.stat() {
            line += &format!(
                ", which this created with mode {:04o}, capacity {} and owner {}:{}",
                stat.mode,
                counted(stat.capacity, "byte"),
                stat.uid,
                stat.gid
            );
        }
    } else {
        let given: Vec<String> = settings_given(args.mode, args.capacity, args.owner)
            .into_iter()
            .map(|name| format!("--{name}"))
            .collect();
        if !given.is_empty() {
            let were = if given.len() == 1 { "was" } else { "were" };
            line += &format!(
                ", which existed already: {} {were} not applied",
                listed(&given)
            );
        }
    }
    if args.keep {
        line += &format!("; {path} was kept");
    } else if !identity.as_ref().is_some_and(|i| i.still_at(&args.file)) {
        line += &format!(
            "; {path} was not removed: it is not the file this run read (changed, replaced or \
             not a regular file)"
        );
    } else if let Err(e) = durable::remove_file(&args.file) {
        return Err(Failure::new(format!(
            "{line}, but {e}: remove it, or a rerun would send its messages again"
        )));
    } else {
        line += &format!("; {path} was removed");
    }
    report_done(|out| writeln!(out, "{line}"))
}

/// Why sending stopped.
enum Stopped {
    Signal(i32),
    Error(Error),
}

/// The report of a restore that stopped part-way: how many messages are on
/// the queue, and how to send the rest without duplicating any. Unless
/// --keep, FILE is rewritten (durably) to hold only the messages not sent,
/// so that the same command sends the rest; if that fails, or with --keep,
/// the report gives the command with --skip.
fn partial(
    args: &RestoreArgs,
    queue: &MsgQueue,
    dump: &Dump,
    identity: Option<&Identity>,
    skip: usize,
    sent: usize,
    stopped: &Stopped,
) -> Failure {
    let total = dump.messages.len();
    let path = args.file.display();
    let (code, why) = match stopped {
        Stopped::Signal(signal) => (
            EXIT_INTERRUPTED,
            format!("stopped by {}", signals::name(*signal)),
        ),
        Stopped::Error(err) => (exit_code(err), err.to_string()),
    };
    let target = target_name(args.key.key, queue);
    let removed = matches!(stopped, Stopped::Error(e) if e.is_removed() || e.is_not_found());
    // With sent == skip this run added nothing; the file's first `sent` were
    // there already, from the run that --skip accounts for.
    let done = if sent == 0 {
        format!("nothing was sent to {target}")
    } else if removed {
        let by_this_run = counted((sent - skip) as u64, "message");
        format!("this run had sent {by_this_run} to {target}")
    } else {
        let by_this_run = counted((sent - skip) as u64, "message");
        let (first, are) = if sent == 1 {
            ("message 1".to_owned(), "is")
        } else {
            (format!("messages 1 to {sent}"), "are")
        };
        format!(
            "this run sent {by_this_run}, so {first} of the {total} in {path} {are} on {target}"
        )
    };
    let tail = if removed {
        format!(
            "; {path} was left in place. The queue is gone, and the messages sent to it with \
             it: restore {path} again, without --skip, into a new queue"
        )
    } else if sent == skip
        && matches!(
            stopped,
            Stopped::Error(ipcq::Error::PermissionDenied { .. })
        )
    {
        // Nothing went through: the same command would fail the same way.
        format!(
            "; {path} was left in place. Nothing can be sent to it from this process; run the \
             restore as a user that may write to the queue"
        )
    } else {
        resume(args, queue, dump, identity, sent)
    };
    Failure::with_code(code, format!("restore stopped: {why}; {done}{tail}"))
}

/// After a restore that stopped with `sent` of the file's messages on the
/// queue: FILE rewritten to hold only the others (unless --keep, or it is not
/// the file this run read), and the command that sends them.
fn resume(
    args: &RestoreArgs,
    queue: &MsgQueue,
    dump: &Dump,
    identity: Option<&Identity>,
    sent: usize,
) -> String {
    let path = args.file.display();
    let again = format!(
        "ipcq restore {} {}",
        shell_word(&args.file),
        rerun_key(args.key.key, queue)
    );
    let with_skip = format!("To send the rest: {again} --skip {sent}");
    if sent == 0 {
        return format!("; {path} was left in place. To send them: {again}");
    }
    if args.keep {
        return format!("; {path} was kept whole (--keep). {with_skip}");
    }
    let Some(identity) = identity else {
        return format!("; {path} is not a regular file, so it was left as it is. {with_skip}");
    };
    let rest = dumpfile::encode(&dump.header, &dump.messages[sent..]);
    let left = counted((dump.messages.len() - sent) as u64, "message");
    match durable::replace_same(&args.file, identity, &rest) {
        Replaced::Done => format!("; {path} now holds the {left} not sent. To send them: {again}"),
        Replaced::NotSynced(e) => format!(
            "; {path} now holds the {left} not sent, but {e}, so a power cut may bring back \
             the whole file. To send them: {again}"
        ),
        Replaced::Changed => format!(
            "; {path} changed since this run read it, so it was left as it is (what this run \
             sent were the first {} of the file it read)",
            counted(sent as u64, "message")
        ),
        Replaced::Failed(e) => format!("; {path} was left in place ({e}). {with_skip}"),
    }
}

/// The queue for messages: its key, or its id for a private one.
fn target_name(target: Target, queue: &MsgQueue) -> String {
    match target {
        Target::Key(key) if key.is_private() => format!("private queue id {}", queue.id()),
        other => other.to_string(),
    }
}

/// KEY for a rerun: the same queue, by key or (private) by id.
fn rerun_key(target: Target, queue: &MsgQueue) -> String {
    match target {
        Target::Key(key) if !key.is_private() => format!("{:#010x}", key.get()),
        _ => format!("id:{}", queue.id()),
    }
}

/// A path as a shell word: quoted when it holds anything but safe characters.
fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./,+=:@%".contains(c));
    if safe {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_paths_for_the_shell() {
        assert_eq!(shell_word(Path::new("/tmp/q.dump")), "/tmp/q.dump");
        assert_eq!(shell_word(Path::new("my dump")), "'my dump'");
        assert_eq!(shell_word(Path::new("it's")), r"'it'\''s'");
    }
}
