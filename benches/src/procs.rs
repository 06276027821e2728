//! The other process: the benchmark binary started again with `--child`.
//!
//! The child opens its end of the connection, prints `ready`, waits for `go`
//! on its stdin, does its part, and prints `done …`. The parent's clock runs
//! from the moment it writes `go`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::endpoints::{Endpoint, Recv, Res, Transport, open_child};
use crate::raw;

/// What a child process does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Sends COUNT payloads up.
    Produce,
    /// Receives COUNT payloads down and sends each back up.
    Echo,
    /// Receives payloads until a stop, then reports how many and their sum.
    Consume,
}

impl Role {
    fn id(self) -> &'static str {
        match self {
            Role::Produce => "produce",
            Role::Echo => "echo",
            Role::Consume => "consume",
        }
    }

    fn from_id(id: &str) -> Option<Role> {
        [Role::Produce, Role::Echo, Role::Consume]
            .into_iter()
            .find(|r| r.id() == id)
    }

    fn recv(self) -> Recv {
        match self {
            Role::Echo => Recv::Own,
            Role::Produce | Role::Consume => Recv::Any,
        }
    }
}

/// A running child process.
pub(crate) struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    /// Starts a child that plays `role` on the connection named by `ticket`.
    pub(crate) fn spawn(
        role: Role,
        transport: Transport,
        size: usize,
        ticket: &str,
        count: u64,
    ) -> Res<Peer> {
        Peer::spawn_with(&[
            "--child".to_owned(),
            role.id().to_owned(),
            transport.id().to_owned(),
            size.to_string(),
            ticket.to_owned(),
            count.to_string(),
        ])
    }

    /// Starts this binary again with `args`, talking to it over its stdin
    /// and stdout.
    pub(crate) fn spawn_with(args: &[String]) -> Res<Peer> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Ok(Peer {
            child,
            stdin,
            stdout,
        })
    }

    /// Reads the child's next line, which must start with `word`; the rest of it.
    pub(crate) fn expect(&mut self, word: &str) -> Res<String> {
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        match line.trim_end().strip_prefix(word) {
            Some(rest) => Ok(rest.trim().to_owned()),
            None if line.is_empty() => Err(format!(
                "the child exited ({}) instead of saying {word:?}",
                self.child.wait()?
            )
            .into()),
            None => Err(format!("the child said {line:?}, not {word:?}").into()),
        }
    }

    /// Tells the child to start (or, in an interleaved run, to send its next block).
    pub(crate) fn go(&mut self) -> Res<()> {
        self.stdin.write_all(b"go\n")?;
        Ok(self.stdin.flush()?)
    }

    /// Waits for the child to exit, which it must do successfully.
    pub(crate) fn finish(mut self) -> Res<()> {
        let status = self.child.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the child failed: {status}").into())
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Only a child that is still running after a failure is killed.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits for the parent's `go` on stdin.
pub(crate) fn await_go() -> Res<()> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() != "go" {
        return Err(format!("expected go, got {line:?}").into());
    }
    Ok(())
}

/// The child's side: `--child ROLE TRANSPORT SIZE TICKET COUNT`, or
/// `--child interleave …` (`interleave::child_main`).
pub(crate) fn child_main(args: &[String]) -> Res<()> {
    raw::die_with_parent();
    if let Some(("interleave", rest)) = args.split_first().map(|(a, r)| (a.as_str(), r)) {
        return crate::interleave::child_main(rest);
    }
    let [role, transport, size, ticket, count] = args else {
        return Err(format!("bad child arguments {args:?}").into());
    };
    let role = Role::from_id(role).ok_or("unknown role")?;
    let transport = Transport::from_id(transport).ok_or("unknown transport")?;
    let count: u64 = count.parse()?;
    let mut ep = match size.as_str() {
        "16" => open_child::<16>(transport, ticket, role.recv())?,
        "256" => open_child::<256>(transport, ticket, role.recv())?,
        "4096" => open_child::<4096>(transport, ticket, role.recv())?,
        other => return Err(format!("unsupported size {other}").into()),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    await_go()?;
    let report = run_role(role, ep.as_mut(), count)?;
    writeln!(out, "done {report}")?;
    out.flush()?;
    Ok(())
}

fn run_role(role: Role, ep: &mut dyn Endpoint, count: u64) -> Res<String> {
    match role {
        Role::Produce => {
            let waits_before = crate::scenarios::thread_waits()?;
            ep.send_many(0, count)?;
            Ok((crate::scenarios::thread_waits()? - waits_before).to_string())
        }
        Role::Echo => {
            for _ in 0..count {
                let byte = ep.recv()?.ok_or("a stop in a ping-pong")?;
                ep.send(u64::from(byte))?;
            }
            Ok(String::new())
        }
        Role::Consume => {
            let (mut n, mut sum) = (0u64, 0u64);
            while let Some(byte) = ep.recv()? {
                n += 1;
                sum += u64::from(byte);
            }
            Ok(format!("{n} {sum}"))
        }
    }
}
