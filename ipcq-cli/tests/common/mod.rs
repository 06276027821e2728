//! Shared pieces of the CLI tests: running the built `ipcq` binary, and keys
//! and queues that are removed when a test ends, pass or fail.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ipcq::{Key, MsgQueue, OpenOptions, QueueId};

/// What a run of `ipcq` did.
pub struct Run {
    pub status: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub args: Vec<String>,
}

impl Run {
    fn from(args: &[&str], out: Output) -> Self {
        Run {
            status: out.status.code(),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Standard output as text (binary output is compared as `stdout`).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Asserts success and returns standard output as text.
    pub fn ok(&self) -> String {
        assert_eq!(
            self.status,
            Some(0),
            "ipcq {:?} failed: stderr: {}stdout: {}",
            self.args,
            self.stderr,
            String::from_utf8_lossy(&self.stdout)
        );
        self.text()
    }

    /// Asserts failure with `status` and one `ipcq: ` line on stderr; returns that line.
    pub fn fails(&self, status: i32) -> String {
        assert_eq!(
            self.status,
            Some(status),
            "ipcq {:?}: expected status {status}; stderr: {}stdout: {}",
            self.args,
            self.stderr,
            String::from_utf8_lossy(&self.stdout)
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "ipcq {:?}: stderr is not one line: {:?}",
            self.args,
            self.stderr
        );
        assert!(lines[0].starts_with("ipcq: "), "{:?}", lines[0]);
        lines[0].to_owned()
    }
}

/// Runs `ipcq` with `args` and an empty standard input.
pub fn ipcq(args: &[&str]) -> Run {
    ipcq_with_input(args, b"")
}

/// Runs `ipcq` with `args`, feeding `input` on standard input.
pub fn ipcq_with_input(args: &[&str], input: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ipcq"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start ipcq");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // ipcq may exit without reading its input; a broken pipe is fine then.
    let _ = stdin.write_all(input);
    drop(stdin);
    let out = child.wait_with_output().expect("cannot wait for ipcq");
    Run::from(args, out)
}

/// Starts `ipcq` with `args` as user and group `nobody` (65534), its output
/// piped, or returns `None` when this process is not root and cannot.
pub fn spawn_ipcq_as_nobody(args: &[&str]) -> Option<Child> {
    use std::os::unix::process::CommandExt;
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to run ipcq as another user");
        return None;
    }
    let child = Command::new(env!("CARGO_BIN_EXE_ipcq"))
        .args(args)
        .uid(65534)
        .gid(65534)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ipcq as nobody");
    Some(child)
}

/// Waits until `child` is asleep in `msgsnd`, waiting for room.
pub fn wait_in_msgsnd(child: &Child) {
    let wchan = format!("/proc/{}/wchan", child.id());
    wait_until("ipcq waits in msgsnd", || {
        std::fs::read_to_string(&wchan).is_ok_and(|w| w.contains("msgsnd"))
    });
}

/// Runs `ipcq` with `args` as user and group `nobody` (65534), or returns
/// `None` when this process is not root and cannot.
pub fn ipcq_as_nobody(args: &[&str]) -> Option<std::process::Output> {
    use std::os::unix::process::CommandExt;
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to run ipcq as another user");
        return None;
    }
    let output = Command::new(env!("CARGO_BIN_EXE_ipcq"))
        .args(args)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run ipcq as nobody");
    Some(output)
}

/// A key no queue has, whose queue (if a test creates one) is removed when
/// this is dropped, even when the test fails: `ipcs -q` is the same before and
/// after the suite.
pub struct TestKey {
    key: Key,
}

impl TestKey {
    /// A fresh key: 0x3Cpppp nn, the pid in the middle, a per-process counter below.
    pub fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            assert!(n < 0x100, "out of test keys");
            let key =
                Key::new(0x3C00_0000 | ((std::process::id() & 0xFFFF) << 8) as i32 | n as i32);
            if !MsgQueue::exists(key).expect("msgget works") {
                return TestKey { key };
            }
        }
    }

    /// A fresh key with a queue created through the library.
    pub fn with_queue(configure: impl FnOnce(&mut OpenOptions)) -> (Self, MsgQueue) {
        let key = TestKey::new();
        let mut options = OpenOptions::new();
        configure(&mut options);
        let queue = options
            .create_new(true)
            .open(key.key)
            .expect("create a test queue");
        (key, queue)
    }

    pub fn key(&self) -> Key {
        self.key
    }

    /// The key as `ipcq` takes it, in hex.
    pub fn arg(&self) -> String {
        format!("{:#x}", self.key.get())
    }

    /// The queue now under the key.
    pub fn open(&self) -> MsgQueue {
        OpenOptions::new()
            .allow_foreign(true)
            .open(self.key)
            .expect("the test queue exists")
    }

    pub fn exists(&self) -> bool {
        MsgQueue::exists(self.key).expect("msgget works")
    }
}

impl Drop for TestKey {
    fn drop(&mut self) {
        if let Ok(queue) = OpenOptions::new().allow_foreign(true).open(self.key) {
            let _ = queue.remove();
        }
    }
}

/// A queue known by id only (a private one), removed when dropped.
pub struct TestId(pub QueueId);

impl Drop for TestId {
    fn drop(&mut self) {
        if let Ok(queue) = OpenOptions::new().allow_foreign(true).open_id(self.0) {
            let _ = queue.remove();
        }
    }
}

/// A scratch directory of this test, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ipcq-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        TempDir(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    pub fn arg(&self, file: &str) -> String {
        self.path(file)
            .to_str()
            .expect("UTF-8 temp path")
            .to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every message on a queue, oldest first, taken off it.
pub fn drain(queue: &MsgQueue) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(m) = queue.try_recv(ipcq::Selector::Any).expect("receive") {
        out.push((m.mtype, m.body));
    }
    out
}

/// Starts `ipcq` with `args` in the background, its output captured.
pub fn spawn_ipcq(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ipcq"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ipcq")
}

/// Polls `done` until it holds, failing the test with `what` after 10 s; then
/// waits 100 ms more, so that a process that got there is settled in its
/// next call.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
}

/// Sends SIGINT to `child` and collects its exit status and output.
pub fn interrupt(child: Child) -> Output {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("SIGINT");
    child.wait_with_output().expect("wait for ipcq")
}
