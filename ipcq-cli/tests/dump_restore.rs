//! `ipcq dump`, `restore` and `show`, run as real processes on real queues.

mod common;

use common::{
    TempDir, TestKey, drain, interrupt, ipcq, ipcq_as_nobody, spawn_ipcq, spawn_ipcq_as_nobody,
    wait_in_msgsnd, wait_until,
};
use ipcq::MsgQueue;

/// Messages of mixed types and sizes: empty bodies, binary ones, one of the
/// largest size the kernel's default msgmax allows; 12 KiB in all, so that
/// they fit a queue of the default capacity (16 KiB).
fn mixed() -> Vec<(i64, Vec<u8>)> {
    vec![
        (3, b"hello".to_vec()),
        (1, Vec::new()),
        (7, (0..=255).collect()),
        (3, b"second of type 3".to_vec()),
        (i64::MAX, b"largest mtype".to_vec()),
        (2, (0..8192u32).map(|i| (i * 7 % 251) as u8).collect()),
        (1, Vec::new()),
        (9, vec![0xff; 3000]),
        (5, "unicode: é ü ✓\n".as_bytes().to_vec()),
    ]
}

fn fill(queue: &MsgQueue, messages: &[(i64, Vec<u8>)]) {
    for (mtype, body) in messages {
        queue.send(*mtype, body).unwrap();
    }
}

/// `messages` dumped from a queue into `file` in a new directory, and the
/// queue removed, as a reboot would.
fn dumped(dir: &str, file: &str, messages: &[(i64, Vec<u8>)]) -> (TestKey, TempDir, String) {
    let (key, queue) = TestKey::with_queue(|_| {});
    fill(&queue, messages);
    let dir = TempDir::new(dir);
    let file = dir.arg(file);
    ipcq(&["dump", &key.arg(), &file]).ok();
    queue.remove().unwrap();
    (key, dir, file)
}

/// As [`dumped`], and the queue replaced by one of the same key with room
/// for only 100 bytes.
fn dumped_then_small_queue(
    dir: &str,
    file: &str,
    messages: &[(i64, Vec<u8>)],
) -> (TestKey, MsgQueue, TempDir, String) {
    let (key, dir, file) = dumped(dir, file, messages);
    let small = ipcq::OpenOptions::new()
        .create_new(true)
        .capacity(100)
        .open(key.key())
        .unwrap();
    (key, small, dir, file)
}

#[test]
fn dump_then_restore_after_the_queue_is_gone_keeps_every_message_in_order() {
    let (key, queue) = TestKey::with_queue(|o| {
        o.mode(0o640).capacity(16000);
    });
    fill(&queue, &mixed());
    let dir = TempDir::new("round-trip");
    let file = dir.arg("queue.dump");

    let out = ipcq(&["dump", &key.arg(), &file]).ok();
    assert!(out.starts_with("dumped 9 messages ("), "{out}");
    assert_eq!(queue.stat().unwrap().messages, 0, "dump takes the messages");
    // As a reboot would:
    queue.remove().unwrap();
    assert!(!key.exists());

    let out = ipcq(&["restore", &file, &key.arg()]).ok();
    assert!(out.starts_with("restored 9 messages"), "{out}");
    assert!(
        !dir.path("queue.dump").exists(),
        "a restored file is removed"
    );
    let restored = key.open();
    let stat = restored.stat().unwrap();
    assert_eq!(
        (stat.mode, stat.capacity),
        (0o640, 16000),
        "the dump's mode and capacity"
    );
    assert_eq!(drain(&restored), mixed());
    // No temporary files were left next to the dump.
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
}

#[test]
fn dump_keep_copies_and_show_prints_the_file() {
    let (key, queue) = TestKey::with_queue(|_| {});
    fill(&queue, &mixed()[..3]);
    let dir = TempDir::new("keep");
    let file = dir.arg("keep.dump");
    let out = ipcq(&["dump", &key.arg(), &file, "--keep"]).ok();
    assert!(out.contains("still on the queue"), "{out}");
    assert_eq!(queue.stat().unwrap().messages, 3);

    let shown = ipcq(&["show", &file]).ok();
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines[0].starts_with("# ipcq dump format 1, written "),
        "{shown}"
    );
    assert!(
        lines[1].starts_with(&format!("# from key {:#010x}", key.key().get())),
        "{shown}"
    );
    assert_eq!(lines[2], "# 3 messages, 261 bytes");
    assert_eq!(lines[3], "mtype 3, 5 bytes: hello");
    assert_eq!(lines[4], "mtype 1, 0 bytes");
    assert!(
        lines[5].starts_with("mtype 7, 256 bytes, hex: 000102"),
        "{shown}"
    );

    // An existing file is not replaced without --force.
    let err = ipcq(&["dump", &key.arg(), &file]).fails(1);
    assert!(
        err.contains("--force") && err.contains("not changed"),
        "{err}"
    );
    assert_eq!(queue.stat().unwrap().messages, 3);
    // Nor a directory, which --force would not replace either.
    std::fs::create_dir(dir.path("sub")).unwrap();
    let err = ipcq(&["dump", &key.arg(), &dir.arg("sub")]).fails(1);
    assert!(
        err.contains("it is a directory: name a file in it") && !err.contains("--force"),
        "{err}"
    );
    assert_eq!(queue.stat().unwrap().messages, 3);
    ipcq(&["dump", &key.arg(), &file, "--force"]).ok();
    assert_eq!(queue.stat().unwrap().messages, 0);
}

#[test]
fn dump_of_an_empty_queue_restores_nothing() {
    let (key, _queue) = TestKey::with_queue(|_| {});
    let dir = TempDir::new("empty");
    let file = dir.arg("empty.dump");
    assert!(
        ipcq(&["dump", &key.arg(), &file])
            .ok()
            .starts_with("dumped 0 messages")
    );
    let out = ipcq(&["restore", &file, &key.arg()]).ok();
    assert!(out.starts_with("restored 0 messages"), "{out}");
}

#[test]
fn restore_refuses_a_truncated_or_changed_file_and_leaves_it() {
    let (key, queue) = TestKey::with_queue(|_| {});
    fill(&queue, &mixed());
    let dir = TempDir::new("truncated");
    let file = dir.path("whole.dump");
    ipcq(&["dump", &key.arg(), file.to_str().unwrap()]).ok();
    queue.remove().unwrap();
    let whole = std::fs::read(&file).unwrap();

    let cut = dir.path("cut.dump");
    let cut_arg = cut.to_str().unwrap();
    for len in [
        0,
        5,
        51,
        52,
        60,
        200,
        whole.len() / 2,
        whole.len() - 12,
        whole.len() - 1,
    ] {
        std::fs::write(&cut, &whole[..len]).unwrap();
        let err = ipcq(&["restore", cut_arg, &key.arg()]).fails(1);
        let expected = if len == 0 { "empty" } else { "truncated" };
        assert!(
            err.contains(expected) && err.contains("left in place"),
            "cut at {len}: {err}"
        );
        assert_eq!(
            std::fs::read(&cut).unwrap(),
            &whole[..len],
            "the file is left as it was"
        );
        assert!(!key.exists(), "no queue is created for a bad file");
    }
    let mut changed = whole.clone();
    changed[whole.len() / 2] ^= 0x20;
    std::fs::write(&cut, &changed).unwrap();
    let err = ipcq(&["restore", cut_arg, &key.arg()]).fails(1);
    assert!(err.contains("checksum"), "{err}");
    let err = ipcq(&["show", cut_arg]).fails(1);
    assert!(err.contains("checksum"), "{err}");
    let err = ipcq(&[
        "restore",
        dir.path("none.dump").to_str().unwrap(),
        &key.arg(),
    ])
    .fails(1);
    assert!(err.contains("cannot read"), "{err}");
    assert!(!key.exists());

    // The whole file still restores.
    ipcq(&["restore", file.to_str().unwrap(), &key.arg()]).ok();
    assert_eq!(drain(&key.open()), mixed());
}

#[test]
fn a_restore_stopped_part_way_says_how_to_resume_without_duplicates() {
    let messages: Vec<(i64, Vec<u8>)> = (1..=5).map(|i| (i, vec![i as u8; 40])).collect();
    // A queue with room for two of the five messages.
    let (key, small, dir, file) = dumped_then_small_queue("partial", "partial.dump", &messages);
    let run = ipcq(&["restore", &file, &key.arg(), "--nowait"]);
    let err = run.fails(3);
    assert!(err.contains("messages 1 to 2 of the 5"), "{err}");
    // The file now holds the three not sent: the same command resumes.
    assert!(
        err.trim_end().ends_with(&format!(
            "{file} now holds the 3 messages not sent. To send them: ipcq restore {file} {:#010x}",
            key.key().get()
        )),
        "{err}"
    );
    assert_eq!(
        ipcq(&["show", &file])
            .ok()
            .lines()
            .filter(|l| l.starts_with("mtype"))
            .count(),
        3
    );
    let mut got = drain(&small);

    // Resume as told, twice, making room in between.
    let err = ipcq(&["restore", &file, &key.arg(), "--nowait"]).fails(3);
    assert!(err.contains("now holds the 1 message not sent"), "{err}");
    got.extend(drain(&small));
    let out = ipcq(&["restore", &file, &key.arg(), "--nowait"]).ok();
    assert!(out.starts_with("restored 1 message "), "{out}");
    got.extend(drain(&small));
    assert_eq!(got, messages, "every message once, in order");
    assert!(!dir.path("partial.dump").exists());

    // With --keep the file stays whole, and --skip resumes.
    let (key, small, dir, file) = dumped_then_small_queue("partial-keep", "keep.dump", &messages);
    let err = ipcq(&["restore", &file, &key.arg(), "--nowait", "--keep"]).fails(3);
    assert!(
        err.contains("kept whole (--keep)") && err.contains("--skip 2"),
        "{err}"
    );
    let mut got = drain(&small);
    let resume = |skip| {
        ipcq(&[
            "restore",
            &file,
            &key.arg(),
            "--nowait",
            "--keep",
            "--skip",
            skip,
        ])
    };
    let err = resume("2").fails(3);
    assert!(err.contains("--skip 4"), "{err}");
    got.extend(drain(&small));
    resume("4").ok();
    got.extend(drain(&small));
    assert_eq!(got, messages, "every message once, in order");
    assert!(dir.path("keep.dump").exists());
}

#[test]
fn restore_refuses_a_skip_beyond_the_file_and_messages_too_large_for_the_queue() {
    let (key, queue) = TestKey::with_queue(|_| {});
    fill(&queue, &[(1, vec![7; 500])]);
    let dir = TempDir::new("refusals");
    let file = dir.arg("one.dump");
    ipcq(&["dump", &key.arg(), &file]).ok();

    let err = ipcq(&["restore", &file, &key.arg(), "--skip", "2"]).fails(1);
    assert!(
        err.contains("--skip 2") && err.contains("1 message"),
        "{err}"
    );
    queue.remove().unwrap();
    let err = ipcq(&["restore", &file, &key.arg(), "--capacity", "100"]).fails(1);
    assert!(
        err.contains("500 bytes") && err.contains("nothing was sent"),
        "{err}"
    );
    assert!(!key.exists(), "the queue this created was removed again");
    ipcq(&["restore", &file, &key.arg(), "--keep", "--mode", "0600"]).ok();
    assert!(dir.path("one.dump").exists(), "--keep keeps the file");
    assert_eq!(drain(&key.open()), vec![(1, vec![7; 500])]);
}

#[test]
fn sigint_wakes_a_restore_waiting_for_room_and_it_says_how_to_resume() {
    let messages: Vec<(i64, Vec<u8>)> = (1..=3).map(|i| (i, vec![i as u8; 60])).collect();
    let (key, small, dir, file) = dumped_then_small_queue("sigint", "wait.dump", &messages);

    // The second message does not fit: the restore waits for room.
    let child = spawn_ipcq(&["restore", &file, &key.arg()]);
    wait_until("the restore sent nothing", || {
        small.stat().unwrap().messages >= 1
    });
    let out = interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.starts_with("ipcq: restore stopped: stopped by SIGINT"),
        "{stderr}"
    );
    assert!(
        stderr.contains("now holds the 2 messages not sent"),
        "{stderr}"
    );
    assert_eq!(drain(&small), messages[..1]);
    // The rest, and only the rest, goes in on the next runs (one at a time:
    // the queue holds one).
    ipcq(&["restore", &file, &key.arg(), "--nowait"]).fails(3);
    let mut got = drain(&small);
    ipcq(&["restore", &file, &key.arg(), "--nowait"]).ok();
    got.extend(drain(&small));
    assert_eq!(got, messages[1..]);
    assert!(!dir.path("wait.dump").exists());
}

#[test]
fn work_done_is_not_reported_as_failed_when_its_report_cannot_be_written() {
    // A full disk behind standard output: the dump and the restore are done
    // all the same, and a script must not take them for failed and retry.
    let (key, queue) = TestKey::with_queue(|_| {});
    queue.send(5, b"kept").unwrap();
    let dir = TempDir::new("full-stdout");
    let file = dir.arg("q.dump");
    let to_full = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ipcq"))
            .args(args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .expect("run ipcq")
    };
    let dumped = to_full(&["dump", &key.arg(), &file]);
    assert!(dumped.status.success(), "{dumped:?}");
    let said = String::from_utf8_lossy(&dumped.stderr);
    assert!(said.starts_with("ipcq: done, but cannot write"), "{said}");
    assert_eq!(queue.stat().unwrap().messages, 0);
    let restored = to_full(&["restore", &file, &key.arg()]);
    assert!(restored.status.success(), "{restored:?}");
    assert_eq!(queue.recv(ipcq::Selector::Any).unwrap().body, b"kept");
}

#[test]
fn a_restore_refused_outright_does_not_suggest_the_same_command_again() {
    use std::os::unix::fs::PermissionsExt;
    let (key, queue) = TestKey::with_queue(|o| {
        o.mode(0o600);
    });
    queue.send(1, b"one").unwrap();
    let dir = TempDir::new("refused");
    let file = dir.arg("q.dump");
    ipcq(&["dump", &key.arg(), &file, "--keep"]).ok();
    // Readable by the user that may not write to the queue.
    for path in [dir.0.as_path(), std::path::Path::new(&file)] {
        let mode = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let Some(out) = ipcq_as_nobody(&["restore", &file, &key.arg()]) else {
        return;
    };
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("nothing was sent"), "{said}");
    assert!(!said.contains("--skip"), "{said}");
    assert!(std::path::Path::new(&file).exists());
    assert_eq!(queue.stat().unwrap().messages, 1);
}

#[test]
fn a_restore_that_may_not_read_the_queue_is_told_why_it_may_wait_for_ever() {
    use std::os::unix::fs::PermissionsExt;
    let (key, dir, file) = dumped("unreadable", "q.dump", &[(1, vec![7; 150])]);
    // Writable by everyone, readable by its owner alone, 100 bytes deep: the
    // check before sending knows only msgmax.
    let _queue = ipcq::OpenOptions::new()
        .create_new(true)
        .mode(0o622)
        .capacity(100)
        .open(key.key())
        .unwrap();
    // The file and its directory are the other user's to read and rewrite.
    std::fs::set_permissions(dir.0.as_path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let Some(child) = spawn_ipcq_as_nobody(&["restore", &file, &key.arg()]) else {
        return;
    };
    wait_in_msgsnd(&child);
    let out = interrupt(child);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{said}");
    assert!(
        said.starts_with(
            "ipcq: warning: waiting for room: the queue is full, or the message (150 bytes) \
             is larger than its capacity"
        ),
        "{said}"
    );
    assert!(std::path::Path::new(&file).exists());
}

#[test]
fn a_missing_dump_file_is_not_said_to_be_left_in_place() {
    let key = TestKey::new();
    let dir = TempDir::new("missing");
    let err = ipcq(&["restore", &dir.arg("none.dump"), &key.arg()]).fails(1);
    assert!(err.ends_with("; nothing was sent"), "{err}");
    assert!(!err.contains("left in place"), "{err}");
}

#[test]
fn restore_gives_the_queue_it_creates_to_the_owner_named() {
    // The init script's case: root restores at boot, and the daemon, which
    // runs as another user, must be able to read the queue it did not create.
    let (key, _dir, file) = dumped("owner", "queue.dump", &mixed()[..2]);

    let out = ipcq(&["restore", &file, &key.arg(), "--owner", "65534:65534"]).ok();
    assert!(out.contains("owner 65534:65534"), "{out}");
    let stat = key.open().stat().unwrap();
    assert_eq!((stat.uid, stat.gid, stat.mode), (65534, 65534, 0o600));
    // Into a queue that exists, the owner is left as it is, and said so.
    ipcq(&["dump", &key.arg(), &file]).ok();
    let out = ipcq(&["restore", &file, &key.arg(), "--owner", "0:0"]).ok();
    assert!(
        out.contains("which existed already: --owner was not applied"),
        "{out}"
    );
    assert_eq!(key.open().stat().unwrap().uid, 65534);
    let Some(received) = ipcq_as_nobody(&["recv", &key.arg(), "--count", "2", "--raw"]) else {
        return;
    };
    assert!(received.status.success(), "{received:?}");
    assert_eq!(received.stdout, b"hello");

    // An unknown user is refused before anything happens, and said so.
    let err = ipcq(&["restore", &file, &key.arg(), "--owner", "no-such-user-here"]).fails(2);
    assert!(
        err.contains("no user is named \"no-such-user-here\""),
        "{err}"
    );
}

#[test]
fn with_trust_dump_and_restore_refuse_a_queue_another_user_controls() {
    // A queue that nobody (65534) created and owns, holding a message.
    let key = TestKey::new();
    let Some(created) = ipcq_as_nobody(&["create", &key.arg()]) else {
        return;
    };
    assert!(created.status.success(), "{created:?}");
    let sent = ipcq_as_nobody(&["send", &key.arg(), "--type", "9", "forged"]).unwrap();
    assert!(sent.status.success(), "{sent:?}");
    let dir = TempDir::new("trust");
    let file = dir.arg("queue.dump");

    // Root, on a daemon's behalf, trusting only itself: refused, nothing moved.
    let err = ipcq(&["dump", &key.arg(), &file, "--trust", "root"]).fails(1);
    assert!(
        err.contains("refusing queue") && err.contains("uid 65534"),
        "{err}"
    );
    assert!(!dir.path("queue.dump").exists());
    assert_eq!(key.open().stat().unwrap().messages, 1);

    // Trusting that user, the dump goes ahead; without --trust, any queue.
    ipcq(&["dump", &key.arg(), &file, "--trust", "65534"]).ok();
    let err = ipcq(&["restore", &file, &key.arg(), "--trust", "root"]).fails(1);
    assert!(
        err.contains("refusing queue") && err.contains("pass --trust for that user"),
        "{err}"
    );
    assert!(
        dir.path("queue.dump").exists(),
        "a refused restore keeps its file"
    );
    assert_eq!(key.open().stat().unwrap().messages, 0);
    ipcq(&["restore", &file, &key.arg()]).ok();
    assert_eq!(key.open().stat().unwrap().messages, 1);
}

#[test]
fn with_trust_a_queue_every_user_may_write_to_is_refused_for_its_mode() {
    let key = TestKey::new();
    ipcq(&["create", &key.arg(), "--mode", "662"]).ok();
    let dir = TempDir::new("trust-mode");
    let file = dir.arg("queue.dump");
    // Whoever is trusted, the mode is the reason: the hint is about it.
    for trusted in ["root", "65534"] {
        let err = ipcq(&["dump", &key.arg(), &file, "--trust", trusted]).fails(1);
        assert!(err.contains("its mode 0662 lets every user write"), "{err}");
        assert!(err.contains("without write permission for others"), "{err}");
        assert!(!err.contains("pass --trust"), "{err}");
    }
}

#[test]
fn a_partial_restore_rewrites_only_the_file_it_read_and_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let messages: Vec<(i64, Vec<u8>)> = (1..=3).map(|i| (i, vec![i as u8; 60])).collect();

    // The file's mode survives the rewrite.
    let (key, small, dir, file) = dumped_then_small_queue("rewrite-mode", "q.dump", &messages);
    let path = dir.path("q.dump");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = ipcq(&["restore", &file, &key.arg(), "--nowait"]).fails(3);
    assert!(err.contains("now holds the 2 messages not sent"), "{err}");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    drain(&small);

    // A symbolic link is not replaced by a file, and its target stays whole.
    let (key, small, dir, _file) = dumped_then_small_queue("rewrite-link", "real.dump", &messages);
    let link = dir.path("link.dump");
    std::os::unix::fs::symlink(dir.path("real.dump"), &link).unwrap();
    let err = ipcq(&["restore", link.to_str().unwrap(), &key.arg(), "--nowait"]).fails(3);
    assert!(
        err.contains("is not a regular file") && err.contains("--skip 1"),
        "{err}"
    );
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(drain(&small), messages[..1]);
    let whole = ipcq(&["show", dir.arg("real.dump").as_str()]).ok();
    assert_eq!(whole.lines().filter(|l| l.starts_with("mtype")).count(), 3);

    // A file replaced while the restore waited is left as the other writer
    // made it.
    let (key, small, _dir, file) = dumped_then_small_queue("rewrite-replaced", "q.dump", &messages);
    let child = spawn_ipcq(&["restore", &file, &key.arg()]);
    wait_until("the restore waits for room", || {
        small.stat().unwrap().messages >= 1
    });
    let (other_key, other) = TestKey::with_queue(|_| {});
    other.send(7, b"someone else's").unwrap();
    ipcq(&["dump", &other_key.arg(), &file, "--force"]).ok();
    let out = interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("changed since this run read it"),
        "{stderr}"
    );
    let shown = ipcq(&["show", &file]).ok();
    assert!(shown.contains("someone else's"), "{shown}");
    drain(&small);
}
