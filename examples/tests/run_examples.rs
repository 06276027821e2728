//! Runs the examples as real processes, the way their users do.
//!
//! `cargo test` builds the examples of this package before running its tests;
//! they sit in `target/<profile>/examples/`, next to this test's `deps/`.

use std::io::{BufRead, BufReader, Lines};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ipcq::{Key, MsgQueue};

/// `target/<profile>/`: this test runs from its `deps/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn example(name: &str) -> Command {
    let path = target_dir().join("examples").join(name);
    // An example is one file or a directory of its own.
    let file = format!("examples/{name}.rs");
    let own = if Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("{name}.rs"))
        .exists()
    {
        file
    } else {
        format!("examples/{name}")
    };
    assert_built_after_sources(&path, &own);
    Command::new(path)
}

/// Panics if `binary` is older than a source it is built from: the sources
/// of ipcq and its derive, and its own (`own`, a file or a directory of the
/// workspace). `cargo test` builds the examples, but not when told to build
/// one test target (`--test run_examples`), and a test of an old binary
/// proves nothing.
fn assert_built_after_sources(binary: &Path, own: &str) {
    fn newest(path: &Path, found: &mut Option<(std::time::SystemTime, PathBuf)>) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                newest(&entry.unwrap().path(), found);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let modified = std::fs::metadata(path).unwrap().modified().unwrap();
            if found.as_ref().is_none_or(|(t, _)| modified > *t) {
                *found = Some((modified, path.to_owned()));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut found = None;
    for source in ["ipcq/src", "ipcq-derive/src", own] {
        newest(&root.join(source), &mut found);
    }
    let (source_time, source) = found.expect("sources");
    let built = std::fs::metadata(binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}; run `cargo test --workspace`", binary.display()));
    assert!(
        built >= source_time,
        "{} is older than {}: build it first (`cargo test --workspace` or `cargo test -p \
         examples` do; `--test run_examples` alone does not)",
        binary.display(),
        source.display()
    );
}

/// Runs `sys/ipcq-sys.init ACTION` for the sys example on `key`, with its pid
/// file and log under `dir`, `cli` as the ipcq command and `dump` as the file
/// that stop dumps the queue into.
fn init_script(action: &str, key: &TestKey, dir: &Path, cli: &Path, dump: &Path) -> Output {
    run(&mut init_command(action, key, dir, cli, dump))
}

/// The init script's command, with the environment the tests give it.
fn init_command(action: &str, key: &TestKey, dir: &Path, cli: &Path, dump: &Path) -> Command {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("sys/ipcq-sys.init");
    let mut command = Command::new("sh");
    command
        .arg(script)
        .arg(action)
        .env("DAEMON", target_dir().join("examples/sys"))
        .env("PIDFILE", dir.join("run/ipcq-sys.pid"))
        .env("LOGFILE", dir.join("sys.log"))
        .env("SYS_KEY", key.arg())
        .env("IPCQ", cli)
        .env("DUMPFILE", dump);
    command
}

/// A key no other test uses; the queue under it is removed when dropped.
struct TestKey(Key);

impl TestKey {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        TestKey(Key::new(
            0x2B00_0000 | ((std::process::id() & 0xFFFF) << 8) as i32 | (n & 0xFF) as i32,
        ))
    }

    fn arg(&self) -> String {
        self.0.get().to_string()
    }
}

impl Drop for TestKey {
    fn drop(&mut self) {
        // Whoever made it: PHP makes queues every user may write to.
        if let Ok(q) = ipcq::OpenOptions::new().allow_foreign(true).open(self.0) {
            let _ = q.remove();
        }
    }
}

/// A directory of its own for a test, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ipcq-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .expect("cannot run the example")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a process runs (a zombie left for init to reap does not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        !s.lines()
            .any(|l| l.starts_with("State:") && l.contains('Z'))
    })
}

fn read_pid(path: &Path) -> i32 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// True, after saying why the test is skipped, when this process is not
/// root: `why` needs root.
fn skip_unless_root(why: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return false;
    }
    eprintln!("skipped: {why} needs root");
    true
}

#[test]
fn quickstart_runs_from_start_to_finish() {
    let out = run(&mut example("quickstart"));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for expected in [
        "recv_kind(Job)        -> Job { id: 1",
        "recv_priority(..=11)  -> Reload",
        "recv_except(Job)      -> Note(\"backup finished\")",
        "] job 2: /srv/in/2.csv",
        "] job 5: /srv/in/5.csv",
        "] reload",
        "] shutdown",
        "0 message(s) left",
        "queue removed",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn workers_share_the_jobs_each_handled_once() {
    let out = run(example("workers").args(["--workers", "3", "--jobs", "60"]));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("60 of 60 jobs handled exactly once"),
        "{stdout}"
    );
    let mut ids: Vec<u32> = stdout
        .lines()
        .filter_map(|l| {
            l.split(": handled ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..60).collect::<Vec<_>>());
}

/// A `Duration` as its `Debug` form prints it ("4.96µs"), in nanoseconds.
fn debug_duration_ns(text: &str) -> f64 {
    let split = text.find(|c: char| c.is_alphabetic() || c == 'µ').unwrap();
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "ns" => 1.0,
        "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        other => panic!("unit {other:?} in {text:?}"),
    };
    number.parse::<f64>().unwrap() * scale
}

#[test]
fn round_trip_measures_sleeping_and_spinning_handles() {
    let out = run(example("round_trip").args(["--round-trips", "300", "--spin-us", "20"]));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("requests on CPU ") || lines[0].starts_with("one CPU"),
        "{stdout}"
    );
    assert!(lines[1].contains("sleeping at once (spin 0ns)"), "{stdout}");
    assert!(lines[2].contains("spinning (spin 20µs)"), "{stdout}");
    for line in &lines[1..] {
        let figure = |before: &str, after: &str| {
            let from = line
                .find(before)
                .unwrap_or_else(|| panic!("{before:?} in {line}"));
            let rest = &line[from + before.len()..];
            debug_duration_ns(&rest[..rest.find(after).unwrap_or(rest.len())])
        };
        let p50 = figure("p50 ", ",");
        let p99 = figure("p99 ", ";");
        let cpu = figure("CPU per round trip ", "\n");
        assert!(0.0 < p50 && p50 <= p99, "{line}");
        assert!(cpu > 0.0, "{line}");
    }
    // No round trips at all is refused before any queue is made.
    let out = run(example("round_trip").args(["--round-trips", "0"]));
    assert!(!out.status.success());
}

/// Starts `rand listen` on `key` and returns it with its output lines, once it
/// has created the queue.
fn rand_listener(key: &TestKey) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut listener = example("rand")
        .args(["--key", &key.arg(), "listen"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(listener.stdout.take().unwrap()).lines();
    wait_until("the listener created the queue", || {
        MsgQueue::exists(key.0).unwrap()
    });
    (listener, lines)
}

#[test]
fn rand_listener_prints_what_the_sender_sent_and_exits_on_delete() {
    let key = TestKey::new();
    let (mut listener, mut lines) = rand_listener(&key);

    let out = run(example("rand").args(["--key", &key.arg(), "send", "--count", "3"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let sent: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| l.strip_prefix("sent ").expect("sent <n>").to_string())
        .collect();
    assert_eq!(sent.len(), 3);

    for n in &sent {
        assert_eq!(lines.next().unwrap().unwrap(), format!("received {n}"));
    }
    let out = run(example("rand").args(["--key", &key.arg(), "delete"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(listener.wait().unwrap().code(), Some(0));
    assert!(
        lines.next().is_none(),
        "nothing more after the queue went away"
    );
}

#[test]
fn rand_delete_removes_a_queue_that_php_created() {
    if Command::new("php").arg("-v").output().is_err() {
        panic!("php is not installed: .ci/run installs php-cli for this test");
    }
    let key = TestKey::new();
    // msg_get_queue without a mode creates the queue with mode 0666.
    let script = format!(
        "$q = msg_get_queue({}); if (!msg_send($q, 7, '5', false)) {{ exit(1); }}",
        key.arg()
    );
    let out = run(Command::new("php").args(["-r", &script]));
    assert!(out.status.success(), "php: {}", text(&out.stderr));
    // The listener refuses it, and says why.
    let out = run(example("rand").args(["--key", &key.arg(), "listen"]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("lets every user write to it"),
        "{}",
        text(&out.stderr)
    );
    // delete removes it all the same.
    let out = run(example("rand").args(["--key", &key.arg(), "delete"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!MsgQueue::exists(key.0).unwrap());
}

#[test]
fn rand_listener_understands_the_original_php_sender() {
    if Command::new("php").arg("-v").output().is_err() {
        panic!("php is not installed: .ci/run installs php-cli for this test");
    }
    let key = TestKey::new();
    let (mut listener, mut lines) = rand_listener(&key);
    // What the original PHP sender did: the number as plain text, serialize=false.
    let script = format!(
        "$q = msg_get_queue({}); if (!msg_send($q, 7, (string) 1234567, false, true, $err)) {{ exit(1); }}",
        key.arg()
    );
    let out = run(Command::new("php").args(["-r", &script]));
    assert!(
        out.status.success(),
        "php: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(lines.next().unwrap().unwrap(), "received 1234567");
    MsgQueue::open(key.0).unwrap().remove().unwrap();
    assert_eq!(listener.wait().unwrap().code(), Some(0));
}

#[test]
fn sys_daemon_starts_listens_refuses_a_second_start_and_stops_on_sigterm() {
    let key = TestKey::new();
    let dir = TempDir::new("sys-daemon");
    let pidfile = dir.0.join("sys.pid");
    let log = dir.0.join("sys.log");
    let start = || {
        let mut command = example("sys");
        command
            .args(["-s", "--key", &key.arg(), "--log-file"])
            .arg(&log)
            .env("IPCQ_PIDFILE", &pidfile);
        run(&mut command)
    };
    let out = start();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The starting process returns only once the daemon is up.
    let pid = read_pid(&pidfile);
    assert_ne!(pid, 0);
    assert!(alive(pid));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ppid_line = status.lines().find(|l| l.starts_with("PPid:")).unwrap();
    assert_ne!(
        ppid_line.split_whitespace().nth(1).unwrap(),
        std::process::id().to_string()
    );

    // Sends `message` with `sys --message` and waits for the daemon to log
    // it; the log so far.
    let sent_and_logged = |message: &str| {
        let out = run(example("sys").args(["--key", &key.arg(), "--message", message]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let received = format!("received: {message}");
        wait_until(&format!("the daemon logged {message:?}"), || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains(&received))
        });
        std::fs::read_to_string(&log).unwrap()
    };
    sent_and_logged("hello daemon");
    // A stray message (not UTF-8 text) is logged and skipped; the listener
    // goes on.
    let raw = ipcq::OpenOptions::new().open(key.0).unwrap();
    raw.send(9, &[0xff, 0xfe]).unwrap();
    let logged = sent_and_logged("still here");
    assert!(
        logged.contains("skipped: cannot decode a message of mtype 9 (2 bytes)"),
        "{logged}"
    );
    // A message of another type is taken off and logged too: nothing else
    // reads this queue, and left there it would fill it.
    raw.send(5, b"for nobody").unwrap();
    let logged = sent_and_logged("after type 5");
    assert!(
        logged.contains("skipped: cannot decode a message of mtype 5"),
        "{logged}"
    );
    assert_eq!(raw.try_recv(ipcq::Selector::Any).unwrap(), None);

    let second = start();
    assert!(!second.status.success());
    let err = text(&second.stderr);
    assert!(
        err.contains(&format!("held by pid {pid}, which is still running")),
        "{err}"
    );
    assert_eq!(
        read_pid(&pidfile),
        pid,
        "the second start left the pid file alone"
    );

    // SIGHUP goes to the reload callback and the daemon keeps running.
    let daemon = nix::unistd::Pid::from_raw(pid);
    nix::sys::signal::kill(daemon, nix::sys::signal::Signal::SIGHUP).unwrap();
    wait_until("the daemon logged the reload", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("nothing to reload in this example"))
    });
    assert!(alive(pid));

    nix::sys::signal::kill(daemon, nix::sys::signal::Signal::SIGTERM).unwrap();
    wait_until("the daemon exited", || !alive(pid));
    assert!(!pidfile.exists(), "the pid file is removed on a clean exit");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("SIGTERM: stopping after the message in hand"),
        "{logged}"
    );
    assert!(logged.trim_end().ends_with("stopped"), "{logged}");
}

/// Starts the sys listener as a daemon that drops to uid and gid 65534,
/// with one more option that takes a path.
fn start_sys_as_nobody(key: &TestKey, option: &str, path: &Path) -> Output {
    run(example("sys")
        .args([
            "-s",
            "--key",
            &key.arg(),
            "--user",
            "65534",
            "--group",
            "65534",
            option,
        ])
        .arg(path))
}

#[test]
fn sys_daemon_drops_privileges_to_the_user_and_group_given() {
    if skip_unless_root("dropping privileges") {
        return;
    }
    let key = TestKey::new();
    let dir = TempDir::new("sys-privileges");
    // The daemon removes its pid file as `nobody`, so `nobody` owns the directory.
    std::os::unix::fs::chown(&dir.0, Some(65534), Some(65534)).unwrap();
    let pidfile = dir.0.join("sys.pid");
    let out = start_sys_as_nobody(&key, "--pidfile", &pidfile);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pid = read_pid(&pidfile);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(field("Uid:"), ["65534"; 4], "{status}");
    assert_eq!(field("Gid:"), ["65534"; 4], "{status}");
    assert_eq!(field("Groups:"), ["65534"], "{status}");

    // Removing the queue stops the listener, which then removes its pid file.
    wait_until("the daemon created its queue", || {
        MsgQueue::exists(key.0).unwrap()
    });
    let out = run(example("sys").args(["-k", "--key", &key.arg()]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_until("the daemon exited", || !alive(pid));
    assert!(!pidfile.exists());
}

#[test]
fn sys_init_script_starts_reports_and_stops_the_daemon() {
    let key = TestKey::new();
    let dir = TempDir::new("sys-init");
    let pidfile = dir.0.join("run/ipcq-sys.pid");
    let (cli, dump) = (dir.0.join("no-cli-here"), dir.0.join("queue.dump"));
    let init = |action: &str| init_script(action, &key, &dir.0, &cli, &dump);

    let out = init("status");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    let out = init("start");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let pid = read_pid(&pidfile);
    let out = init("status");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("ipcq-sys is running (pid {pid})")
    );
    let out = init("start");
    assert!(
        text(&out.stdout).contains("already running"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(read_pid(&pidfile), pid);

    let out = init("stop");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(!alive(pid));
    assert!(!pidfile.exists());
    assert_eq!(init("status").status.code(), Some(3));

    // The queue outlives the daemon until killqueue removes it.
    assert!(MsgQueue::exists(key.0).unwrap());
    assert!(init("killqueue").status.success());
    assert!(!MsgQueue::exists(key.0).unwrap());
}

#[test]
fn sys_without_an_action_prints_usage() {
    let out = run(&mut example("sys"));
    assert_eq!(out.status.code(), Some(2));
    let usage = text(&out.stdout);
    for option in [
        "--start",
        "--kill",
        "--message",
        "--pidfile",
        "--user",
        "--group",
        "--foreground",
    ] {
        assert!(usage.contains(option), "{option} missing from:\n{usage}");
    }
}

/// The init script with the ipcq command, a queue key, and a directory for
/// its pid, log and dump files: what the reboot tests share.
struct InitRig {
    cli: PathBuf,
    key: TestKey,
    dir: TempDir,
    dump: PathBuf,
    /// `DAEMON_USER` and `DAEMON_GROUP`, if the daemon drops to them.
    user: Option<&'static str>,
}

impl InitRig {
    fn new(name: &str, user: Option<&'static str>) -> Self {
        let cli = target_dir().join("ipcq");
        assert!(
            cli.exists(),
            "{} is missing: run `cargo test --workspace`, which builds the ipcq command",
            cli.display()
        );
        assert_built_after_sources(&cli, "ipcq-cli/src");
        let dir = TempDir::new(name);
        let dump = dir.0.join("state/queue.dump");
        InitRig {
            cli,
            key: TestKey::new(),
            dir,
            dump,
            user,
        }
    }

    fn init(&self, action: &str) -> Output {
        let mut command = init_command(action, &self.key, &self.dir.0, &self.cli, &self.dump);
        if let Some(user) = self.user {
            command.env("DAEMON_USER", user).env("DAEMON_GROUP", user);
        }
        run(&mut command)
    }

    /// Runs an action that must succeed and write nothing to stderr.
    fn init_ok(&self, action: &str) {
        let out = self.init(action);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{action}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }

    fn ipcq(&self, args: &[&str]) {
        let out = run(Command::new(&self.cli).args(args));
        assert!(out.status.success(), "ipcq {args:?}: {}", text(&out.stderr));
    }

    /// Sends text messages of the listener's type.
    fn send(&self, words: &[&str]) {
        for word in words {
            self.ipcq(&["send", &self.key.arg(), "--type", "9", word]);
        }
    }

    /// The dump files in the dump's directory, by name.
    fn dumps(&self) -> Vec<String> {
        let dir = self.dump.parent().unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Starts the listener, and returns the texts it logged once it logged
    /// `last` (or stopped) and the queue was empty a moment later, so that a
    /// message restored twice would be among them.
    fn start_and_receive(&self, last: &str) -> Vec<String> {
        self.init_ok("start");
        let log = self.dir.0.join("sys.log");
        let wanted = format!("received: {last}");
        wait_until("the listener logged the restored messages", || {
            std::fs::read_to_string(&log)
                .is_ok_and(|l| l.contains(&wanted) || l.contains("stopped: "))
        });
        std::thread::sleep(Duration::from_millis(200));
        let queue = ipcq::OpenOptions::new()
            .allow_foreign(true)
            .open(self.key.0);
        assert_eq!(queue.unwrap().stat().unwrap().messages, 0);
        let logged = std::fs::read_to_string(&log).unwrap();
        logged
            .lines()
            .filter_map(|l| l.split("received: ").nth(1))
            .map(str::to_owned)
            .collect()
    }
}

#[test]
fn sys_init_script_keeps_queued_messages_across_a_reboot() {
    let rig = InitRig::new("sys-reboot", None);
    // Work queued while the listener is down...
    rig.ipcq(&[
        "create",
        &rig.key.arg(),
        "--mode",
        "620",
        "--capacity",
        "3000",
    ]);
    rig.send(&["one", "two", "three"]);
    // ...is moved into the dump by stop, and survives the loss of the queue
    // that a reboot brings...
    rig.init_ok("stop");
    assert_eq!(rig.dumps(), ["queue.dump.000001"]);
    assert_eq!(
        MsgQueue::open(rig.key.0).unwrap().stat().unwrap().messages,
        0
    );
    rig.ipcq(&["rm", &rig.key.arg()]);
    // ...and start puts it back for the listener, in order, into a queue
    // with the mode and capacity it had.
    assert_eq!(rig.start_and_receive("three"), ["one", "two", "three"]);
    assert!(
        rig.dumps().is_empty(),
        "a successful restore removes the dump"
    );
    let stat = MsgQueue::open(rig.key.0).unwrap().stat().unwrap();
    assert_eq!((stat.mode, stat.capacity), (0o620, 3000));
    rig.init_ok("stop");
}

#[test]
fn sys_init_script_moves_no_message_into_or_out_of_a_squatters_queue() {
    if skip_unless_root("squatting as another user") {
        return;
    }
    let rig = InitRig::new("sys-squat", None);
    rig.ipcq(&["create", &rig.key.arg()]);
    rig.send(&["private"]);
    rig.init_ok("stop");
    rig.ipcq(&["rm", &rig.key.arg()]);
    // Another user takes the key before the daemon starts, and writes to it.
    let nobody = |args: &[&str]| {
        let out = run(Command::new(&rig.cli).args(args).uid(65534).gid(65534));
        assert!(out.status.success(), "ipcq {args:?}: {}", text(&out.stderr));
    };
    nobody(&["create", &rig.key.arg(), "--mode", "644"]);
    nobody(&["send", &rig.key.arg(), "--type", "9", "forged"]);
    // Start fails, saying why (the listener refuses the squatter's queue),
    // and puts nothing into that queue: the dump stays for a later start.
    let out = rig.init("start");
    assert!(!out.status.success(), "{out:?}");
    assert!(text(&out.stderr).contains("refusing queue"), "{out:?}");
    assert_eq!(rig.dumps(), ["queue.dump.000001"]);
    let squatted = ipcq::OpenOptions::new()
        .allow_foreign(true)
        .open(rig.key.0)
        .unwrap();
    assert_eq!(squatted.stat().unwrap().messages, 1);
    // Stop does not carry the squatter's message into a dump.
    let out = rig.init("stop");
    assert!(text(&out.stderr).contains("could not dump"), "{out:?}");
    assert_eq!(rig.dumps(), ["queue.dump.000001"]);
    assert_eq!(squatted.stat().unwrap().messages, 1);
}

#[test]
fn sys_init_script_restores_the_queue_for_the_daemons_user() {
    if skip_unless_root("running the daemon as another user") {
        return;
    }
    let rig = InitRig::new("sys-reboot-user", Some("65534"));
    rig.ipcq(&["create", &rig.key.arg()]);
    rig.send(&["kept"]);
    rig.init_ok("stop");
    rig.ipcq(&["rm", &rig.key.arg()]); // the reboot
    // The daemon, as 65534, must be able to read what root restores at start.
    assert_eq!(rig.start_and_receive("kept"), ["kept"]);
    let daemons = ipcq::OpenOptions::new().trust_owner(65534).open(rig.key.0);
    let stat = daemons.unwrap().stat().unwrap();
    assert_eq!((stat.uid, stat.gid), (65534, 65534));
    rig.init_ok("stop");
}

#[test]
fn sys_daemon_logs_the_error_that_stops_it() {
    if skip_unless_root("running the daemon as another user") {
        return;
    }
    // A queue of root's that the listener, as 65534, may not read.
    let key = TestKey::new();
    let queue = ipcq::OpenOptions::new()
        .create_new(true)
        .open(key.0)
        .unwrap();
    let dir = TempDir::new("sys-fails");
    let log = dir.0.join("sys.log");
    let out = start_sys_as_nobody(&key, "--log-file", &log);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_until("the listener logged why it stopped", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("stopped"))
    });
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("stopped: cannot receive"), "{logged}");
    assert!(logged.contains("permission denied"), "{logged}");
    queue.remove().unwrap();
}

#[test]
fn sys_init_script_keeps_a_dump_that_no_start_restored() {
    let rig = InitRig::new("sys-two-stops", None);
    // Two stops with no start between them, on a queue that holds one of
    // these messages at a time: the second dump must neither replace the
    // first nor fail for want of --force, and the two files together hold
    // more than the queue, which start must not wait on for ever.
    let first = format!("first{}", ".".repeat(75));
    let second = format!("second{}", ".".repeat(74));
    rig.ipcq(&["create", &rig.key.arg(), "--capacity", "100"]);
    rig.send(&[&first]);
    rig.init_ok("stop");
    rig.send(&[&second]);
    rig.init_ok("stop");
    assert_eq!(rig.dumps(), ["queue.dump.000001", "queue.dump.000002"]);
    rig.ipcq(&["rm", &rig.key.arg()]);
    // Start restores both, oldest first.
    assert_eq!(rig.start_and_receive(&second), [first, second]);
    assert!(rig.dumps().is_empty(), "every restored dump is removed");
    rig.init_ok("stop");
}

#[test]
fn sys_init_script_puts_dumped_messages_before_those_sent_while_it_was_down() {
    // A restart without a reboot: the queue stays, and gets a message while
    // the listener is down, after the stop dumped an older one.
    let rig = InitRig::new("sys-restart", None);
    rig.ipcq(&["create", &rig.key.arg()]);
    rig.send(&["first"]);
    rig.init_ok("stop");
    rig.send(&["second"]);
    assert_eq!(rig.start_and_receive("second"), ["first", "second"]);
    assert!(rig.dumps().is_empty(), "every restored dump is removed");
    rig.init_ok("stop");
}

#[test]
fn sys_init_script_does_not_take_a_reused_pid_for_the_daemon() {
    let rig = InitRig::new("sys-pid-reuse", None);
    rig.init_ok("start");
    let pidfile = rig.dir.0.join("run/ipcq-sys.pid");
    let daemon = read_pid(&pidfile);
    // The daemon dies without removing its pid file, and its pid goes to
    // another process.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_until("the daemon is gone", || !alive(daemon));
    let mut other = Command::new("sleep").arg("30").spawn().unwrap();
    std::fs::write(&pidfile, format!("{}\n", other.id())).unwrap();
    // With flock, and without it (a PATH of the other tools the script uses):
    // flock failing to answer is no lock held either.
    let tools = rig.dir.0.join("tools");
    std::fs::create_dir(&tools).unwrap();
    for tool in [
        "sh", "mkdir", "dirname", "basename", "chown", "sleep", "expr",
    ] {
        let path = ["/usr/bin", "/bin"]
            .iter()
            .map(|dir| Path::new(dir).join(tool))
            .find(|path| path.exists())
            .unwrap();
        std::os::unix::fs::symlink(path, tools.join(tool)).unwrap();
    }
    let mut seen = Vec::new();
    for path in [None, Some(&tools)] {
        let init = |action: &str| {
            let mut command = init_command(action, &rig.key, &rig.dir.0, &rig.cli, &rig.dump);
            if let Some(path) = path {
                command.env("PATH", path);
            }
            run(&mut command)
        };
        seen.push((init("status"), init("stop"), alive(other.id() as i32)));
    }
    let _ = other.kill();
    let _ = other.wait();
    for (status, stopped, still_there) in seen {
        assert_eq!(status.status.code(), Some(1), "{status:?}");
        assert!(text(&status.stdout).contains("not running"), "{status:?}");
        assert!(text(&stopped.stdout).contains("not running"), "{stopped:?}");
        assert!(
            still_there,
            "stop signalled a process that is not the daemon"
        );
    }
}

#[test]
fn sys_init_script_keeps_the_order_of_dumps_across_a_start_that_fails() {
    let rig = InitRig::new("sys-failed-start", None);
    rig.ipcq(&["create", &rig.key.arg()]);
    rig.send(&["older"]);
    rig.init_ok("stop");
    rig.send(&["newer"]);
    rig.init_ok("stop");
    rig.ipcq(&["rm", &rig.key.arg()]); // the reboot
    // A start whose listener fails, after its first restore put "older"
    // into the queue.
    let mut start = init_command("start", &rig.key, &rig.dir.0, &rig.cli, &rig.dump);
    let out = run(start.env("DAEMON", "/bin/false"));
    assert!(!out.status.success(), "{out:?}");
    assert_eq!(rig.start_and_receive("newer"), ["older", "newer"]);
    assert!(rig.dumps().is_empty(), "every restored dump is removed");
    rig.init_ok("stop");
}

#[test]
fn sys_init_script_gives_the_daemons_user_only_a_directory_of_its_own() {
    if skip_unless_root("running the daemon as another user") {
        return;
    }
    // A pid file straight in a shared directory (as /run/ipcq-sys.pid would
    // be): the directory stays root's.
    let rig = InitRig::new("sys-rundir", Some("65534"));
    let shared = rig.dir.0.join("shared");
    std::fs::create_dir(&shared).unwrap();
    let mut start = init_command("start", &rig.key, &rig.dir.0, &rig.cli, &rig.dump);
    start
        .env("PIDFILE", shared.join("ipcq-sys.pid"))
        .env("DAEMON_USER", "65534")
        .env("DAEMON_GROUP", "65534");
    let out = run(&mut start);
    assert!(out.status.success(), "{out:?}");
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&shared).unwrap());
    let pid = read_pid(&shared.join("ipcq-sys.pid"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    wait_until("the daemon is gone", || !alive(pid));
    assert_eq!(owner, 0, "the shared directory was given away");
    // A directory the script makes for the pid file is the daemon's.
    rig.init_ok("start");
    let made = rig.dir.0.join("run");
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&made).unwrap());
    rig.init_ok("stop");
    assert_eq!(owner, 65534);
}

#[test]
fn sys_takes_a_key_in_hex_as_ipcs_shows_it() {
    let key = TestKey::new();
    let queue = ipcq::OpenOptions::new()
        .create_new(true)
        .open(key.0)
        .unwrap();
    // As ipcs shows it, and as the queue's Display writes it.
    for hex in [format!("{:#x}", key.0.get()), key.0.to_string()] {
        let out = run(example("sys").args(["--key", &hex, "--message", "by hex"]));
        assert!(out.status.success(), "{out:?}");
    }
    assert_eq!(queue.stat().unwrap().messages, 2);
    let out = run(example("sys").args(["--key", "0xzz", "--message", "x"]));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("is not a key"), "{out:?}");
}
