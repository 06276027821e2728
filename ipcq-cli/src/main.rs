//! `ipcq`: inspect and use System V message queues from the command line.
//!
//! This file parses the command line, runs the subcommand and turns a failure
//! into one line on stderr and an exit status; `cli` defines the command line
//! and `cmd` holds one module per subcommand.

mod cli;
mod cmd;
mod dumpfile;
mod durable;
mod failure;
mod format;
mod signals;
mod target;
mod values;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

use crate::failure::{EXIT_OK, EXIT_USAGE};

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    match cmd::run(cli.command) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(failure) => {
            eprintln!("ipcq: {failure}");
            ExitCode::from(failure.code())
        }
    }
}

/// Prints help and version as clap does, and any other command-line error as
/// one `ipcq: ` line naming the --help to read.
fn usage_error(err: &clap::Error) -> ExitCode {
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            return ExitCode::from(err.exit_code().clamp(0, 255) as u8);
        }
        _ => {}
    }
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    eprintln!("ipcq: {}", one_line(&err.render().to_string(), &args));
    ExitCode::from(EXIT_USAGE)
}

/// clap's error as one line: its first paragraph without the `error: `
/// prefix, and a pointer to the help of the subcommand `args` name, if any.
fn one_line(rendered: &str, args: &[String]) -> String {
    let message: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty())
        .collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    // Every option of ipcq comes after its subcommand, so the first word that
    // is not an option is the subcommand, if it is one.
    let command = cli::Cli::command();
    let help = match args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|word| command.find_subcommand(word))
    {
        Some(sub) => format!("ipcq {} --help", sub.get_name()),
        None => "ipcq --help".to_owned(),
    };
    format!("{message} (see '{help}')")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_clap_errors_into_one_line() {
        let args = ["ipcq", "recv", "not-a-key"].map(String::from);
        let err = cli::Cli::try_parse_from(&args).unwrap_err();
        let line = one_line(&err.render().to_string(), &args);
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.starts_with("invalid value 'not-a-key' for '<KEY>'"),
            "{line}"
        );
        assert!(line.ends_with("(see 'ipcq recv --help')"), "{line}");
        let args = ["ipcq", "send", "5"].map(String::from);
        let err = cli::Cli::try_parse_from(&args).unwrap_err();
        let line = one_line(&err.render().to_string(), &args);
        assert!(line.contains("--type <N>"), "{line}");
        let args = ["ipcq", "--bogus"].map(String::from);
        let err = cli::Cli::try_parse_from(&args).unwrap_err();
        let line = one_line(&err.render().to_string(), &args);
        assert!(line.ends_with("(see 'ipcq --help')"), "{line}");
    }

    #[test]
    fn the_command_line_is_consistent() {
        cli::Cli::command().debug_assert();
    }
}
