//! The examples in other languages of docs/WIRE.md (section 9), run as they
//! are printed, against a `TypedQueue` of the document's `Cmd`: the Python
//! ones with `sysv_ipc`, the PHP one with `sysvmsg`, the C one with `cc`. Each example is taken from the
//! document itself, so an example that goes wrong fails here.

use std::process::Command;
use std::time::Duration;

use ipcq::TypedQueue;
use tests::foreign::{compile_c, run_script};
use tests::messages::Cmd;
use tests::{ScratchDir, TestQueue};

const WIRE: &str = include_str!("../../docs/WIRE.md");

/// The Python that `.ci/run` installs `python3-sysv-ipc` for.
const PYTHON: &str = "/usr/bin/python3";

/// The first `lang` code block after the heading `heading` of WIRE.md.
fn block(heading: &str, lang: &str) -> String {
    let start = WIRE
        .find(heading)
        .unwrap_or_else(|| panic!("docs/WIRE.md has no heading {heading:?}"));
    let rest = &WIRE[start..];
    let open = format!("```{lang}\n");
    let from = rest.find(&open).expect("a code block") + open.len();
    let len = rest[from..].find("```").expect("the block's end");
    rest[from..from + len].to_string()
}

/// A Python example with its key, set once as `KEY = 0x1234`, replaced by
/// the test queue's.
fn with_key(code: &str, queue: &TestQueue) -> String {
    let example = "KEY = 0x1234";
    assert_eq!(code.matches(example).count(), 1, "{code}");
    code.replace(example, &format!("KEY = {}", queue.key_arg()))
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
    let script = format!(
        "{}\n{decoding}\nprint(job_id, path)\n",
        with_key(&sending, &raw)
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
    assert_eq!(q.try_recv().unwrap(), None);
}

#[test]
fn the_python_example_receives_text_variants_from_rust() {
    let raw = TestQueue::new();
    let q: TypedQueue<Cmd> = raw.typed();
    q.send(Cmd::Count(-42)).unwrap();
    q.send(Cmd::Note("héllo".into())).unwrap();

    let receiving = block("### Python: receiving a text variant", "python");
    let script = format!("{}\nprint(note, count)\n", with_key(&receiving, &raw));
    assert_eq!(python(&script), "héllo -42\n");
    assert_eq!(raw.stat().unwrap().messages, 0);
}

#[test]
fn the_php_example_sends_text_variants_and_receives_one() {
    let raw = TestQueue::new();
    let q: TypedQueue<Cmd> = raw.typed();
    let example = block("### PHP (`sysvmsg`)", "php");
    let at = "msg_get_queue(0x1234, 0600)";
    assert_eq!(example.matches(at).count(), 1, "{example}");
    // The example receives the note it sent; print it to see that it did.
    let script = format!(
        "{}echo $note;\n",
        example.replace(at, &format!("msg_get_queue({}, 0600)", raw.key_arg()))
    );
    assert_eq!(run_script("php", &[], "php-cli", &script), "héllo");
    // What it left on the queue, as ipcq decodes it.
    assert_eq!(q.try_recv().unwrap(), Some(Cmd::Count(-42)));
    assert_eq!(q.try_recv().unwrap(), None);
}

#[test]
fn the_c_example_sends_a_job() {
    let dir = ScratchDir::new(env!("CARGO_TARGET_TMPDIR"), "wire-c");
    let program = format!(
        "{}\n#include <stdlib.h>\n\nint main(int argc, char **argv) {{\n    \
         (void)argc;\n    return send_job(atoi(argv[1]), 70000, \"/srv/in/\\xc3\\xa9\") == 0 ? 0 : 1;\n}}\n",
        block("### C", "c")
    );
    let binary = compile_c(&dir, "send_job", &program);

    let raw = TestQueue::new();
    let q: TypedQueue<Cmd> = raw.typed();
    let status = Command::new(&binary)
        .arg(raw.id().get().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "the C example exited with {status}");
    assert_eq!(
        q.recv_timeout(Duration::from_secs(5)).unwrap(),
        Some(Cmd::Job {
            id: 70_000,
            path: "/srv/in/é".into()
        })
    );
}
