//! Programs not written in Rust, for the interoperability tests: C compiled
//! with `cc`, and scripts run by an interpreter. `.ci/run` installs what they
//! need; a missing tool fails the test with a message that says so.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

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
/// script fails or writes anything on standard error (PHP's warnings go
/// there).
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
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{interpreter} failed ({}):\n{}\n---\n{script}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
