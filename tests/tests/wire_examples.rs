//! The examples in other languages of docs/WIRE.md (section 9), run as they
//! are printed (and then some more calls of their functions), against a
//! `TypedQueue` of the document's `Cmd`: the Python ones with `sysv_ipc`, the
//! PHP one with `sysvmsg`, the C one with `cc`. Each example is taken from
//! the document itself, so an example that goes wrong fails here.

use std::process::Command;

use ipcq::TypedQueue;
use tests::foreign::{compile_c, run_script};
use tests::messages::Cmd;
use tests::{ScratchDir, TestQueue};

const WIRE: &str = include_str!("../../docs/WIRE.md");

/// The Python that `.ci/run` installs `python3-sysv-ipc` for.
const PYTHON: &str = "/usr/bin/python3";

/// The one `lang` code block under the heading line `heading` of WIRE.md,
/// before the next heading.
fn block(heading: &str, lang: &str) -> String {
    let line = format!("\n{heading}\n");
    let start = WIRE
        .find(&line)
        .unwrap_or_else(|| panic!("docs/WIRE.md has no heading {heading:?}"))
        + line.len();
    let section = &WIRE[start..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let section = &section[..section.find("\n### ").unwrap_or(section.len())];
    let open = format!("```{lang}\n");
    assert_eq!(section.matches(&open).count(), 1, "{heading}: {section}");
    let from = section.find(&open).unwrap() + open.len();
    let len = section[from..].find("```").expect("the block's end");
    section[from..from + len].to_string()
}

/// An example with its key, 0x1234 in the text `at` (which appears once),
/// replaced by the test queue's.
fn with_key(code: &str, at: &str, queue: &TestQueue) -> String {
    assert_eq!(code.matches(at).count(), 1, "{at:?} in {code}");
    code.replace(at, &at.replace("0x1234", &queue.key_arg()))
}

/// Runs `script` with [`PYTHON`]; its standard output.
fn python(script: &str) -> String {
    run_script(PYTHON, &["-"], "python3-sysv-ipc", script)
}

#[test]
fn the_python_examples_send_typed_messages_and_decode_one_from_rust() {
    let raw = TestQueue::new();
    let q: TypedQueue<Cmd> = raw.typed();
    // Older than anything the script sends, so that its receive of mtype 10
    // takes this one. An id past one varint byte, a path past ASCII.
    let sent = Cmd::Job {
        id: 70_000,
        path: "/srv/in/é".into(),
    };
    q.send(&sent).unwrap();

    let sending = block("### Python (`sysv_ipc`): sending typed messages", "python");
    let decoding = block("### Python: decoding a typed variant", "python");
    // Then the example's `job` at each varint width.
    let script = format!(
        "{}\n{decoding}\nprint(job_id, path)\n\
         for n in (250, 251, 70_000, 2**32, 2**64 - 1):\n    q.send(job(n, 'é'), type=10)\n",
        with_key(&sending, "KEY = 0x1234", &raw)
    );
    assert_eq!(python(&script), "70000 /srv/in/é\n");

    // What the script sent, as ipcq decodes it.
    assert_eq!(
        q.try_recv().unwrap(),
        Some(Cmd::Job {
            id: 7,
            path: "a".into()
        })
    );
    assert_eq!(q.try_recv().unwrap(), Some(Cmd::Reload));
    assert_eq!(q.try_recv().unwrap(), Some(Cmd::Count(-42)));
    for id in [250, 251, 70_000, 1 << 32, u64::MAX] {
        let path = "é".into();
        assert_eq!(q.try_recv().unwrap(), Some(Cmd::Job { id, path }));
    }
    assert_eq!(q.try_recv().unwrap(), None);
}

#[test]
fn the_python_example_receives_text_variants_from_rust() {
    let raw = TestQueue::new();
    let q: TypedQueue<Cmd> = raw.typed();
    q.send(Cmd::Count(-42)).unwrap();
    q.send(Cmd::Note("héllo".into())).unwrap();

    let receiving = block("### Python: receiving a text variant", "python");
    let script = format!(
        "{}\nprint(note, count)\n",
        with_key(&receiving, "KEY = 0x1234", &raw)
    );
    assert_eq!(python(&script), "héllo -42\n");
    assert_eq!(raw.stat().unwrap().messages, 0);
}

#[test]
fn the_php_example_sends_text_variants_and_receives_one_from_rust() {
    let raw = TestQueue::new();
    let q: TypedQueue<Cmd> = raw.typed();
    // Older than the example's own note, so that its receive takes this one.
    q.send(Cmd::Note("from rust, ☃".into())).unwrap();
    let example = block("### PHP (`sysvmsg`)", "php");
    let script = format!(
        "{}echo $note;\n",
        with_key(&example, "msg_get_queue(0x1234, 0600)", &raw)
    );
    assert_eq!(run_script("php", &[], "php-cli", &script), "from rust, ☃");
    // What it sent, as ipcq decodes it.
    assert_eq!(q.try_recv().unwrap(), Some(Cmd::Count(-42)));
    assert_eq!(q.try_recv().unwrap(), Some(Cmd::Note("héllo".into())));
    assert_eq!(q.try_recv().unwrap(), None);
}

/// Sends the example's `send_job` at each varint width.
const C_MAIN: &str = r#"
#include <stdlib.h>

int main(int argc, char **argv) {
    (void)argc;
    int qid = atoi(argv[1]);
    const uint64_t ids[] = {7, 250, 251, 70000, (uint64_t)1 << 32, UINT64_MAX};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        if (send_job(qid, ids[i], "/srv/in/\xc3\xa9") != 0) return 1;
    }
    return 0;
}
"#;

#[test]
fn the_c_example_sends_jobs() {
    let dir = ScratchDir::new(env!("CARGO_TARGET_TMPDIR"), "wire-c");
    let program = format!("{}{C_MAIN}", block("### C", "c"));
    let binary = compile_c(&dir, "send_job", &program);

    let raw = TestQueue::new();
    let q: TypedQueue<Cmd> = raw.typed();
    let status = Command::new(&binary)
        .arg(raw.id().get().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "the C example exited with {status}");
    for id in [7, 250, 251, 70_000, 1 << 32, u64::MAX] {
        let path = "/srv/in/é".into();
        assert_eq!(q.try_recv().unwrap(), Some(Cmd::Job { id, path }));
    }
    assert_eq!(q.try_recv().unwrap(), None);
}
