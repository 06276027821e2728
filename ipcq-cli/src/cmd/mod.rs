//! The subcommands, one module each.

mod create;
mod dump;
mod list;
mod peek;
mod recv;
mod restore;
mod rm;
mod send;
mod show;
mod stat;
mod watch;

use std::io::{self, Write};

use ipcq::service::Credentials;

use crate::cli::Command;
use crate::failure::{Failure, Outcome};

/// Runs one subcommand.
pub(crate) fn run(command: Command) -> Outcome {
    match command {
        Command::List(args) => list::run(&args),
        Command::Stat(args) => stat::run(&args),
        Command::Create(args) => create::run(&args),
        Command::Rm(args) => rm::run(&args),
        Command::Send(args) => send::run(&args),
        Command::Recv(args) => recv::run(&args),
        Command::Peek(args) => peek::run(&args),
        Command::Watch(args) => watch::run(&args),
        Command::Dump(args) => dump::run(&args),
        Command::Restore(args) => restore::run(&args),
        Command::Show(args) => show::run(&args),
    }
}

/// Writes the report of a command that has done its work (created, removed,
/// dumped, restored): as [`print_report`], except that a failure to write
/// it is told on standard error and is not a failure of the command, whose
/// work is done. A script that took exit status 1 for "not done" would try
/// again, on a queue or a file that has changed.
pub(crate) fn report_done(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Outcome {
    if let Err(failure) = print_report(write) {
        eprintln!("ipcq: done, but {failure}");
    }
    Ok(())
}

/// Writes a report to standard output with `write`, flushed.
///
/// A reader that went away (`ipcq list | head -1`) is not an error worth a
/// message: it asked for no more. Other write errors are.
pub(crate) fn print_report(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Outcome {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}

/// Which of the settings for a queue a command creates were given: they are
/// not applied to a queue that exists, and the report says which.
pub(crate) fn settings_given(
    mode: Option<u32>,
    capacity: Option<u64>,
    owner: Option<Credentials>,
) -> Vec<&'static str> {
    [
        ("mode", mode.is_some()),
        ("capacity", capacity.is_some()),
        ("owner", owner.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect()
}
