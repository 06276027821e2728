//! Fixed-size records shared with a C program: a `#[ipcq(bytes)] [u8; N]`
//! variant is the `struct` a C sender passes to `msgsnd`, byte for byte, in
//! both directions. The C side is compiled with the system's `cc`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use ipcq::QueueMessage;
use tests::foreign::compile_c;
use tests::{ScratchDir, TestQueue};

/// `struct reading` below: 4 + 4 + 8 + 8 bytes, no padding on x86-64 or
/// aarch64 Linux.
const READING: usize = 24;

#[derive(QueueMessage, Debug, PartialEq)]
#[ipcq(base = 7)]
enum Sensor {
    /// From C, mtype 7.
    #[ipcq(bytes)]
    Reading([u8; READING]),
    /// To C, mtype 8.
    #[ipcq(bytes)]
    Command([u8; READING]),
}

const PROGRAM: &str = r#"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>

struct reading {
    int32_t sensor;
    int32_t flags;
    double celsius;
    char name[8];
};

struct message {
    long mtype;
    struct reading r;
};

int main(int argc, char **argv) {
    int id = atoi(argv[1]);
    struct message out = { .mtype = 7, .r = { .sensor = 42, .flags = -1, .celsius = 21.5 } };
    memcpy(out.r.name, "probe-1", 8);
    if (msgsnd(id, &out, sizeof out.r, 0) != 0) { perror("msgsnd"); return 1; }

    struct message in;
    ssize_t n = msgrcv(id, &in, sizeof in.r, 8, 0);
    if (n < 0) { perror("msgrcv"); return 1; }
    printf("%zd %d %d %.2f %.8s\n", n, in.r.sensor, in.r.flags, in.r.celsius, in.r.name);
    return 0;
}
"#;

/// Compiles [`PROGRAM`] into a directory of its own; the path of the binary.
fn compile() -> (ScratchDir, PathBuf) {
    let dir = ScratchDir::new(env!("CARGO_TARGET_TMPDIR"), "c-records");
    let binary = compile_c(&dir, "records", PROGRAM);
    (dir, binary)
}

#[test]
fn a_c_struct_arrives_as_the_record_and_goes_back_as_one() {
    let (_dir, binary) = compile();
    let raw = TestQueue::new();
    let q = raw.typed::<Sensor>();
    let mut child = Command::new(&binary)
        .arg(raw.id().get().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    // Waits in short steps, so that a C program that failed before sending
    // fails the test at once; a panic drops the queue, which ends the C
    // program's own wait.
    let reading = loop {
        if let Some(msg) = q.recv_timeout(Duration::from_millis(100)).unwrap() {
            break msg;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the C program exited ({status}) without sending");
        }
    };
    let Sensor::Reading(bytes) = reading else {
        panic!("expected a reading, got {reading:?}");
    };
    let sensor = i32::from_ne_bytes(bytes[0..4].try_into().unwrap());
    let flags = i32::from_ne_bytes(bytes[4..8].try_into().unwrap());
    let celsius = f64::from_ne_bytes(bytes[8..16].try_into().unwrap());
    assert_eq!((sensor, flags, celsius), (42, -1, 21.5));
    assert_eq!(&bytes[16..], b"probe-1\0");

    let mut reply = [0u8; READING];
    reply[0..4].copy_from_slice(&(sensor + 1).to_ne_bytes());
    reply[4..8].copy_from_slice(&0i32.to_ne_bytes());
    reply[8..16].copy_from_slice(&(celsius * 2.0).to_ne_bytes());
    reply[16..].copy_from_slice(b"pong\0\0\0\0");
    q.send(Sensor::Command(reply)).unwrap();

    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the C program failed");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "24 43 0 43.00 pong\n"
    );
}
