//! Shared pieces of the integration tests: queues that clean up after
//! themselves, the message enums the tests and the `peer` process share, and
//! a way to start that peer.

pub mod foreign;
pub mod messages;

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use ipcq::{Error, Key, MsgQueue, OpenOptions};

/// A queue under a key no other test uses, removed when dropped, even when
/// the test fails, so that `ipcs -q` is the same before and after the suite.
pub struct TestQueue {
    queue: MsgQueue,
}

impl TestQueue {
    /// A new queue with mode 0600 and the kernel's default capacity.
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    /// A new queue of `capacity` bytes, full: it holds one message of mtype 1
    /// and `capacity` zero bytes.
    pub fn full(capacity: usize) -> Self {
        let q = Self::with(|o| {
            o.capacity(capacity as u64);
        });
        q.send(1, &vec![0; capacity]).expect("fill the test queue");
        q
    }

    /// A new queue with options set by `configure` (create_new is forced).
    pub fn with(configure: impl Fn(&mut OpenOptions)) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            // 0x2Axxxxxx: pid in the middle bits, a per-process counter below.
            let key = 0x2A00_0000 | ((std::process::id() & 0xFFFF) << 8) as i32 | (n & 0xFF) as i32;
            let mut options = OpenOptions::new();
            configure(&mut options);
            match options.create_new(true).open(Key::new(key)) {
                Ok(queue) => return TestQueue { queue },
                Err(Error::AlreadyExists { .. }) if n < 100_000 => continue,
                Err(e) => panic!("cannot create a test queue: {e}"),
            }
        }
    }

    /// A typed view of this queue.
    pub fn typed<M: ipcq::QueueMessage>(&self) -> ipcq::TypedQueue<M> {
        ipcq::TypedQueue::from_queue(self.queue.clone())
    }

    /// The key, as a decimal string for the peer's command line.
    pub fn key_arg(&self) -> String {
        self.queue.key().get().to_string()
    }
}

impl Default for TestQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for TestQueue {
    type Target = MsgQueue;

    fn deref(&self) -> &MsgQueue {
        &self.queue
    }
}

impl Drop for TestQueue {
    fn drop(&mut self) {
        match self.queue.remove() {
            Ok(()) | Err(Error::NotFound { .. } | Error::Removed { .. }) => {}
            Err(e) => eprintln!("could not remove test queue {}: {e}", self.queue.id()),
        }
    }
}

/// A scratch directory of one test, `NAME-PID` under `base`, removed when
/// dropped, also when the test fails. Integration tests pass cargo's
/// `CARGO_TARGET_TMPDIR`, which lies in the target directory rather than a
/// /tmp that other users share.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates the directory, clearing one that a process of the same pid
    /// left there.
    pub fn new(base: impl AsRef<Path>, name: &str) -> Self {
        let path = base.as_ref().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a scratch directory");
        ScratchDir(path)
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `Work::Job` with a payload derived from its id.
pub fn job(id: u64) -> messages::Work {
    messages::Work::Job {
        id,
        payload: format!("payload {id}"),
    }
}

/// A short name for an error's variant, as the peer prints it.
pub fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::Removed { .. } => "removed",
        Error::NotFound { .. } => "not-found",
        Error::AlreadyExists { .. } => "already-exists",
        Error::WouldBlock { .. } => "would-block",
        Error::TimedOut { .. } => "timed-out",
        Error::PermissionDenied { .. } => "permission-denied",
        Error::Untrusted { .. } => "untrusted",
        Error::TooLarge { .. } => "too-large",
        Error::Stopped { .. } => "stopped",
        Error::InvalidArgument { .. } => "invalid-argument",
        Error::LimitReached { .. } => "limit-reached",
        Error::Unsupported { .. } => "unsupported",
        Error::AlreadyRunning { .. } => "already-running",
        Error::Decode(_) => "decode",
        Error::Encode(_) => "encode",
        _ => "other",
    }
}

/// A `Command` for the test package's `peer` binary.
#[macro_export]
macro_rules! peer {
    ($($arg:expr),* $(,)?) => {{
        let mut command = ::std::process::Command::new(env!("CARGO_BIN_EXE_peer"));
        $( command.arg($arg); )*
        command
    }};
}

/// Runs a peer as [`run_ok`] does, but kills it and panics if it still runs
/// after `limit`: for a peer that a regression would leave waiting for ever.
pub fn run_ok_within(mut command: std::process::Command, limit: std::time::Duration) -> String {
    use std::process::Stdio;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the peer");
    let stdout = foreign::drain(child.stdout.take().unwrap());
    let stderr = foreign::drain(child.stderr.take().unwrap());
    let status = foreign::wait_within(&mut child, limit);
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr),
    );
    let args = command.get_args().collect::<Vec<_>>();
    match status {
        None => panic!("peer {args:?} still ran after {limit:?}; killed it: {stdout}{stderr}"),
        Some(status) if !status.success() => {
            panic!("peer {args:?} failed with {status}: {stdout}{stderr}")
        }
        Some(_) => stdout.into_owned(),
    }
}

/// Runs a peer to completion and returns its stdout, panicking with its
/// stderr if it failed.
pub fn run_ok(mut command: std::process::Command) -> String {
    let out = command.output().expect("cannot start the peer");
    assert!(
        out.status.success(),
        "peer {:?} failed with {}: {}{}",
        command.get_args().collect::<Vec<_>>(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("peer output is UTF-8")
}
