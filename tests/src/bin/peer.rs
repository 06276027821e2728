//! The other process in the integration tests: sends, receives or serves on a
//! queue named by its key, as its arguments say, and reports on stdout.
//!
//! Usage:
//!   peer [as UID GID] send KEY MTYPE BODY...
//!   peer [as UID GID] recv KEY SELECTOR COUNT        SELECTOR: any | type:N | upto:N | except:N
//!   peer [as UID GID] remove KEY
//!   peer [as UID GID] create-owned KEY UID GID      creates a queue with that owner
//!   peer [as UID GID] iter-work KEY LIMIT            reads at most LIMIT items of a Work queue's
//!                                                    try_iter, printing `ok` or `error KIND` for
//!                                                    each, then `end`
//!   peer send-work KEY FIRST LAST                    sends Work::Job { id } for FIRST..=LAST
//!   peer send-mix KEY                                sends Log, Job 1, Urgent 7, Stop, Job 2, Urgent 8
//!   peer send-batch KEY FIRST LAST                   sends Work::Urgent(n) for FIRST..=LAST with
//!                                                    send_batch, and prints how many SysV messages
//!   peer recv-work KEY COUNT                         receives COUNT Work messages one by one and
//!                                                    prints each as `{:?}`
//!   peer serve KEY                                   a Work worker: prints a line per message,
//!                                                    and stops after Work::Stop
//!   peer produce KEY PRODUCER COUNT                  sends Load::Even/Odd { producer, seq } for seq < COUNT
//!   peer consume KEY                                 receives Load until Load::End, printing "producer seq"
//!   peer slow-serve KEY MILLIS                       a Work worker that takes MILLIS per job and stops on SIGTERM
//!   peer signals-dropped MODE                       installs signal watchers, drops one, raises a
//!                                                    signal (MODE: alone, another, reinstalled,
//!                                                    hup, hup-another, handled), and prints what
//!                                                    happened if it lives
//!   peer signal-while-dropping                       raises SIGTERM while a watcher is dropped
//!                                                    during its reload, and prints whether the
//!                                                    stop was requested
//!   peer daemon PIDFILE                              starts a daemon with that pid file, which runs
//!                                                    until SIGTERM
//!   peer daemon-in DIR                               starts a daemon in DIR, and ends
//!   peer pidfile-forked PIDFILE                      takes the pid file, forks a child that drops
//!                                                    its copy and exits, then prints whether the
//!                                                    file is still there and still held
//!   peer timed-in-unwind KEY                         makes a receive with a timeout from a Drop
//!                                                    while a panic unwinds, then prints how many
//!                                                    POSIX timers the process has
//!   peer fill-msgmni N                               in its own IPC namespace: creates queues past msgmni = N
//!   peer batch-after-msgmax-lowered                  in its own IPC namespace: lowers msgmax after
//!                                                    opening a queue, then sends a batch through it
//!   peer ftok PATH ID
//!
//! An ipcq error ends the peer with status 3 after printing `error KIND: MESSAGE`.

use std::io::Write;
use std::process::ExitCode;

use ipcq::service::Signals;
use ipcq::{Key, MsgQueue, OpenOptions, Selector, StopHandle, TypedQueue};
use nix::sys::signal::{Signal, raise};
use nix::unistd::{Gid, Uid, setgid, setgroups, setuid};
use tests::error_kind;
use tests::messages::{Load, Work, WorkHandler};

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("as") {
        let uid: u32 = args[1].parse().expect("uid");
        let gid: u32 = args[2].parse().expect("gid");
        setgroups(&[]).expect("setgroups");
        setgid(Gid::from_raw(gid)).expect("setgid");
        setuid(Uid::from_raw(uid)).expect("setuid");
        args.drain(..3);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("error {}: {e}", error_kind(&e));
            ExitCode::from(3)
        }
    }
}

static SIGTERM_HANDLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A program's own SIGTERM handler, installed before any ipcq watcher.
fn handle_sigterm_myself() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
    extern "C" fn handler(_: libc::c_int) {
        SIGTERM_HANDLED.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    let action = SigAction::new(
        SigHandler::Handler(handler),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    #[allow(unsafe_code)]
    unsafe { sigaction(Signal::SIGTERM, &action) }.expect("sigaction");
}

fn key(arg: &str) -> Key {
    Key::new(arg.parse().expect("key"))
}

/// Opens a test's queue. The permission tests hand the peer queues of other
/// users and with open modes on purpose: what they test is the kernel's
/// answer, so the peer opts out of ipcq's own refusal.
fn open(arg: &str) -> ipcq::Result<MsgQueue> {
    OpenOptions::new().allow_foreign(true).open(key(arg))
}

fn selector(arg: &str) -> Selector {
    let (what, n) = arg.split_once(':').unwrap_or((arg, "0"));
    let n: i64 = n.parse().expect("selector type");
    match what {
        "any" => Selector::Any,
        "type" => Selector::Type(n),
        "upto" => Selector::UpTo(n),
        "except" => Selector::Except(n),
        other => panic!("unknown selector {other}"),
    }
}

fn run(args: &[String]) -> ipcq::Result<()> {
    let mut out = std::io::stdout().lock();
    match args[0].as_str() {
        "send" => {
            let q = open(&args[1])?;
            let mtype: i64 = args[2].parse().expect("mtype");
            for body in &args[3..] {
                q.send(mtype, body.as_bytes())?;
            }
        }
        "recv" => {
            let q = open(&args[1])?;
            let selector = selector(&args[2]);
            let count: usize = args[3].parse().expect("count");
            println!("ready");
            for _ in 0..count {
                let msg = q.recv(selector)?;
                writeln!(out, "{} {}", msg.mtype, String::from_utf8_lossy(&msg.body)).unwrap();
                out.flush().unwrap();
            }
        }
        "remove" => open(&args[1])?.remove()?,
        "open-checked" => {
            // Opens with ipcq's trust check, as an application does.
            let q = OpenOptions::new().open(key(&args[1]))?;
            writeln!(out, "opened {}", q.id()).unwrap();
        }
        "open-id-checked" => {
            let q = MsgQueue::open_id(args[1].parse().expect("queue id"))?;
            writeln!(out, "opened {}", q.key()).unwrap();
        }
        "drop-privileges" => {
            // Prints the ids and groups after dropping to USER [GROUP].
            let to = ipcq::service::Credentials::resolve(
                Some(&args[1]),
                args.get(2).map(String::as_str),
            )?;
            ipcq::service::drop_privileges(to)?;
            let mut groups: Vec<u32> = nix::unistd::getgroups()
                .expect("getgroups")
                .iter()
                .map(|g| g.as_raw())
                .collect();
            groups.sort_unstable();
            let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
            writeln!(out, "uid {uid} gid {gid} groups {groups:?}").unwrap();
        }
        "create-owned" => {
            // Creates a queue and gives it away: its creator keeps the
            // owner's rights whoever the owner is.
            let uid: u32 = args[2].parse().expect("uid");
            let gid: u32 = args[3].parse().expect("gid");
            OpenOptions::new()
                .create_new(true)
                .uid(uid)
                .gid(gid)
                .open(key(&args[1]))?;
        }
        "iter-work" => {
            let q = TypedQueue::<Work>::from_queue(open(&args[1])?);
            let limit: usize = args[2].parse().expect("limit");
            for item in q.try_iter().take(limit) {
                match item {
                    Ok(_) => writeln!(out, "ok").unwrap(),
                    Err(e) => writeln!(out, "error {}", error_kind(&e)).unwrap(),
                }
            }
            writeln!(out, "end").unwrap();
        }
        "send-work" => {
            let q = TypedQueue::<Work>::open(key(&args[1]))?;
            let first: u64 = args[2].parse().expect("first");
            let last: u64 = args[3].parse().expect("last");
            for id in first..=last {
                q.send(Work::Job {
                    id,
                    payload: format!("payload {id}"),
                })?;
            }
        }
        "send-mix" => {
            let q = TypedQueue::<Work>::open(key(&args[1]))?;
            for msg in mix() {
                q.send(msg)?;
            }
        }
        "send-batch" => {
            let q = TypedQueue::<Work>::from_queue(open(&args[1])?);
            let first: u32 = args[2].parse().expect("first");
            let last: u32 = args[3].parse().expect("last");
            let sysv = q.send_batch((first..=last).map(Work::Urgent))?;
            writeln!(out, "sent in {sysv}").unwrap();
        }
        "send-batch-stopped" => {
            // A batch sent through a handle whose stop was requested.
            let stop = StopHandle::new();
            let q = TypedQueue::<Work>::from_queue(open(&args[1])?).with_stop(stop.clone());
            stop.stop();
            match q.send_batch((0..100).map(Work::Urgent)) {
                Ok(sysv) => writeln!(out, "sent in {sysv}").unwrap(),
                Err(e) => {
                    writeln!(out, "error {} after {}", error_kind(e.error()), e.sent()).unwrap()
                }
            }
        }
        "recv-work" => {
            let q = TypedQueue::<Work>::open(key(&args[1]))?;
            let count: usize = args[2].parse().expect("count");
            writeln!(out, "ready").unwrap();
            out.flush().unwrap();
            for _ in 0..count {
                writeln!(out, "{:?}", q.recv()?).unwrap();
            }
        }
        "serve" => {
            let stop = StopHandle::new();
            let q = TypedQueue::<Work>::open(key(&args[1]))?.with_stop(stop.clone());
            let mut worker = Worker { out, stop };
            q.serve(&mut worker)?;
            writeln!(worker.out, "done").unwrap();
        }
        "produce" => {
            // A stop handle installs ipcq's wake-signal handler, so a storm of
            // that signal really interrupts this process's blocked calls.
            let q = TypedQueue::<Load>::open(key(&args[1]))?.with_stop(StopHandle::new());
            let producer: u32 = args[2].parse().expect("producer");
            let count: u32 = args[3].parse().expect("count");
            for seq in 0..count {
                q.send(if seq % 2 == 0 {
                    Load::Even { producer, seq }
                } else {
                    Load::Odd { producer, seq }
                })?;
            }
        }
        "consume" => {
            let q = TypedQueue::<Load>::open(key(&args[1]))?.with_stop(StopHandle::new());
            let mut out = std::io::BufWriter::new(out);
            // Until Load::End.
            while let Load::Even { producer, seq } | Load::Odd { producer, seq } = q.recv()? {
                writeln!(out, "{producer} {seq}").unwrap();
            }
            out.flush().unwrap();
        }
        "slow-serve" => {
            let stop = StopHandle::new();
            let _signals = Signals::new(&stop).install()?;
            let q = TypedQueue::<Work>::open(key(&args[1]))?.with_stop(stop);
            let pause = std::time::Duration::from_millis(args[2].parse().expect("millis"));
            q.serve_fn(|msg| {
                if let Work::Job { id, .. } = msg {
                    writeln!(out, "start {id}").unwrap();
                    out.flush().unwrap();
                    std::thread::sleep(pause);
                    writeln!(out, "end {id}").unwrap();
                    out.flush().unwrap();
                }
            })?;
            writeln!(out, "done").unwrap();
        }
        "daemon" => {
            let running = ipcq::service::Daemon::new().pid_file(&args[1]).start()?;
            wait_for_sigterm()?;
            drop(running);
        }
        "daemon-setup" => {
            // The set-up takes a while, then says on the queue that it is done.
            let (running, _q) =
                ipcq::service::Daemon::new()
                    .pid_file(&args[1])
                    .start_with(|| {
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        let q = open(&args[2])?;
                        q.send(1, b"set up")?;
                        Ok(q)
                    })?;
            wait_for_sigterm()?;
            drop(running);
        }
        "daemon-setup-child" => {
            // The set-up starts a program that outlives it.
            let (running, mut child) =
                ipcq::service::Daemon::new()
                    .pid_file(&args[1])
                    .start_with(|| {
                        std::process::Command::new("sleep")
                            .arg("30")
                            .spawn()
                            .map_err(|source| ipcq::Error::Io {
                                op: ipcq::Op::Daemonize,
                                path: "sleep".into(),
                                source,
                            })
                    })?;
            wait_for_sigterm()?;
            let _ = child.kill();
            let _ = child.wait();
            drop(running);
        }
        "pidfile-forked" => {
            let path = std::path::Path::new(&args[1]);
            let pid_file = ipcq::service::PidFile::acquire(path)?;
            // SAFETY: the peer has no other thread; the child only drops the
            // value and exits.
            #[allow(unsafe_code)]
            match unsafe { nix::unistd::fork() }.expect("fork") {
                nix::unistd::ForkResult::Child => {
                    drop(pid_file);
                    // SAFETY: _exit ends the child at once, running no atexit
                    // handler and flushing nothing the parent will flush too.
                    #[allow(unsafe_code)]
                    unsafe {
                        libc::_exit(0)
                    }
                }
                nix::unistd::ForkResult::Parent { child } => {
                    nix::sys::wait::waitpid(child, None).expect("waitpid");
                }
            }
            let pid = std::fs::read_to_string(path).unwrap_or_default();
            writeln!(out, "pid {}", pid.trim()).unwrap();
            match ipcq::service::PidFile::acquire(path) {
                Err(ipcq::Error::AlreadyRunning { pid, .. }) => {
                    writeln!(out, "held by {}", pid.unwrap_or(0)).unwrap();
                }
                other => writeln!(out, "not held: {other:?}").unwrap(),
            }
            drop(pid_file);
            writeln!(out, "removed {}", !path.exists()).unwrap();
        }
        "daemon-in" => {
            // Fails in the daemon, after the fork, when DIR does not exist.
            let running = ipcq::service::Daemon::new().working_dir(&args[1]).start()?;
            drop(running);
        }
        "timed-in-unwind" => {
            struct Cleanup(MsgQueue);
            impl Drop for Cleanup {
                fn drop(&mut self) {
                    let waited = self
                        .0
                        .recv_timeout(Selector::Any, std::time::Duration::from_millis(5));
                    assert!(matches!(waited, Ok(None)), "{waited:?}");
                }
            }
            let q = open(&args[1])?;
            std::panic::set_hook(Box::new(|_| {}));
            let unwound = std::panic::catch_unwind(move || {
                let _cleanup = Cleanup(q);
                panic!("unwinding");
            });
            assert!(unwound.is_err());
            let timers = std::fs::read_to_string("/proc/self/timers").expect("/proc/self/timers");
            let count = timers.lines().filter(|l| l.starts_with("ID:")).count();
            writeln!(out, "timers {count}").unwrap();
        }
        "wake-signal-ignored" => {
            // ipcq installs its wake handler at the first timed wait; the
            // program then ignores the signal, or resets it to its default
            // action, as a library it uses might. Timed waits and stops
            // still end.
            use nix::sys::signal::{SigHandler, signal};
            let stop = StopHandle::new();
            let q = open(&args[1])?.with_stop(stop.clone());
            let short = std::time::Duration::from_millis(20);
            assert!(q.recv_timeout(Selector::Any, short)?.is_none());
            for disposition in [SigHandler::SigIgn, SigHandler::SigDfl] {
                // SAFETY: setting a disposition without a handler runs no code.
                #[allow(unsafe_code)]
                unsafe { signal(ipcq::WAKE_SIGNAL, disposition) }.expect("signal");
                assert!(q.recv_timeout(Selector::Any, short)?.is_none());
                writeln!(out, "timeout ended").unwrap();
            }
            #[allow(unsafe_code)]
            // SAFETY: as above.
            unsafe { signal(ipcq::WAKE_SIGNAL, SigHandler::SigIgn) }.expect("signal");
            std::thread::scope(|s| {
                let waiter = s.spawn(|| q.recv(Selector::Any));
                std::thread::sleep(std::time::Duration::from_millis(50));
                stop.stop();
                let got = waiter.join().unwrap();
                assert!(matches!(got, Err(ipcq::Error::Stopped { .. })), "{got:?}");
            });
            writeln!(out, "stop ended").unwrap();
            // A handler of the program's own wakes the wait as well, and
            // stays.
            stop.reset();
            static OWN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            extern "C" fn own(_: libc::c_int) {
                OWN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            // SAFETY: the handler only adds to an atomic, which is
            // async-signal-safe.
            #[allow(unsafe_code)]
            unsafe { signal(ipcq::WAKE_SIGNAL, SigHandler::Handler(own)) }.expect("signal");
            assert!(q.recv_timeout(Selector::Any, short)?.is_none());
            assert!(OWN.load(std::sync::atomic::Ordering::SeqCst) > 0);
            writeln!(out, "own handler kept").unwrap();
        }
        "wake-signal-handled-first" => {
            // The program handles the wake signal itself before ipcq's first
            // timed wait: its handler wakes the wait, and stays.
            use nix::sys::signal::{SigHandler, signal};
            static OWN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            extern "C" fn own(_: libc::c_int) {
                OWN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            // SAFETY: the handler only adds to an atomic, which is
            // async-signal-safe.
            #[allow(unsafe_code)]
            unsafe { signal(ipcq::WAKE_SIGNAL, SigHandler::Handler(own)) }.expect("signal");
            let q = open(&args[1])?;
            let short = std::time::Duration::from_millis(20);
            assert!(q.recv_timeout(Selector::Any, short)?.is_none());
            let woken = OWN.load(std::sync::atomic::Ordering::SeqCst);
            raise(Signal::SIGURG).expect("raise");
            let after = OWN.load(std::sync::atomic::Ordering::SeqCst);
            writeln!(out, "woken {} raised {}", woken > 0, after - woken).unwrap();
        }
        "signals-dropped" => {
            if args[1] == "handled" {
                handle_sigterm_myself();
            }
            let stop = StopHandle::new();
            let first = Signals::new(&stop).on_reload(|| {}).install()?;
            let signal = if args[1].starts_with("hup") {
                Signal::SIGHUP
            } else {
                Signal::SIGTERM
            };
            // A watcher that is still installed when the first is dropped, or
            // one installed after it; neither takes SIGHUP.
            let other = StopHandle::new();
            let second = match args[1].as_str() {
                "another" | "hup-another" => Some(Signals::new(&other).install()?),
                _ => None,
            };
            drop(first);
            let second = match args[1].as_str() {
                "reinstalled" => Some(Signals::new(&other).install()?),
                _ => second,
            };
            raise(signal).expect("raise");
            if second.is_some() && signal == Signal::SIGTERM {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while !other.is_stopped() && std::time::Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                writeln!(out, "stopped {}", other.is_stopped()).unwrap();
            } else {
                std::thread::sleep(std::time::Duration::from_millis(200));
                writeln!(out, "survived").unwrap();
                if args[1] == "handled" {
                    let handled = SIGTERM_HANDLED.load(std::sync::atomic::Ordering::SeqCst);
                    writeln!(out, "handled {handled}").unwrap();
                }
            }
        }
        "signal-while-dropping" => {
            // SIGTERM comes while the watcher is being dropped and its thread
            // is still in a reload.
            let stop = StopHandle::new();
            let watcher = Signals::new(&stop)
                .on_reload(|| std::thread::sleep(std::time::Duration::from_millis(500)))
                .install()?;
            raise(Signal::SIGHUP).expect("raise");
            std::thread::sleep(std::time::Duration::from_millis(50));
            let term = std::thread::spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(100));
                raise(Signal::SIGTERM).expect("raise");
            });
            drop(watcher);
            term.join().unwrap();
            writeln!(out, "stopped {}", stop.is_stopped()).unwrap();
        }
        "batch-after-msgmax-lowered" => {
            // Run inside a new IPC namespace (unshare --ipc), whose msgmax is
            // its own. The handle read msgmax (8192) when it opened the queue.
            let q = TypedQueue::<Work>::create(Key::private())?;
            std::fs::write("/proc/sys/kernel/msgmax", "4096").expect("set msgmax");
            // About 9 KB in all: more than the new msgmax, less than the queue holds.
            let msgs: Vec<Work> = (0..1000).map(Work::Urgent).collect();
            let sysv = q.send_batch(&msgs)?;
            let got = q.try_iter().collect::<ipcq::Result<Vec<Work>>>()?;
            writeln!(out, "received in order {}", got == msgs).unwrap();
            writeln!(out, "batched {}", sysv < msgs.len()).unwrap();
            q.remove()?;
        }
        "fill-msgmni" => {
            // Run inside a new IPC namespace (unshare --ipc), whose limit is
            // its own and whose queues vanish with it.
            std::fs::write("/proc/sys/kernel/msgmni", &args[1]).expect("set msgmni");
            let mut created = Vec::new();
            let err = loop {
                match MsgQueue::create(Key::private()) {
                    Ok(q) => created.push(q),
                    Err(e) => break e,
                }
            };
            println!("created {}", created.len());
            for q in created {
                q.remove()?;
            }
            return Err(err);
        }
        "large-messages" => {
            // Run inside a new IPC namespace (unshare --ipc): msgmax and the
            // capacity of new queues go up to 64 KiB there only.
            std::fs::write("/proc/sys/kernel/msgmax", "65536").expect("set msgmax");
            std::fs::write("/proc/sys/kernel/msgmnb", "65536").expect("set msgmnb");
            let q = MsgQueue::create(Key::private())?;
            let mut checked = 0;
            for len in [8191, 8192, 8193, 20_000, 65_536] {
                let body: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
                q.send(4, &body)?;
                let got = q.recv(Selector::Any)?;
                assert_eq!((got.mtype, got.body.len()), (4, len));
                assert!(got.body == body, "bytes differ at {len}");
                checked += 1;
            }
            let typed = TypedQueue::<Work>::from_queue(q.clone());
            for len in [8180, 8182, 8183, 30_000, 65_526] {
                let job = Work::Job {
                    id: 9,
                    payload: (0..len)
                        .map(|i| char::from(b'a' + (i % 26) as u8))
                        .collect(),
                };
                typed.send(&job)?;
                assert_eq!(q.stat()?.bytes, len as u64 + 10);
                assert_eq!(typed.recv()?, job, "a job of {len}");
                checked += 1;
            }
            q.remove()?;
            println!("ok {checked}");
        }
        "huge-msgmax" => {
            // Run inside a new IPC namespace (unshare --ipc): msgmax of
            // 80 MiB, past the 64 MiB a receive buffer grows to of itself.
            let huge = 80 << 20;
            std::fs::write("/proc/sys/kernel/msgmax", huge.to_string()).expect("set msgmax");
            std::fs::write("/proc/sys/kernel/msgmnb", huge.to_string()).expect("set msgmnb");
            let q = MsgQueue::create(Key::private())?;
            // A message a little larger than the first 8 KiB does not grow a
            // buffer to msgmax.
            let mut buf = ipcq::MsgBuffer::new();
            q.send(1, &[5u8; 9000])?;
            q.recv_into(Selector::Any, &mut buf)?;
            writeln!(out, "grew to {} for 9000", buf.capacity()).unwrap();
            // Every message the kernel takes is taken off whole.
            let body: Vec<u8> = (0..huge).map(|i| (i % 251) as u8).collect();
            q.send(2, &body)?;
            let got = q.recv(Selector::Any)?;
            writeln!(
                out,
                "received {} whole {}",
                got.body.len(),
                got.body == body
            )
            .unwrap();
            q.remove()?;
        }
        "msgmax-lowered" => {
            // Run inside a new IPC namespace (unshare --ipc): a queue of 16 MiB
            // where msgmax is 64 KiB, then 8 KiB.
            std::fs::write("/proc/sys/kernel/msgmax", "65536").expect("set msgmax");
            std::fs::write("/proc/sys/kernel/msgmnb", "16777216").expect("set msgmnb");
            let q = MsgQueue::create(Key::private())?;
            let fill = |len: usize| vec![7u8; len];
            // A buffer grows to msgmax for a larger message, not to the
            // queue's 16 MiB.
            let mut buf = ipcq::MsgBuffer::new();
            q.send(1, &fill(10_000))?;
            q.recv_into(Selector::Any, &mut buf)?;
            println!("grew to {} for 10000", buf.capacity());
            // msgmax lowered under a queued message: a peek cannot copy it,
            // a receive takes it, its buffer doubling past msgmax.
            q.send(2, &fill(20_000))?;
            std::fs::write("/proc/sys/kernel/msgmax", "8192").expect("lower msgmax");
            match q.peek(0) {
                Err(e) => println!("peek: {} {e}", error_kind(&e)),
                Ok(m) => println!("peek: {:?}", m.map(|m| m.body.len())),
            }
            let mut buf = ipcq::MsgBuffer::new();
            q.recv_into(Selector::Any, &mut buf)?;
            println!("grew to {} for {}", buf.capacity(), buf.body().len());
            q.remove()?;
        }
        "ftok" => {
            let id: u8 = args[2].parse().expect("project id");
            println!("{}", Key::ftok(&args[1], id)?.get());
        }
        other => panic!("unknown peer command {other}"),
    }
    Ok(())
}

/// A daemon's life in these tests: until SIGTERM or SIGINT.
fn wait_for_sigterm() -> ipcq::Result<()> {
    let stop = StopHandle::new();
    let _signals = Signals::new(&stop).install()?;
    while !stop.is_stopped() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(())
}

/// The messages of `send-mix`, in order.
fn mix() -> [Work; 6] {
    [
        Work::Log("first".into()),
        Work::Job {
            id: 1,
            payload: "payload 1".into(),
        },
        Work::Urgent(7),
        Work::Stop,
        Work::Job {
            id: 2,
            payload: "payload 2".into(),
        },
        Work::Urgent(8),
    ]
}

struct Worker<W: Write> {
    out: W,
    stop: StopHandle,
}

impl<W: Write> WorkHandler for Worker<W> {
    fn urgent(&mut self, arg0: u32) {
        writeln!(self.out, "urgent {arg0}").unwrap();
    }

    fn job(&mut self, id: u64, payload: String) {
        assert_eq!(payload, format!("payload {id}"));
        writeln!(self.out, "job {id}").unwrap();
    }

    fn log(&mut self, arg0: String) {
        writeln!(self.out, "log {arg0}").unwrap();
    }

    fn stop(&mut self) {
        writeln!(self.out, "stop").unwrap();
        self.stop.stop();
    }
}
