//! The service pieces on their own: the pid file's locking, takeover and
//! refusal to follow links, and signal watchers giving signals back.

use std::os::unix::fs::{FileTypeExt, symlink};
use std::os::unix::process::ExitStatusExt;

use ipcq::Error;
use ipcq::service::PidFile;
use tests::{ScratchDir, TestQueue, peer};

fn temp(name: &str) -> ScratchDir {
    ScratchDir::new(env!("CARGO_TARGET_TMPDIR"), &format!("service-{name}"))
}

#[test]
fn a_held_pid_file_names_the_running_pid() {
    let dir = temp("held");
    let path = dir.path().join("d.pid");
    let held = PidFile::acquire(&path).unwrap();
    match PidFile::acquire(&path) {
        Err(Error::AlreadyRunning { pid, path: p }) => {
            assert_eq!(pid, Some(std::process::id() as i32));
            assert_eq!(p, path);
        }
        other => panic!("expected AlreadyRunning, got {other:?}"),
    }
    drop(held);
    assert!(!path.exists());
}

#[test]
fn a_stale_pid_file_is_taken_over() {
    let dir = temp("stale");
    let path = dir.path().join("d.pid");
    // A pid file left by a process that died: nobody holds its lock.
    std::fs::write(&path, "999999\n").unwrap();
    let taken = PidFile::acquire(&path).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", std::process::id())
    );
    drop(taken);
    // No temporary file is left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_child_forked_with_the_pid_file_leaves_it_to_the_parent() {
    // The child's drop (or exit) neither removes the file nor unlocks it.
    let dir = temp("forked");
    let path = dir.path().join("d.pid");
    let out = tests::run_ok(peer!("pidfile-forked", &path));
    let pid = out
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("pid "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(out, format!("pid {pid}\nheld by {pid}\nremoved true\n"));
}

#[test]
fn a_temporary_file_left_by_a_start_with_the_same_pid_is_replaced() {
    // A daemon that is pid 1 of its container has the same pid every start;
    // one that died between writing its temporary file and renaming it left
    // the name this start uses.
    let dir = temp("leftover");
    let path = dir.path().join("d.pid");
    let leftover = dir
        .path()
        .join(format!(".d.pid.{}.tmp", std::process::id()));
    std::fs::write(&leftover, "").unwrap();
    let taken = PidFile::acquire(&path).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", std::process::id())
    );
    assert!(!leftover.exists());
    drop(taken);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_pid_file_that_cannot_be_written_leaves_no_empty_file() {
    // A directory at the temporary file's name makes the write fail after
    // the pid file itself was created (empty) and locked.
    let dir = temp("unwritable");
    let path = dir.path().join("d.pid");
    let blocker = dir
        .path()
        .join(format!(".d.pid.{}.tmp", std::process::id()));
    std::fs::create_dir(&blocker).unwrap();
    let e = PidFile::acquire(&path).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(!path.exists(), "an empty pid file was left");
    std::fs::remove_dir(&blocker).unwrap();
}

#[test]
fn a_symbolic_link_at_the_pid_file_path_is_not_followed() {
    let dir = temp("link");
    let victim = dir.path().join("precious");
    std::fs::write(&victim, "do not overwrite").unwrap();
    let path = dir.path().join("d.pid");
    symlink(&victim, &path).unwrap();
    match PidFile::acquire(&path) {
        Err(e @ Error::Os { .. }) => {
            assert_eq!(e.errno(), Some(ipcq::Errno::ELOOP));
            assert!(e.to_string().contains("is a symbolic link"), "{e}");
        }
        other => panic!("expected an ELOOP error, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "do not overwrite"
    );
}

#[test]
fn a_fifo_at_the_pid_file_path_is_refused_at_once() {
    let dir = temp("fifo");
    let path = dir.path().join("d.pid");
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    // Read as a pid file, a FIFO with no writer would block for ever: wait
    // for the answer in another thread, for a while.
    let (tx, rx) = std::sync::mpsc::channel();
    let acquiring = path.clone();
    std::thread::spawn(move || tx.send(PidFile::acquire(&acquiring).map(drop)));
    let answer = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("acquire returned");
    match answer {
        Err(e @ Error::Os { .. }) => {
            assert_eq!(e.errno(), Some(ipcq::Errno::EINVAL));
            assert!(
                e.to_string().contains("is a FIFO, not a regular file"),
                "{e}"
            );
        }
        other => panic!("expected the FIFO refused, got {other:?}"),
    }
    assert!(
        std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    // A directory is refused too, and left as it is.
    let sub = dir.path().join("sub.pid");
    std::fs::create_dir(&sub).unwrap();
    let e = PidFile::acquire(&sub).unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
    assert!(sub.is_dir());
}

/// Runs `peer signals-dropped MODE` (through `nohup` if `nohup`), and returns
/// the signal that ended it, if one did, and what it printed.
fn signals_dropped(mode: &str, nohup: bool) -> (Option<i32>, String) {
    let output = if nohup {
        std::process::Command::new("nohup")
            .args([env!("CARGO_BIN_EXE_peer"), "signals-dropped", mode])
            .output()
    } else {
        peer!("signals-dropped", mode).output()
    }
    .expect("run the peer");
    (
        output.status.signal(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn a_dropped_signal_watcher_gives_sigterm_back_its_default_action() {
    // SIGTERM ends the process again, as if it had never been watched.
    let (signal, out) = signals_dropped("alone", false);
    assert_eq!(signal, Some(libc::SIGTERM), "{out}");
    assert_eq!(out, "");
}

#[test]
fn signals_go_to_the_watchers_still_installed() {
    for mode in ["another", "reinstalled"] {
        let (signal, out) = signals_dropped(mode, false);
        assert_eq!((signal, out.as_str()), (None, "stopped true\n"), "{mode}");
    }
}

#[test]
fn a_signal_the_program_handled_before_the_first_watcher_stays_its_own() {
    // Its own SIGTERM handler runs after the watcher is dropped, and the
    // process lives on.
    let (signal, out) = signals_dropped("handled", false);
    assert_eq!((signal, out.as_str()), (None, "survived\nhandled true\n"));
}

#[test]
fn a_signal_ignored_before_the_first_watcher_stays_ignored() {
    // nohup ignores SIGHUP; the watcher's reload took it, and gives it back
    // ignored.
    let (signal, out) = signals_dropped("hup", true);
    assert_eq!((signal, out.as_str()), (None, "survived\n"));
    // Without nohup, SIGHUP's default action ends the process.
    assert_eq!(signals_dropped("hup", false).0, Some(libc::SIGHUP));
}

#[test]
fn a_signal_no_watcher_left_takes_gets_its_default_action_back() {
    // The watcher still installed takes SIGTERM and SIGINT, not SIGHUP: once
    // the one with a reload is dropped, SIGHUP ends the process again.
    assert_eq!(signals_dropped("hup-another", false).0, Some(libc::SIGHUP));
}

#[test]
fn a_signal_that_comes_while_the_watcher_is_dropped_is_not_lost() {
    let out = tests::run_ok(peer!("signal-while-dropping"));
    assert_eq!(out, "stopped true\n");
}

#[test]
fn a_relative_pid_file_path_stays_where_the_daemon_was_started() {
    // The daemon changes directory to /, after taking its pid file.
    let dir = temp("relative");
    let start = || {
        peer!("daemon", "relative.pid")
            .current_dir(dir.path())
            .output()
            .expect("run the peer")
    };
    let first = start();
    assert!(first.status.success(), "{first:?}");
    let path = dir.path().join("relative.pid");
    assert!(path.exists(), "the pid file is where the daemon started");
    let second = start();
    // The daemon removes its pid file on the way out.
    stop_daemon(&path);
    assert_eq!(second.status.code(), Some(3), "{second:?}");
    let said = String::from_utf8_lossy(&second.stdout);
    assert!(said.starts_with("error already-running"), "{said}");
}

#[test]
fn a_daemon_that_fails_after_the_fork_reports_its_errno() {
    let dir = temp("no-such-dir");
    let missing = dir.path().join("missing");
    let out = peer!("daemon-in", &missing).output().expect("run the peer");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    // The daemon's error crossed to the process that started it as it was:
    // the same sentence, errno and all, once.
    let chdir = format!("cannot chdir to {}", missing.display());
    assert!(said.starts_with("error other: "), "{said}");
    assert!(said.contains(&chdir), "{said}");
    assert!(
        said.trim_end()
            .ends_with("(ENOENT: No such file or directory)"),
        "{said}"
    );
    assert_eq!(said.matches("ENOENT").count(), 1, "{said}");
}

/// Sends SIGTERM to the daemon whose pid is in `path`, and waits until it
/// has removed the file.
fn stop_daemon(path: &std::path::Path) {
    let pid: i32 = std::fs::read_to_string(path)
        .expect("a pid file")
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while path.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!path.exists(), "the daemon left its pid file");
}

#[test]
fn a_daemon_is_reported_started_only_once_its_setup_is_done() {
    let dir = temp("setup");
    let path = dir.path().join("d.pid");
    let q = TestQueue::new();
    let out = peer!("daemon-setup", &path, q.key_arg())
        .output()
        .expect("run the peer");
    assert!(out.status.success(), "{out:?}");
    // The set-up's message is there the moment the starting process is gone.
    let said = q.try_recv(ipcq::Selector::Any).unwrap();
    // Readable by all, under the daemon's umask of 027 too.
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    stop_daemon(&path);
    assert_eq!(mode & 0o777, 0o644);
    assert_eq!(said.expect("the set-up ran first").body, b"set up");
}

#[test]
fn a_daemon_whose_setup_fails_reports_why_and_goes() {
    let dir = temp("setup-fails");
    let path = dir.path().join("d.pid");
    let gone = TestQueue::new();
    let key = gone.key_arg();
    drop(gone);
    let out = peer!("daemon-setup", &path, &key)
        .output()
        .expect("run the peer");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    // The set-up's own error, which is no start-up step's, crossed with its
    // errno and its sentence.
    assert!(said.starts_with("error other: "), "{said}");
    assert!(said.contains("cannot open the queue"), "{said}");
    assert_eq!(said.matches("ENOENT").count(), 1, "{said}");
    assert!(!path.exists(), "the daemon left its pid file");
}

#[test]
fn a_program_the_setup_starts_does_not_hold_up_the_start() {
    let dir = temp("setup-child");
    let path = dir.path().join("d.pid");
    let started = std::time::Instant::now();
    let out = peer!("daemon-setup-child", &path)
        .output()
        .expect("run the peer");
    let took = started.elapsed();
    assert!(out.status.success(), "{out:?}");
    stop_daemon(&path);
    // The program runs 30 s; the start returns once the set-up has.
    assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
}

/// Runs `peer drop-privileges ARGS` as root in a mount namespace of its own,
/// where `passwd` and `group` stand in for the user and group databases, and
/// returns what it printed.
fn drop_privileges_with(passwd: &str, group: &str, args: &[&str]) -> String {
    let dir = temp("user-database");
    let (passwd_path, group_path) = (dir.path().join("passwd"), dir.path().join("group"));
    std::fs::write(&passwd_path, passwd).unwrap();
    std::fs::write(&group_path, group).unwrap();
    // `unshare --mount` makes the namespace's mounts private: the host's
    // /etc stays as it is.
    let mut command = std::process::Command::new("unshare");
    command
        .args([
            "--mount",
            "sh",
            "-c",
            r#"mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && shift 2 && exec "$@""#,
            "sh",
        ])
        .args([&passwd_path, &group_path])
        .args([env!("CARGO_BIN_EXE_peer"), "drop-privileges"])
        .args(args);
    tests::run_ok(command)
}

#[test]
fn a_dropped_user_keeps_its_supplementary_groups_and_none_of_roots() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: dropping privileges and a mount namespace need root");
        return;
    }
    let passwd = "root:x:0:0:root:/root:/bin/sh\n\
                  ipcq-member:x:54321:54321::/nonexistent:/usr/sbin/nologin\n";
    let group = "root:x:0:\n\
                 ipcq-member:x:54321:\n\
                 ipcq-queues:x:54322:someone,ipcq-member\n\
                 ipcq-other:x:54323:someone\n";
    // The user's primary group and the group it is a member of.
    assert_eq!(
        drop_privileges_with(passwd, group, &["ipcq-member"]),
        "uid 54321 gid 54321 groups [54321, 54322]\n"
    );
    // By uid, the same user.
    assert_eq!(
        drop_privileges_with(passwd, group, &["54321"]),
        "uid 54321 gid 54321 groups [54321, 54322]\n"
    );
    // A group given instead of the primary one, as `initgroups` does.
    assert_eq!(
        drop_privileges_with(passwd, group, &["ipcq-member", "ipcq-other"]),
        "uid 54321 gid 54323 groups [54322, 54323]\n"
    );
    // A uid without a name has the group given, alone.
    assert_eq!(
        drop_privileges_with(passwd, group, &["54399", "54398"]),
        "uid 54399 gid 54398 groups [54398]\n"
    );
}
