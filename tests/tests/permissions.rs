//! Permissions, tested for real: a peer that drops to an unprivileged uid.
//!
//! CI runs as root, and root passes every permission check, so each refusal
//! here is observed in a child process running as `nobody` (65534).

use ipcq::Selector;
use tests::{TestQueue, peer};

const NOBODY: &str = "65534";

fn as_nobody(args: &[&str]) -> (Option<i32>, String) {
    let mut command = peer!("as", NOBODY, NOBODY);
    command.args(args);
    let out = command.output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "peer wrote to stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

fn skip_unless_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return false;
    }
    eprintln!("skipped: dropping to another uid needs root");
    true
}

#[test]
fn a_private_queue_refuses_another_user_and_says_why() {
    if skip_unless_root() {
        return;
    }
    let q = TestQueue::new(); // mode 0600, owned by root
    let key = q.key_arg();

    let (code, out) = as_nobody(&["send", &key, "1", "sneaky"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.starts_with("error permission-denied:"), "{out}");
    assert!(out.contains("write permission"), "{out}");
    assert!(out.contains("mode 0600"), "{out}");
    assert!(out.contains("owned by uid 0"), "{out}");
    assert!(out.contains("runs as uid 65534"), "{out}");
    assert!(out.contains("CAP_IPC_OWNER"), "{out}");
    assert_eq!(q.stat().unwrap().messages, 0);

    q.send(1, b"secret").unwrap();
    let (code, out) = as_nobody(&["recv", &key, "any", "1"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("error permission-denied:"), "{out}");
    assert!(out.contains("read permission"), "{out}");
    // The refused receive took nothing.
    assert_eq!(q.stat().unwrap().messages, 1);

    let (code, out) = as_nobody(&["remove", &key]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("only the queue's owner or creator"), "{out}");
    assert!(ipcq::MsgQueue::exists(q.key()).unwrap());
}

#[test]
fn write_only_permission_lets_others_send_but_not_receive() {
    if skip_unless_root() {
        return;
    }
    let q = TestQueue::with(|o| {
        o.mode(0o622);
    });
    let key = q.key_arg();
    let (code, out) = as_nobody(&["send", &key, "5", "from nobody"]);
    assert_eq!((code, out.as_str()), (Some(0), ""));
    let msg = q.recv(Selector::Any).unwrap();
    assert_eq!((msg.mtype, &msg.body[..]), (5, &b"from nobody"[..]));

    q.send(5, b"for root only").unwrap();
    let (code, out) = as_nobody(&["recv", &key, "any", "1"]);
    assert_eq!(code, Some(3));
    assert!(out.contains("error permission-denied:"), "{out}");
}

#[test]
fn the_owner_given_at_creation_may_use_and_remove_the_queue() {
    if skip_unless_root() {
        return;
    }
    let q = TestQueue::with(|o| {
        o.uid(65534).gid(65534);
    });
    let key = q.key_arg();
    let (code, out) = as_nobody(&["send", &key, "2", "mine"]);
    assert_eq!((code, out.as_str()), (Some(0), ""));
    let (code, out) = as_nobody(&["recv", &key, "any", "1"]);
    assert_eq!((code, out.as_str()), (Some(0), "ready\n2 mine\n"));
    let (code, out) = as_nobody(&["remove", &key]);
    assert_eq!((code, out.as_str()), (Some(0), ""));
    assert!(!ipcq::MsgQueue::exists(q.key()).unwrap());
}

#[test]
fn an_iterator_ends_after_an_error_that_would_recur() {
    if skip_unless_root() {
        return;
    }
    // Others may write but not read: every receive nobody tries is refused,
    // and the message stays. An iterator that went on after the refusal
    // would spin on it, yielding the same error for ever.
    let q = TestQueue::with(|o| {
        o.mode(0o622);
    });
    q.send(1, b"for root only").unwrap();
    let (code, out) = as_nobody(&["iter-work", &q.key_arg(), "5"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out, "error permission-denied\nend\n");
    assert_eq!(q.stat().unwrap().messages, 1);
}

#[test]
fn a_queue_created_by_another_user_is_not_trusted_for_its_owner() {
    if skip_unless_root() {
        return;
    }
    // A key nobody uses: take one, then free it.
    let key = {
        let q = TestQueue::new();
        q.remove().unwrap();
        q.key()
    };
    struct Cleanup(ipcq::Key);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let q = ipcq::OpenOptions::new().allow_foreign(true).open(self.0);
            let _ = q.map(|q| q.remove());
        }
    }
    let _cleanup = Cleanup(key);
    // nobody squats the key and gives the queue to root: as its creator,
    // nobody may still write to it, read it, and change its mode.
    let (code, out) = as_nobody(&["create-owned", &key.get().to_string(), "0", "0"]);
    assert_eq!((code, out.as_str()), (Some(0), ""));
    let err = ipcq::MsgQueue::open(key).unwrap_err();
    assert!(
        matches!(
            err,
            ipcq::Error::Untrusted {
                reason: ipcq::Distrust::Creator {
                    creator_uid: 65534,
                    owner_uid: 0,
                    ..
                },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("it is owned by uid 0, but was created by uid 65534"),
        "{err}"
    );
    // Trusting that user is a choice the caller can make.
    assert!(
        ipcq::OpenOptions::new()
            .trust_owner(65534)
            .open(key)
            .is_ok()
    );
}

/// A queue that nobody (65534) may write to but not read, smaller than a
/// batch of msgmax.
fn write_only_small_queue() -> TestQueue {
    TestQueue::with(|o| {
        o.mode(0o622).capacity(2048);
    })
}

#[test]
fn a_batch_to_a_queue_whose_capacity_the_sender_cannot_read_is_not_stuck() {
    if skip_unless_root() {
        return;
    }
    let raw = write_only_small_queue();
    let q = raw.typed::<tests::messages::Work>();
    let mut sender = peer!("as", NOBODY, NOBODY);
    sender.args(["send-batch", &raw.key_arg(), "0", "999"]);
    sender.stdout(std::process::Stdio::piped());
    let mut sender = sender.spawn().unwrap();
    let mut got = Vec::new();
    while got.len() < 1000 {
        match q.recv_timeout(std::time::Duration::from_secs(10)).unwrap() {
            Some(msg) => got.push(msg),
            None => {
                let _ = sender.kill();
                let _ = sender.wait();
                panic!("stuck after {} of 1000 messages", got.len());
            }
        }
    }
    let out = sender.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let expected: Vec<_> = (0..1000).map(tests::messages::Work::Urgent).collect();
    assert_eq!(got, expected);
}

#[test]
fn a_stopped_batch_to_a_queue_whose_capacity_the_sender_cannot_read_is_refused() {
    if skip_unless_root() {
        return;
    }
    let raw = write_only_small_queue();
    let (code, out) = as_nobody(&["send-batch-stopped", &raw.key_arg()]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.trim(), "error stopped after 0");
    assert_eq!(raw.stat().unwrap().messages, 0);
}

/// Runs the peer with `args` in a mount namespace of its own where
/// `/proc/sysvipc` is hidden under an empty tmpfs, as a sandbox or systemd's
/// `ProcSubset=pid` can hide it; returns its exit code and output.
fn without_proc_sysvipc(args: &[&str]) -> (Option<i32>, String) {
    hiding_proc_sysvipc("mount -t tmpfs none /proc/sysvipc", args)
}

/// [`without_proc_sysvipc`], hiding it with `mount`, a shell command.
fn hiding_proc_sysvipc(mount: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new("unshare")
        .args([
            "--mount",
            "sh",
            "-c",
            &format!(r#"{mount} && exec "$@""#),
            "sh",
            env!("CARGO_BIN_EXE_peer"),
        ])
        .args(args)
        .output()
        .expect("unshare (util-linux) is needed");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn who_owns_a_queue_is_checked_without_proc_sysvipc() {
    if skip_unless_root() {
        return;
    }
    // Owned by nobody: refused, its owner read with IPC_STAT.
    let theirs = TestQueue::with(|o| {
        o.uid(65534);
    });
    let (code, out) = without_proc_sysvipc(&["open-checked", &theirs.key_arg()]);
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.starts_with("error untrusted: ") && out.contains("it is owned by uid 65534"),
        "{out}"
    );
    // Root's own: opened, by key and by id.
    let ours = TestQueue::new();
    assert_eq!(
        without_proc_sysvipc(&["open-checked", &ours.key_arg()]),
        (Some(0), format!("opened {}\n", ours.id()))
    );
    assert_eq!(
        without_proc_sysvipc(&["open-id-checked", &ours.id().to_string()]),
        (Some(0), format!("opened {}\n", ours.key()))
    );
}

#[test]
fn a_queue_whose_owner_cannot_be_read_at_all_is_refused() {
    if skip_unless_root() {
        return;
    }
    // nobody's own queue, which nobody may send to but not read: IPC_STAT
    // is refused, and only /proc/sysvipc says who owns it.
    let q = TestQueue::with(|o| {
        o.uid(65534).mode(0o200);
    });
    let key = q.key_arg();
    assert_eq!(
        as_nobody(&["open-checked", &key]),
        (Some(0), format!("opened {}\n", q.id()))
    );
    // /proc/sysvipc hidden, or its list emptied (a file bound over it).
    for mount in [
        "mount -t tmpfs none /proc/sysvipc",
        "mount --bind /dev/null /proc/sysvipc/msg",
    ] {
        let (code, out) = hiding_proc_sysvipc(mount, &["as", NOBODY, NOBODY, "open-checked", &key]);
        assert_eq!(code, Some(3), "{mount}: {out}");
        assert!(
            out.starts_with("error untrusted: ")
                && out.contains("who owns it cannot be told")
                && out.contains("allow_foreign(true)"),
            "{mount}: {out}"
        );
    }
}
