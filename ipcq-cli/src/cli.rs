//! The command line: every subcommand, option and help text.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand};
use ipcq::service::Credentials;

use crate::target::{Target, parse_target};
use crate::values::{parse_duration, parse_mode, parse_owner, parse_user};

const AFTER_HELP: &str = "\
KEY names a queue: a key in decimal (3053, -1) or hex (0xbed), ftok:PATH:ID for the key
ftok(3) derives from an existing file and a project id (1-255 or one character, as in
ftok:/etc/myapp.conf:q), or id:N for the queue with id N as `ipcq list` shows it.

Exit status: 0 done; 1 failed (the reason is one line on stderr, after `ipcq: `);
2 bad command line; 3 nothing to do without waiting: --nowait or --timeout found no
message to receive or no room to send; 130 stopped by SIGINT or SIGTERM part-way.";

/// Inspect and use System V message queues: list them, send and receive
/// messages, watch a queue, and dump its messages to a file and restore them.
#[derive(Debug, Parser)]
#[command(name = "ipcq", version, after_help = AFTER_HELP, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    List(ListArgs),
    Stat(StatArgs),
    Create(CreateArgs),
    Rm(RmArgs),
    Send(SendArgs),
    Recv(RecvArgs),
    Peek(PeekArgs),
    Watch(WatchArgs),
    Dump(DumpArgs),
    Restore(RestoreArgs),
    Show(ShowArgs),
}

// The KEY argument of every queue command. (A doc comment here would become
// the about text of each command that flattens it.)
#[derive(Debug, Args)]
pub(crate) struct KeyArg {
    /// The queue: a decimal or 0x-hex key, ftok:PATH:ID, or id:N (see `ipcq --help`)
    // Keys of 0x80000000 and up are negative in decimal, as `ipcq list` shows them.
    #[arg(value_name = "KEY", value_parser = parse_target, allow_negative_numbers = true)]
    pub(crate) key: Target,
}

const QUEUE_JSON_HELP: &str = "\
With --json, each queue is an object with these fields:
  key             the key as a signed 32-bit number, as /proc/sysvipc/msg shows it (0: private)
  key_hex         the same key as ipcs shows it: \"0x\" and 8 hex digits
  id              the queue id (use it as id:N)
  uid, user       the owner's uid, and user name or null when the system has none
  gid, group      the owner's gid, and group name or null
  creator_uid     the creator's uid
  creator_gid     the creator's gid
  mode            the permission bits in octal, as a string: \"0600\"
  messages        messages waiting (msg_qnum)
  bytes           bytes of message bodies waiting (msg_cbytes)
  capacity        the most body bytes the queue holds (msg_qbytes), or null when this
                  process may not read the queue's status (/proc does not show it)
  last_send_pid   the process that sent last, 0 if none has (msg_lspid)
  last_recv_pid   the process that received last, 0 if none has (msg_lrpid)
  last_send       when a message was last sent, in seconds since 1970 UTC, or null
  last_recv       when a message was last received, or null
  last_change     when the queue was created or last changed (msg_ctime), or null
Fields are only ever added, never renamed or removed.";

/// List every message queue on the host, as `ipcs -q` does.
///
/// Reads /proc/sysvipc/msg, which shows every queue whatever its permissions.
/// The table has the key in hex and decimal, the id, the owner, the mode, the
/// messages and bytes waiting, the capacity, and the pids of the last sender
/// and receiver. A capacity of `-` means this process may not read the queue.
#[derive(Debug, Args)]
#[command(after_help = QUEUE_JSON_HELP)]
pub(crate) struct ListArgs {
    /// Print a JSON array of queue objects instead of the table
    #[arg(long)]
    pub(crate) json: bool,
}

/// Show one queue's status: owner, mode, messages, bytes, capacity, and who
/// sent and received last and when.
///
/// Times are shown in UTC. Without read permission on the queue the status
/// comes from /proc/sysvipc/msg, which lacks the capacity.
#[derive(Debug, Args)]
#[command(after_help = QUEUE_JSON_HELP)]
pub(crate) struct StatArgs {
    #[command(flatten)]
    pub(crate) key: KeyArg,
    /// Print one JSON object with the fields `ipcq list --json` uses
    #[arg(long)]
    pub(crate) json: bool,
}

/// Create a queue, or find the one that has the key.
///
/// Prints the queue's key and id. Mode, capacity and owner apply only to a
/// queue this command creates: an existing queue is left as it is (and said so)
/// unless --exclusive makes that an error. KEY `private` (or 0) creates a new
/// private queue, reachable only by the id printed.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    pub(crate) key: KeyArg,
    /// Permission bits in octal: 600 lets only the owner in, 660 its group too
    /// [default: 600]
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    pub(crate) mode: Option<u32>,
    /// The most bytes of message bodies the queue holds (msg_qbytes); the default is
    /// the kernel's kernel.msgmnb, and going above it needs CAP_SYS_RESOURCE
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) capacity: Option<u64>,
    /// The owner to give the queue: a user, with its primary group, or
    /// USER:GROUP, names or numbers, as chown takes them [default: this process's]
    #[arg(long, value_name = "USER[:GROUP]", value_parser = parse_owner)]
    pub(crate) owner: Option<Credentials>,
    /// Fail if a queue with the key exists already
    #[arg(long)]
    pub(crate) exclusive: bool,
}

/// Remove a queue and every message on it (msgctl IPC_RMID), as `ipcrm -q`.
///
/// Processes blocked on the queue wake with an error. Only the queue's owner or
/// creator, or root, may remove it.
#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    #[command(flatten)]
    pub(crate) key: KeyArg,
}

/// Send one message.
///
/// The body is TEXT as given, or the bytes of --file, or else everything on
/// standard input; bytes are sent exactly, no newline is added or removed
/// (`echo hi | ipcq send K --type 1` sends "hi\n"; `printf hi` sends "hi").
/// Waits while the queue is full, unless --nowait or --timeout.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("body").args(["text", "file"])))]
pub(crate) struct SendArgs {
    #[command(flatten)]
    pub(crate) key: KeyArg,
    /// The message type (mtype), 1 or more
    #[arg(long = "type", short = 't', value_name = "N",
          value_parser = clap::value_parser!(i64).range(1..))]
    pub(crate) mtype: i64,
    /// The body, as given (put `--` before text that starts with a dash)
    #[arg(value_name = "TEXT")]
    pub(crate) text: Option<OsString>,
    /// Send the bytes of this file as the body
    #[arg(long, short = 'f', value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// Fail (exit status 3) instead of waiting when the queue is full
    #[arg(long, conflicts_with = "timeout")]
    pub(crate) nowait: bool,
    /// Wait at most this long for room (500ms, 2s, 1m), then fail with exit status 3
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) timeout: Option<Duration>,
}

const RECV_AFTER_HELP: &str = "\
Output: each message is one line: `mtype 7, 5 bytes: hello` when the body is UTF-8
text, with backslash, tab, newline, carriage return, NUL and other control characters
escaped as \\\\, \\t, \\n, \\r, \\0 and \\u{1b} (as are Unicode's line and paragraph
separators and bidirectional controls, \\u{2028}), so that one line is always one message;
`mtype 7, 3 bytes, hex: 00ff41` when it is not UTF-8; `mtype 7, 0 bytes` when empty
(and `1 byte` for one). With --raw only the bodies are written, back to back, as they are.";

/// Receive messages, taking them off the queue.
///
/// Takes the oldest message (or the oldest that --type, --up-to or --except
/// pick) and prints it; --count N takes N. Waits for a message unless --nowait
/// or --timeout; when fewer than N messages could be had that way, prints those
/// and exits with status 3. A message that cannot be written to standard output
/// is sent back to the queue (at its end) rather than lost.
#[derive(Debug, Args)]
#[command(after_help = RECV_AFTER_HELP)]
#[command(group(ArgGroup::new("selection").args(["mtype", "up_to", "except"])))]
pub(crate) struct RecvArgs {
    #[command(flatten)]
    pub(crate) key: KeyArg,
    /// Only messages of this type
    #[arg(long = "type", short = 't', value_name = "N",
          value_parser = clap::value_parser!(i64).range(1..))]
    pub(crate) mtype: Option<i64>,
    /// The lowest type at or below N first: types as priorities (msgtyp -N)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub(crate) up_to: Option<i64>,
    /// Messages of any type but N (MSG_EXCEPT)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub(crate) except: Option<i64>,
    /// Do not wait: take what is there now (exit status 3 if there is not enough)
    #[arg(long, conflicts_with = "timeout")]
    pub(crate) nowait: bool,
    /// Wait at most this long in all (500ms, 2s, 1m) for the messages to come
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) timeout: Option<Duration>,
    /// How many messages to receive
    #[arg(long, short = 'n', value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: u64,
    /// Write only the message bodies, unchanged, for pipes
    #[arg(long)]
    pub(crate) raw: bool,
}

/// Show messages without taking them off the queue.
///
/// Copies the messages from the oldest on with msgrcv's MSG_COPY, which needs
/// a kernel built with CONFIG_CHECKPOINT_RESTORE (most distributions' are).
/// Other processes may send and receive meanwhile, so on a busy queue the
/// result is not a snapshot of one instant.
#[derive(Debug, Args)]
#[command(after_help = RECV_AFTER_HELP)]
pub(crate) struct PeekArgs {
    #[command(flatten)]
    pub(crate) key: KeyArg,
    /// Show at most the N oldest messages (default: all)
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: Option<u64>,
    /// Write only the message bodies, unchanged
    #[arg(long)]
    pub(crate) raw: bool,
}

/// Watch a queue: one line per refresh, until Ctrl-C (exit status 0).
///
/// Each line shows the time since the start, the depth (messages waiting) and
/// its change, the bytes waiting of the capacity, the net rate, how long ago
/// and by which pid the last send and receive were, and a sparkline of the
/// depth over the last refreshes. The kernel keeps no counts of sends and
/// receives, only the depth and the time and pid of the last of each: the rate
/// is the change of depth per second, so a consumer that keeps up with its
/// producer shows 0/s while the send and receive times stay recent.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    pub(crate) key: KeyArg,
    /// Time between refreshes (500ms, 2s, 1m)
    #[arg(long, short = 'i', value_name = "DURATION", default_value = "1s",
          value_parser = parse_duration)]
    pub(crate) interval: Duration,
    /// Stop after N refreshes
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: Option<u64>,
}

const DUMP_AFTER_HELP: &str = "\
Steps, and what a crash at each leaves (docs/DUMP.md has the details and the format):
  1. copy every message with MSG_COPY, oldest first. Crash: queue untouched, no FILE.
  2. write the copies to a temporary file next to FILE, fsync it, rename it to FILE,
     fsync the directory. Crash: queue untouched; FILE absent (or as it was, with
     --force), or complete. A stray .FILE.ipcq-PID.tmp may remain: delete it.
  3. take the messages off the queue, each checked equal to its copy first.
     Crash: FILE holds every message; the first K are off the queue and the others
     are in both places. `ipcq show FILE` and `ipcq peek KEY` tell which: the
     messages still on the queue are FILE's last ones.
Other processes: messages sent during the dump are added after the copied ones and
stay on the queue. If another process receives from the queue during step 3, the
oldest message is no longer the expected copy: the dump stops, rewrites FILE to
hold just the messages it took, and leaves the rest on the queue; nothing is lost
and nothing is in both places (exit status 1). If the other process received in
the instant between the check and the take, the message this one took instead is
kept as FILE's last. If the queue is removed during step 3, FILE keeps every copy. SIGINT and SIGTERM before step 3 stop the dump with the
queue untouched and no new FILE (an old one that --force would replace is kept); during step 3, which takes milliseconds, they wait
for it to end.";

/// Move every message of a queue into a file, crash-safely, in order.
///
/// FILE (format: docs/DUMP.md) keeps each message's mtype and body, the
/// queue's key, mode and capacity, and a checksum. `ipcq restore` puts the
/// messages back, on this host after a reboot or on another. Needs MSG_COPY
/// (see `ipcq peek --help`).
#[derive(Debug, Args)]
#[command(after_help = DUMP_AFTER_HELP)]
pub(crate) struct DumpArgs {
    #[command(flatten)]
    pub(crate) key: KeyArg,
    /// The file to write; it must not exist, unless --force
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// Copy the messages and leave them on the queue too
    #[arg(long)]
    pub(crate) keep: bool,
    /// Replace FILE if it exists
    #[arg(long)]
    pub(crate) force: bool,
    /// Refuse a queue that a user other than this one, root or USER owns or
    /// created, or that every user may write to (the ipcq library's check),
    /// instead of acting on any queue
    #[arg(long, value_name = "USER", value_parser = parse_user)]
    pub(crate) trust: Option<u32>,
}

const RESTORE_AFTER_HELP: &str = "\
The whole file is read and checked before anything is sent: a truncated or corrupt
file is refused and left in place. Then the messages are sent in order. If that
stops part-way (--nowait on a full queue, an error, SIGINT or SIGTERM), the error
says how many messages are on the queue, and the file is rewritten to hold only the
others, so that the same command sends the rest and none twice (with --keep, or for
a file that is not a regular one, the file stays whole, and the error gives the
command with --skip). If the queue was removed, or the file changed meanwhile, the
file is left as it is. A crash leaves the file whole too; the number restored is then not
printed, but the queue's new messages are the file's first ones (`ipcq peek KEY`,
`ipcq show FILE`), to pass as --skip.";

/// Send the messages of a dump file back to a queue, in their order.
///
/// Creates the queue if it does not exist, with the mode and capacity the dump
/// recorded unless --mode or --capacity say otherwise, owned by --owner if given (a capacity above the
/// kernel's kernel.msgmnb needs CAP_SYS_RESOURCE); an existing queue is used as it is, and
/// the messages go after any it holds. When the file holds more than the queue
/// takes at once, sends wait for room unless --nowait. On success FILE is
/// removed, unless --keep. KEY `private` restores into a new private queue.
#[derive(Debug, Args)]
#[command(after_help = RESTORE_AFTER_HELP)]
pub(crate) struct RestoreArgs {
    /// A file written by `ipcq dump`
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) key: KeyArg,
    /// Permission bits in octal of a queue this creates (default: the dump's)
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    pub(crate) mode: Option<u32>,
    /// Capacity in bytes of a queue this creates (default: the dump's)
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) capacity: Option<u64>,
    /// Owner of a queue this creates, as for `ipcq create` (default: this
    /// process's user); a daemon that drops privileges needs its queue to be its own
    #[arg(long, value_name = "USER[:GROUP]", value_parser = parse_owner)]
    pub(crate) owner: Option<Credentials>,
    /// Refuse an existing queue that a user other than this one, root or USER
    /// owns or created, or that every user may write to (the ipcq library's
    /// check), instead of filling any queue
    #[arg(long, value_name = "USER", value_parser = parse_user)]
    pub(crate) trust: Option<u32>,
    /// Fail (exit status 3) instead of waiting when the queue is full
    #[arg(long)]
    pub(crate) nowait: bool,
    /// Skip the file's first N messages, which an interrupted restore already sent
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) skip: u64,
    /// Keep FILE after a successful restore
    #[arg(long)]
    pub(crate) keep: bool,
}

const SHOW_AFTER_HELP: &str = "\
Output: three header lines that start with `#` (format version and time of the dump; the
source queue's key, mode and capacity; the number of messages and body bytes), then one
line per message: `mtype 7, 5 bytes: hello` for UTF-8 text, with backslash and control
characters escaped (\\\\, \\t, \\n, \\r, \\0, \\u{1b}); `mtype 7, 3 bytes, hex: 00ff41` otherwise;
`mtype 7, 0 bytes` when empty.";

/// Print a dump file's header and messages without touching any queue.
///
/// Checks the file as restore does, and refuses a truncated or corrupt one;
/// the messages are printed oldest first, as `ipcq recv` prints them.
#[derive(Debug, Args)]
#[command(after_help = SHOW_AFTER_HELP)]
pub(crate) struct ShowArgs {
    /// A file written by `ipcq dump`
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
}
