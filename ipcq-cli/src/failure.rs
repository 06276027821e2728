//! How a command fails: one line for stderr and the exit status.

use std::fmt;

/// The exit status of a command that did what it was asked.
pub(crate) const EXIT_OK: u8 = 0;
/// Something went wrong; the message says what.
pub(crate) const EXIT_ERROR: u8 = 1;
/// The command line itself was wrong (clap's own status for usage errors).
pub(crate) const EXIT_USAGE: u8 = 2;
/// A call that was not allowed to wait (`--nowait`, `--timeout`) found nothing
/// to receive, or no room to send: not broken, just nothing to do now. Scripts
/// polling a queue tell this apart from real failures.
pub(crate) const EXIT_NOTHING: u8 = 3;
/// 128 + SIGINT, as a shell reports a command that Ctrl-C stopped.
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// A failed command: what to print after `ipcq: ` and the status to exit with.
#[derive(Debug)]
pub(crate) struct Failure {
    message: String,
    code: u8,
}

/// The result of a command.
pub(crate) type Outcome<T = ()> = Result<T, Failure>;

impl Failure {
    /// A plain error (status 1).
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Failure::with_code(EXIT_ERROR, message)
    }

    /// A failure with its own exit status.
    pub(crate) fn with_code(code: u8, message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code,
        }
    }

    /// The exit status.
    pub(crate) fn code(&self) -> u8 {
        self.code
    }

    /// Adds `text` at the end of the message.
    pub(crate) fn followed_by(mut self, text: impl fmt::Display) -> Self {
        self.message = format!("{}{text}", self.message);
        self
    }

    /// Puts `context` in front of the message: `context: message`.
    pub(crate) fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Failure {
    /// The message on one line, whatever the text it was made of held.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for line in self
            .message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(line)?;
            first = false;
        }
        Ok(())
    }
}

/// The exit status that fits an error of the library.
pub(crate) fn exit_code(err: &ipcq::Error) -> u8 {
    match err {
        ipcq::Error::WouldBlock { .. } | ipcq::Error::TimedOut { .. } => EXIT_NOTHING,
        ipcq::Error::Stopped { .. } => EXIT_INTERRUPTED,
        _ => EXIT_ERROR,
    }
}

impl From<ipcq::Error> for Failure {
    fn from(err: ipcq::Error) -> Self {
        Failure::with_code(exit_code(&err), err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_on_one_line() {
        let failure = Failure::new("first\n  second\n\nthird").context("dump");
        assert_eq!(failure.to_string(), "dump: first second third");
        assert_eq!(failure.code(), EXIT_ERROR);
    }
}
