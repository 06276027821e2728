//! Every subcommand but dump and restore, run as a real process on real queues.

mod common;

use std::time::{Duration, Instant};

use common::{
    TempDir, TestId, TestKey, drain, interrupt, ipcq, ipcq_as_nobody, ipcq_with_input, spawn_ipcq,
    spawn_ipcq_as_nobody, wait_in_msgsnd, wait_until,
};
use ipcq::{Key, QueueId, Selector};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn my_user() -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|u| u.name)
}

#[test]
fn list_shows_a_queue_in_the_table_and_as_json() {
    let (key, queue) = TestKey::with_queue(|o| {
        o.mode(0o640).capacity(4096);
    });
    queue.send(3, b"hello").unwrap();
    queue.send(4, b"abc").unwrap();

    let table = ipcq(&["list"]).ok();
    let header = table.lines().next().unwrap();
    for column in [
        "KEY", "KEY(DEC)", "ID", "OWNER", "MODE", "MESSAGES", "BYTES", "CAPACITY",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let hex = format!("{:#010x}", key.key().get());
    let row = table
        .lines()
        .find(|l| l.starts_with(&hex))
        .unwrap_or_else(|| panic!("{hex} not in\n{table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1], key.key().get().to_string());
    assert_eq!(cells[2], queue.id().to_string());
    assert!(row.contains(" 0640 "), "{row}");
    let pid = std::process::id().to_string();
    assert_eq!(
        &cells[cells.len() - 5..],
        ["2", "8", "4096", pid.as_str(), "0"],
        "{row}"
    );

    let list = json(&ipcq(&["list", "--json"]).ok());
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == queue.id().get())
        .expect("the queue is listed");
    assert_eq!(entry["key"], key.key().get());
    assert_eq!(entry["key_hex"], hex);
    assert_eq!(entry["mode"], "0640");
    assert_eq!(entry["messages"], 2);
    assert_eq!(entry["bytes"], 8);
    assert_eq!(entry["capacity"], 4096);
    assert_eq!(entry["uid"], nix::unistd::geteuid().as_raw());
    assert_eq!(
        entry["user"],
        json(&serde_json::to_string(&my_user()).unwrap())
    );
    assert_eq!(entry["last_send_pid"], std::process::id());
    assert_eq!(entry["last_recv_pid"], 0);
    assert!(entry["last_send"].as_i64().unwrap() > 1_600_000_000);
    assert!(entry["last_recv"].is_null());
}

#[test]
fn stat_shows_one_queue_as_text_and_json() {
    let (key, queue) = TestKey::with_queue(|o| {
        o.mode(0o600).capacity(2048);
    });
    queue.send(1, b"12345").unwrap();
    let text = ipcq(&["stat", &key.arg()]).ok();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(str::trim))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .to_owned()
    };
    assert_eq!(value("id "), queue.id().to_string());
    assert_eq!(value("mode "), "0600");
    assert_eq!(value("messages "), "1");
    assert_eq!(value("bytes "), "5");
    assert!(value("capacity ").starts_with("2048 bytes"), "{text}");
    assert!(
        value("last send ").ends_with(&format!("pid {}", std::process::id())),
        "{text}"
    );
    assert_eq!(value("last receive "), "never");

    let object = json(&ipcq(&["stat", &key.arg(), "--json"]).ok());
    assert_eq!(object["id"], queue.id().get());
    assert_eq!(
        (object["messages"].as_u64(), object["capacity"].as_u64()),
        (Some(1), Some(2048))
    );
}

#[test]
fn create_applies_mode_and_capacity_and_exclusive_refuses_an_existing_queue() {
    let key = TestKey::new();
    let out = ipcq(&["create", &key.arg(), "--mode", "640", "--capacity", "3000"]).ok();
    assert!(out.starts_with("created queue "), "{out}");
    let object = json(&ipcq(&["stat", &key.arg(), "--json"]).ok());
    assert_eq!(object["mode"], "0640");
    assert_eq!(object["capacity"], 3000);
    assert_eq!(object["id"], key.open().id().get());

    let err = ipcq(&["create", &key.arg(), "--exclusive"]).fails(1);
    assert!(err.contains("already exists"), "{err}");
    let out = ipcq(&["create", &key.arg(), "--mode", "666", "--capacity", "50"]).ok();
    assert!(
        out.ends_with("it existed already, so its mode and capacity were left as they are\n"),
        "{out}"
    );
    assert_eq!(key.open().stat().unwrap().mode, 0o640);
}

#[test]
fn create_gives_the_queue_to_the_owner_named() {
    let key = TestKey::new();
    let out = ipcq(&["create", &key.arg(), "--owner", "65534:65534"]).ok();
    assert!(out.ends_with("owner 65534:65534\n"), "{out}");
    let stat = key.open().stat().unwrap();
    assert_eq!((stat.uid, stat.gid), (65534, 65534));
    // The creator stays the creator, and may still remove it.
    assert_eq!(stat.creator_uid, nix::unistd::geteuid().as_raw());

    let other = TestKey::new();
    let err = ipcq(&["create", &other.arg(), "--owner", ":no-such-group-here"]).fails(2);
    assert!(err.contains("no group is named"), "{err}");
    assert!(!other.exists());
}

#[test]
fn a_private_queue_is_created_and_reached_by_id() {
    let out = ipcq(&["create", "private"]).ok();
    let id: i32 = out
        .split("id ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no id in {out}"));
    let _guard = TestId(QueueId::new(id));
    let target = format!("id:{id}");
    ipcq(&["send", &target, "--type", "2", "private hello"]).ok();
    assert_eq!(
        ipcq(&["recv", &target]).ok(),
        "mtype 2, 13 bytes: private hello\n"
    );
    let err = ipcq(&["stat", "0"]).fails(1);
    assert!(err.contains("id:N"), "{err}");
}

#[test]
fn rm_removes_the_queue_and_its_messages() {
    let (key, queue) = TestKey::with_queue(|_| {});
    queue.send(1, b"x").unwrap();
    let out = ipcq(&["rm", &key.arg()]).ok();
    assert!(
        out.contains("removed") && out.contains("1 message"),
        "{out}"
    );
    assert!(!key.exists());
    let err = ipcq(&["rm", &key.arg()]).fails(1);
    assert!(err.contains("no queue has key"), "{err}");
}

#[test]
fn keys_in_every_spelling_name_the_same_queue() {
    let dir = TempDir::new("ftok");
    std::fs::write(dir.path("anchor"), b"").unwrap();
    let ftok = Key::ftok(dir.path("anchor"), b'q').unwrap();
    let created = ipcq(&["create", &format!("ftok:{}:q", dir.arg("anchor"))]).ok();
    let _guard = TestKeyGuard(ftok);
    let id = ipcq::OpenOptions::new().open(ftok).unwrap().id();
    assert!(created.contains(&format!("id {id}")), "{created}");
    for spelling in [
        format!("ftok:{}:q", dir.arg("anchor")),
        format!("ftok:{}:113", dir.arg("anchor")),
        ftok.get().to_string(),
        format!("{:#x}", ftok.get()),
        format!("id:{id}"),
    ] {
        let object = json(&ipcq(&["stat", &spelling, "--json"]).ok());
        assert_eq!(object["id"], id.get(), "{spelling}");
    }
}

#[test]
fn negative_decimal_keys_are_keys_not_options() {
    // Keys of 0x80000000 and up, which `ipcq list` shows negative in decimal.
    let key = Key::new(-0x3000_0000 - (std::process::id() & 0xFFFF) as i32);
    let _guard = TestKeyGuard(key);
    let arg = key.get().to_string();
    assert!(arg.starts_with('-'));
    ipcq(&["create", &arg]).ok();
    let id = ipcq::OpenOptions::new().open(key).unwrap().id();
    let object = json(&ipcq(&["stat", &arg, "--json"]).ok());
    assert_eq!(object["id"], id.get());
    ipcq(&["send", &arg, "--type", "2", "x"]).ok();
    assert!(ipcq(&["recv", &arg, "--nowait"]).ok().contains("mtype 2"));
    ipcq(&["rm", &arg]).ok();
}

/// Removes the queue of a key the test did not get from TestKey.
struct TestKeyGuard(Key);

impl Drop for TestKeyGuard {
    fn drop(&mut self) {
        if let Ok(q) = ipcq::OpenOptions::new().allow_foreign(true).open(self.0) {
            let _ = q.remove();
        }
    }
}

#[test]
fn send_takes_the_body_from_the_argument_a_file_or_stdin_byte_for_byte() {
    let (key, queue) = TestKey::with_queue(|_| {});
    let dir = TempDir::new("send");
    let file_body = b"line one\nline two\n\x00\xff".to_vec();
    std::fs::write(dir.path("body"), &file_body).unwrap();

    ipcq(&["send", &key.arg(), "--type", "1", "as given\n"]).ok();
    ipcq(&["send", &key.arg(), "-t", "2", "--file", &dir.arg("body")]).ok();
    ipcq_with_input(
        &["send", &key.arg(), "--type", "3"],
        b"from stdin, no newline",
    )
    .ok();
    ipcq_with_input(&["send", &key.arg(), "--type", "4"], b"").ok();
    ipcq(&[
        "send",
        &key.arg(),
        "--type",
        "5",
        "--",
        "-starts with a dash",
    ])
    .ok();

    assert_eq!(
        drain(&queue),
        vec![
            (1, b"as given\n".to_vec()),
            (2, file_body),
            (3, b"from stdin, no newline".to_vec()),
            (4, Vec::new()),
            (5, b"-starts with a dash".to_vec()),
        ]
    );
    let err = ipcq(&[
        "send",
        &key.arg(),
        "--type",
        "1",
        "--file",
        &dir.arg("missing"),
    ])
    .fails(1);
    assert!(err.contains("cannot read"), "{err}");
    let err = ipcq(&["send", &key.arg(), "--type", "0", "x"]).fails(2);
    assert!(err.contains("--type"), "{err}");
    let err = ipcq(&["send", &key.arg(), "x"]).fails(2);
    assert!(err.contains("--type <N>"), "{err}");
    let err = ipcq(&["send", &key.arg(), "-t", "1", "x", "--file", "y"]).fails(2);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn send_refuses_a_body_larger_than_the_queue_takes() {
    let (key, queue) = TestKey::with_queue(|o| {
        o.capacity(100);
    });
    // From a stream, read no further than one byte past the limit.
    let err = ipcq_with_input(&["send", &key.arg(), "-t", "1"], &[b'x'; 101]).fails(1);
    assert!(
        err.contains("the message is more than 100 bytes, the most"),
        "{err}"
    );
    // From a file or the argument, whose size is known.
    let dir = TempDir::new("send-large");
    std::fs::write(dir.path("body"), [b'x'; 150]).unwrap();
    let err = ipcq(&["send", &key.arg(), "-t", "1", "--file", &dir.arg("body")]).fails(1);
    assert!(
        err.contains("the message is 150 bytes, more than the 100 bytes"),
        "{err}"
    );
    let err = ipcq(&["send", &key.arg(), "-t", "1", &"y".repeat(120)]).fails(1);
    assert!(
        err.contains("the message is 120 bytes, more than the 100 bytes"),
        "{err}"
    );
    // A file on standard input, 10 of its bytes read before.
    let mut file = std::fs::File::open(dir.path("body")).unwrap();
    std::io::Read::read_exact(&mut file, &mut [0; 10]).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ipcq"))
        .args(["send", &key.arg(), "-t", "1"])
        .stdin(file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the message is 140 bytes, more than the 100 bytes"),
        "{err}"
    );
    // A file whose size says nothing: the body is only "more than".
    let err = ipcq(&["send", &key.arg(), "-t", "1", "--file", "/proc/self/maps"]).fails(1);
    assert!(err.contains("the message is more than 100 bytes"), "{err}");
    assert_eq!(queue.stat().unwrap().messages, 0);
}

#[test]
fn recv_takes_by_type_up_to_and_except_and_prints_one_line_each() {
    let (key, queue) = TestKey::with_queue(|_| {});
    for (mtype, body) in [(5, "low"), (2, "high"), (9, "log"), (5, "low two"), (1, "")] {
        queue.send(mtype, body.as_bytes()).unwrap();
    }
    let k = key.arg();
    assert_eq!(
        ipcq(&["recv", &k, "--up-to", "4"]).ok(),
        "mtype 1, 0 bytes\n"
    );
    assert_eq!(
        ipcq(&["recv", &k, "--up-to", "5"]).ok(),
        "mtype 2, 4 bytes: high\n"
    );
    assert_eq!(
        ipcq(&["recv", &k, "--except", "5"]).ok(),
        "mtype 9, 3 bytes: log\n"
    );
    assert_eq!(
        ipcq(&["recv", &k, "--type", "5"]).ok(),
        "mtype 5, 3 bytes: low\n"
    );
    assert_eq!(ipcq(&["recv", &k]).ok(), "mtype 5, 7 bytes: low two\n");
    let err = ipcq(&["recv", &k, "--type", "5", "--except", "5"]).fails(2);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn recv_prints_text_escaped_and_binary_as_hex_and_raw_writes_bytes_exactly() {
    let (key, queue) = TestKey::with_queue(|_| {});
    let binary: Vec<u8> = (0..=255).collect();
    queue.send(7, b"tab\there\nnew \\ line \x1b[31m").unwrap();
    queue.send(8, &[0x00, 0xff, 0x41]).unwrap();
    queue.send(9, &binary).unwrap();
    queue.send(9, b"text\n").unwrap();
    let k = key.arg();
    assert_eq!(
        ipcq(&["recv", &k, "--count", "2"]).ok(),
        "mtype 7, 25 bytes: tab\\there\\nnew \\\\ line \\u{1b}[31m\nmtype 8, 3 bytes, hex: 00ff41\n"
    );
    let raw = ipcq(&["recv", &k, "--raw"]);
    raw.ok();
    assert_eq!(raw.stdout, binary);
    let raw = ipcq(&["recv", &k, "--raw"]);
    raw.ok();
    assert_eq!(raw.stdout, b"text\n");
}

#[test]
fn recv_count_waits_for_messages_and_timeout_gives_up() {
    let (key, queue) = TestKey::with_queue(|_| {});
    let k = key.arg();
    let sender = {
        let queue = queue.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            queue.send(1, b"late").unwrap();
        })
    };
    // Blocks until the message sent by the thread arrives.
    assert_eq!(
        ipcq(&["recv", &k, "--timeout", "10s"]).ok(),
        "mtype 1, 4 bytes: late\n"
    );
    sender.join().unwrap();

    queue.send(2, b"one").unwrap();
    let started = Instant::now();
    let run = ipcq(&["recv", &k, "--count", "2", "--timeout", "200ms"]);
    let err = run.fails(3);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(run.text(), "mtype 2, 3 bytes: one\n");
    assert!(
        err.contains("received 1 of the 2") && err.contains("200ms"),
        "{err}"
    );
}

#[test]
fn nowait_fails_with_status_3_on_an_empty_or_full_queue() {
    let (key, queue) = TestKey::with_queue(|o| {
        o.capacity(10);
    });
    let k = key.arg();
    let err = ipcq(&["recv", &k, "--nowait"]).fails(3);
    assert!(err.contains("none is waiting"), "{err}");
    let err = ipcq(&["recv", &k, "--type", "4", "--nowait"]).fails(3);
    assert!(err.contains("message of type 4"), "{err}");

    ipcq(&["send", &k, "-t", "1", "--nowait", "0123456789"]).ok();
    let err = ipcq(&["send", &k, "-t", "1", "--nowait", "x"]).fails(3);
    assert!(err.contains("full"), "{err}");
    let started = Instant::now();
    let err = ipcq(&["send", &k, "-t", "1", "--timeout", "100ms", "x"]).fails(3);
    assert!(started.elapsed() >= Duration::from_millis(100), "{err}");
    assert_eq!(queue.stat().unwrap().messages, 1);
}

#[test]
fn a_sender_that_may_not_read_the_queue_hears_its_message_may_be_too_large() {
    // Writable by everyone, readable by its owner alone, 100 bytes deep.
    let (key, queue) = TestKey::with_queue(|o| {
        o.mode(0o622).capacity(100);
    });
    let body = "x".repeat(200);
    for extra in ["--nowait", "--timeout=100ms"] {
        let Some(out) = ipcq_as_nobody(&["send", &key.arg(), "-t", "1", extra, &body]) else {
            return;
        };
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{said}");
        assert!(
            said.contains("or the message, 200 bytes, is larger than the queue's capacity"),
            "{said}"
        );
    }
    assert_eq!(queue.stat().unwrap().messages, 0);
}

#[test]
fn a_sender_that_may_not_read_the_queue_is_told_why_it_may_wait_for_ever() {
    let (key, queue) = TestKey::with_queue(|o| {
        o.mode(0o622).capacity(100);
    });
    let body = "x".repeat(200);
    let Some(child) = spawn_ipcq_as_nobody(&["send", &key.arg(), "-t", "1", &body]) else {
        return;
    };
    wait_in_msgsnd(&child);
    let out = interrupt(child);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{said}");
    assert!(
        said.starts_with(
            "ipcq: warning: waiting for room: the queue is full, or the message (200 bytes) \
             is larger than its capacity, which this process may not read"
        ),
        "{said}"
    );
    assert_eq!(queue.stat().unwrap().messages, 0);
}

#[test]
fn peek_shows_messages_and_leaves_them() {
    let (key, queue) = TestKey::with_queue(|_| {});
    queue.send(4, b"first").unwrap();
    queue.send(2, &[0xff, 0xfe]).unwrap();
    queue.send(4, b"").unwrap();
    let k = key.arg();
    let all = "mtype 4, 5 bytes: first\nmtype 2, 2 bytes, hex: fffe\nmtype 4, 0 bytes\n";
    assert_eq!(ipcq(&["peek", &k]).ok(), all);
    assert_eq!(
        ipcq(&["peek", &k, "--count", "1"]).ok(),
        "mtype 4, 5 bytes: first\n"
    );
    let raw = ipcq(&["peek", &k, "--raw", "-n", "2"]);
    raw.ok();
    assert_eq!(raw.stdout, b"first\xff\xfe");
    assert_eq!(queue.stat().unwrap().messages, 3);
    assert_eq!(ipcq(&["peek", &k]).ok(), all);
    assert_eq!(drain(&queue).len(), 3);
    assert_eq!(ipcq(&["peek", &k]).ok(), "");
}

#[test]
fn watch_prints_one_line_per_refresh() {
    let (key, queue) = TestKey::with_queue(|o| {
        o.capacity(1000);
    });
    queue.send(1, b"abc").unwrap();
    let started = Instant::now();
    let out = ipcq(&["watch", &key.arg(), "--count", "2", "--interval", "100ms"]).ok();
    assert!(started.elapsed() >= Duration::from_millis(100));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("depth 1 ") && lines[0].contains("bytes 3/1000"),
        "{out}"
    );
    assert!(
        lines[0].contains("net -") && lines[0].ends_with(" █"),
        "{out}"
    );
    assert!(
        lines[1].contains("depth 1 (+0)") && lines[1].contains("net +0.0/s"),
        "{out}"
    );
    assert!(lines[1].ends_with(" ██"), "{out}");
    assert!(
        lines[1].contains(&format!("by pid {}", std::process::id())),
        "{out}"
    );
}

#[test]
fn watch_ends_cleanly_on_sigint() {
    let (key, _queue) = TestKey::with_queue(|_| {});
    let child = spawn_ipcq(&["watch", &key.arg(), "--interval", "50ms"]);
    std::thread::sleep(Duration::from_millis(300));
    let out = interrupt(child);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() >= 2);
}

#[test]
fn bad_keys_and_missing_queues_are_one_line_errors() {
    for bad in [
        "nonsense",
        "0x",
        "99999999999",
        "id:x",
        "ftok:/no/such/file:q",
        "ftok:/:0",
    ] {
        let err = ipcq(&["stat", bad]).fails(2);
        assert!(
            err.contains(bad) && err.contains("see 'ipcq stat --help'"),
            "{err}"
        );
    }
    let missing = TestKey::new();
    let key = missing.arg();
    for command in [
        vec!["stat"],
        vec!["recv", "--nowait"],
        vec!["peek"],
        vec!["watch", "--count", "1"],
        vec!["send", "--type", "1", "x"],
        vec!["dump", "/nonexistent/never/written"],
    ] {
        let mut args = vec![command[0], key.as_str()];
        args.extend_from_slice(&command[1..]);
        let err = ipcq(&args).fails(1);
        assert!(err.contains("no queue has key"), "{err}");
    }
    let err = ipcq(&["stat", "id:2147483647"]).fails(1);
    assert!(err.contains("no queue has id"), "{err}");
    // An id names no key to msgget.
    assert!(!err.contains("msgget"), "{err}");
    assert!(!missing.exists());
    ipcq(&["frobnicate"]).fails(2);
    ipcq(&["recv", "1", "--timeout", "soon"]).fails(2);
    ipcq(&["create", "1", "--mode", "999"]).fails(2);
}

#[test]
fn every_subcommand_has_help() {
    let top = ipcq(&["--help"]).ok();
    let commands = [
        "list", "stat", "create", "rm", "send", "recv", "peek", "watch", "dump", "restore", "show",
    ];
    for command in commands {
        assert!(
            top.contains(&format!("  {command} ")),
            "{command} missing from\n{top}"
        );
        let help = ipcq(&[command, "--help"]).ok();
        assert!(help.contains(&format!("Usage: ipcq {command}")), "{help}");
    }
    assert!(ipcq(&["list", "--help"]).ok().contains("last_recv_pid"));
    assert!(
        ipcq(&["recv", "--help"])
            .ok()
            .contains("mtype 7, 5 bytes: hello")
    );
    assert!(ipcq(&["dump", "--help"]).ok().contains("crash"));
    assert!(ipcq(&["restore", "--help"]).ok().contains("--skip"));
}

#[test]
fn recv_output_to_a_closed_pipe_puts_the_message_back() {
    use std::process::{Command, Stdio};

    let (key, queue) = TestKey::with_queue(|_| {});
    queue.send(1, b"first").unwrap();
    queue.send(2, b"second").unwrap();
    // A reader that closed the pipe before ipcq started: every write fails.
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    let out = Command::new(env!("CARGO_BIN_EXE_ipcq"))
        .args(["recv", &key.arg(), "--count", "2"])
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("sent back to the end of the queue"),
        "{stderr}"
    );
    let mut left = drain(&queue);
    left.sort();
    assert_eq!(left, vec![(1, b"first".to_vec()), (2, b"second".to_vec())]);
    // Nothing else was lost either.
    assert!(queue.try_recv(Selector::Any).unwrap().is_none());
}

#[test]
fn sigint_ends_a_waiting_recv_with_status_130() {
    let (key, queue) = TestKey::with_queue(|_| {});
    queue.send(1, b"one").unwrap();
    let child = spawn_ipcq(&["recv", &key.arg(), "--count", "2"]);
    // Wait until it took the first message and waits for the second.
    wait_until("recv took nothing", || queue.stat().unwrap().messages == 0);
    let out = interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "mtype 1, 3 bytes: one\n"
    );
    assert_eq!(
        stderr,
        "ipcq: stopped by SIGINT after receiving 1 of the 2 messages asked for\n"
    );
}

#[test]
fn reports_name_a_queue_by_id_once_and_a_zero_timeout_in_words() {
    let (key, queue) = TestKey::with_queue(|_| {});
    let err = ipcq(&["recv", &key.arg(), "--timeout", "0"]).fails(3);
    assert!(err.ends_with("none is waiting (--timeout 0)"), "{err}");
    let id = queue.id();
    let out = ipcq(&["rm", &format!("id:{id}")]).ok();
    assert_eq!(out, format!("removed queue id {id}\n"));
    let out = ipcq(&["create", &key.arg()]).ok();
    let id = ipcq::OpenOptions::new().open(key.key()).unwrap().id();
    // An explicit --mode, even the default one, is not applied to a queue
    // that exists, and the report says so.
    let again = ipcq(&["create", &key.arg(), "--mode", "600"]).ok();
    assert!(
        again.ends_with("it existed already, so its mode was left as it is\n"),
        "{again}"
    );
    let out_rm = ipcq(&["rm", &key.arg()]).ok();
    assert!(out.contains(&format!("id {id}")), "{out}");
    assert_eq!(
        out_rm,
        format!("removed queue {:#010x} (id {id})\n", key.key().get())
    );
}

#[test]
fn watch_works_without_read_permission_as_stat_does() {
    let (key, queue) = TestKey::with_queue(|o| {
        o.mode(0o600);
    });
    queue.send(1, b"hi").unwrap();
    let Some(out) = ipcq_as_nobody(&["watch", &key.arg(), "-n", "1"]) else {
        return;
    };
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(said.contains("depth 1"), "{said}");
}

#[test]
fn sigint_ends_a_send_waiting_for_room_with_status_130() {
    let (key, queue) = TestKey::with_queue(|o| {
        o.capacity(100);
    });
    queue.send(1, &[0; 100]).unwrap();
    let child = spawn_ipcq(&["send", &key.arg(), "--type", "2", "waiting"]);
    wait_in_msgsnd(&child);
    let out = interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(
        stderr,
        "ipcq: stopped by SIGINT while waiting for room; nothing was sent\n"
    );
    assert_eq!(drain(&queue), vec![(1, vec![0; 100])]);
}
