//! The service pieces on their own: the pid file's locking, takeover and
//! refusal to follow links.

use std::os::unix::fs::symlink;

use ipcq::Error;
use ipcq::service::PidFile;
use tests::ScratchDir;

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
fn a_symbolic_link_at_the_pid_file_path_is_not_followed() {
    let dir = temp("link");
    let victim = dir.path().join("precious");
    std::fs::write(&victim, "do not overwrite").unwrap();
    let path = dir.path().join("d.pid");
    symlink(&victim, &path).unwrap();
    match PidFile::acquire(&path) {
        Err(Error::Io { source, .. }) => assert_eq!(source.raw_os_error(), Some(libc::ELOOP)),
        other => panic!("expected an ELOOP error, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "do not overwrite"
    );
}
