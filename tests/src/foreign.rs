//! Programs not written in Rust, for the interoperability tests: C compiled
//! with `cc`, and scripts run by an interpreter. `.ci/run` installs what they
//! need; a missing tool fails the test with a message that says so.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::ScratchDir;

/// Compiles the C `program` as `name` in `dir` (C11, every warning an
/// error); the path of the binary.
pub fn compile_c(dir: &ScratchDir, name: &str, program: &str) -> PathBuf {
    let source = dir.path().join(format!("{name}.c"));
    let binary = dir.path().join(name);
    std::fs::write(&source, program).unwrap();
    let output = Command::new("cc")
        .args(["-std=c11", "-D_DEFAULT_SOURCE", "-Wall", "-Werror", "-o"])
        .arg(&binary)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| panic!("cannot run cc ({e}): .ci/run installs gcc for this test"));
    assert!(
        output.status.success(),
        "cc failed: {}\n---\n{program}",
        String::from_utf8_lossy(&output.stderr)
    );
    binary
}

/// Runs `script` on the standard input of `interpreter` (`args` before it),
/// which `.ci/run` installs as `package`; its standard output. Fails if the
/// script fails, writes anything on standard error (PHP's warnings go
/// there), or runs longer than [`SCRIPT_TIME_LIMIT`] (a script waiting in a
/// receive for a message that never comes), which it then kills.
pub fn run_script(interpreter: &str, args: &[&str], package: &str, script: &str) -> String {
    let mut child = Command::new(interpreter)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {interpreter} ({e}): .ci/run installs {package} for this test")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let Some(status) = wait_within(&mut child, SCRIPT_TIME_LIMIT) else {
        panic!("{interpreter} still ran after {SCRIPT_TIME_LIMIT:?}; killed it\n---\n{script}");
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(
        status.success() && stderr.is_empty(),
        "{interpreter} failed ({status}):\n{}\n---\n{script}",
        String::from_utf8_lossy(&stderr)
    );
    String::from_utf8(stdout).unwrap()
}

/// How long [`run_script`] lets a script run.
pub const SCRIPT_TIME_LIMIT: Duration = Duration::from_secs(20);

/// Waits for `child` to exit, for at most `limit`: its status, or `None`
/// when it still ran and was killed (and reaped).
pub(crate) fn wait_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Reads `pipe` to its end on a thread of its own, so that a child writing
/// more than a pipe holds cannot stall.
pub(crate) fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes).unwrap();
        bytes
    })
}
