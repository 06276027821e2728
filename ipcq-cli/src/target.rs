//! The KEY argument: which queue a command works on, and opening it.

use std::fmt;
use std::path::Path;

use ipcq::{Distrust, Error, Key, MsgQueue, OpenOptions, QueueId};

use crate::failure::{Failure, Outcome};

/// A queue named on the command line: by key or by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A key (`Key::private()` for 0 or `private`, which only `create` and `restore` accept).
    Key(Key),
    /// A queue id, as `ipcs -q` and `ipcq list` show it.
    Id(QueueId),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Key(key) if key.is_private() => f.write_str("private queue"),
            Target::Key(key) => write!(f, "queue {key}"),
            Target::Id(id) => write!(f, "queue id {id}"),
        }
    }
}

impl Target {
    /// The target as reports name it, with the id of the queue it resolved
    /// to: `queue 0x00001234 (id 5)`, but `queue id 5` for an id (and
    /// `private queue id 5`), which says it once.
    pub(crate) fn with_id(self, id: QueueId) -> String {
        match self {
            Target::Key(key) if key.is_private() => format!("private queue id {id}"),
            Target::Key(_) => format!("{self} (id {id})"),
            Target::Id(_) => self.to_string(),
        }
    }
}

/// Parses KEY; the clap value parser of every KEY argument.
///
/// # Errors
///
/// A sentence saying what is wrong with the text, for clap to show.
pub(crate) fn parse_target(text: &str) -> Result<Target, String> {
    let text = text.trim();
    if let Some(id) = text.strip_prefix("id:") {
        return match id.parse::<i32>() {
            Ok(id) if id >= 0 => Ok(Target::Id(QueueId::new(id))),
            _ => Err(format!(
                "`{id}` is not a queue id: id:N takes a number from 0 to {}",
                i32::MAX
            )),
        };
    }
    if let Some(rest) = text.strip_prefix("ftok:") {
        return parse_ftok(rest).map(Target::Key);
    }
    if text.eq_ignore_ascii_case("private") {
        return Ok(Target::Key(Key::private()));
    }
    parse_key_number(text).map(|key| Target::Key(Key::new(key)))
}

/// A key number, as [`Key`]'s `FromStr` takes it: decimal, possibly negative
/// as /proc shows keys, or 0x-hex as ipcs shows them; numbers from 2^31 up are
/// the unsigned spelling of the same 32 bits.
fn parse_key_number(text: &str) -> Result<i32, String> {
    text.parse::<Key>().map(Key::get).map_err(|e| {
        if e.is_out_of_range() {
            e.to_string()
        } else {
            format!(
                "`{text}` is not a key: write a decimal number (3053), a hex number (0xbed), \
                 ftok:PATH:ID or id:N"
            )
        }
    })
}

/// `PATH:ID` of `ftok:PATH:ID`; the path may hold colons, the id follows the last one.
fn parse_ftok(rest: &str) -> Result<Key, String> {
    let Some((path, id)) = rest.rsplit_once(':') else {
        return Err(format!(
            "`ftok:{rest}` lacks a project id: write ftok:PATH:ID, ID a number 1-255 or one character"
        ));
    };
    if path.is_empty() {
        return Err("ftok:PATH:ID needs a path to an existing file".into());
    }
    let project = parse_project_id(id)?;
    Key::ftok(Path::new(path), project).map_err(|e| e.to_string())
}

/// A project id: a number 1-255, or one non-digit ASCII character taken as its
/// byte, as C's `ftok(path, 'q')` and PHP's `ftok($path, "q")` write it.
fn parse_project_id(id: &str) -> Result<u8, String> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        return match id.parse::<u16>() {
            Ok(n @ 1..=255) => Ok(n as u8),
            _ => Err(format!(
                "ftok project id {id} is out of range: it is a number from 1 to 255, or one character"
            )),
        };
    }
    let mut chars = id.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii() && c != '\0' => Ok(c as u8),
        _ => Err(format!(
            "`{id}` is not an ftok project id: write a number from 1 to 255, or one ASCII character"
        )),
    }
}

impl Target {
    /// Opens the existing queue.
    ///
    /// # Errors
    ///
    /// When there is no such queue, and for the private key, which names none.
    pub(crate) fn open(self) -> Outcome<MsgQueue> {
        self.open_trusting(None)
    }

    /// Opens the existing queue; with `trust`, only if the ipcq library's
    /// check passes with that uid trusted (see [`trusting`]).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open), and for a queue the check refuses.
    pub(crate) fn open_trusting(self, trust: Option<u32>) -> Outcome<MsgQueue> {
        match self {
            Target::Key(key) if key.is_private() => Err(Failure::new(
                "key 0 (IPC_PRIVATE) names no queue: reach a private queue by its id, as id:N",
            )),
            Target::Key(key) => trusting(trust).open(key).map_err(refused),
            Target::Id(id) => trusting(trust).open_id(id).map_err(refused),
        }
    }

    /// Creates the queue as `options` say, or opens it if it exists; true when
    /// this call created it. `options` must not ask for `create_new` itself.
    ///
    /// # Errors
    ///
    /// For `id:N`, which cannot be created, and as [`OpenOptions::open`].
    pub(crate) fn create_or_open(
        self,
        options: &OpenOptions,
        exclusive: bool,
        trust: Option<u32>,
    ) -> Outcome<(MsgQueue, bool)> {
        let key = match self {
            Target::Key(key) => key,
            Target::Id(id) => {
                if exclusive {
                    return Err(Failure::new(format!(
                        "cannot create queue id {id}: the kernel picks ids; create by key"
                    )));
                }
                return Ok((self.open_trusting(trust)?, false));
            }
        };
        // Creating exclusively first tells whether the mode and capacity were applied.
        match options.clone().create_new(true).open(key) {
            Ok(queue) => Ok((queue, true)),
            Err(Error::AlreadyExists { .. }) if !exclusive => {
                Ok((trusting(trust).open(key).map_err(refused)?, false))
            }
            Err(err) => Err(err.into()),
        }
    }
}

/// The failure for an open: a queue refused under `--trust` is explained in
/// the command's terms rather than the library's.
fn refused(error: Error) -> Failure {
    match error {
        Error::Untrusted { key, reason, .. } => {
            let advice = match reason {
                // No --trust takes a queue refused for its mode, or one whose
                // owner cannot be read: naming a user would not help.
                Distrust::WorldWritable { .. } => {
                    ", so anyone can put any message in it; have whoever creates it give a mode \
                     without write permission for others (0600, 0660), or"
                }
                Distrust::Unverifiable => ";",
                _ => "; pass --trust for that user if you trust them, or",
            };
            Failure::new(format!(
                "refusing queue {key} under --trust: {reason}{advice} leave --trust out to act \
                 on any queue"
            ))
        }
        other => other.into(),
    }
}

/// Options that open an existing queue: by default whoever owns it.
///
/// ipcq refuses by default to open a queue that another user controls, since
/// its owner decides who may put messages in it. This tool acts on the queue
/// its user names, as ipcs and ipcrm do; the kernel's own permission checks
/// still apply, and bodies are printed escaped, so a foreign queue cannot drive
/// the terminal.
///
/// With `trust` (`--trust USER`), the library's own check instead: a queue
/// that a user other than this one, root or `trust` owns or created, or that
/// every user may write to, is refused. Scripts that move messages on a
/// daemon's behalf use it, so that they neither fill a queue a squatter
/// controls nor carry that user's messages into the daemon's next queue.
fn trusting(trust: Option<u32>) -> OpenOptions {
    let mut options = OpenOptions::new();
    match trust {
        Some(uid) => options.trust_owner(uid),
        None => options.allow_foreign(true),
    };
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> i32 {
        match parse_target(text) {
            Ok(Target::Key(key)) => key.get(),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn reads_decimal_and_hex_keys() {
        assert_eq!(key("3053"), 3053);
        assert_eq!(key("0xbed"), 0xbed);
        assert_eq!(key("0XBED"), 0xbed);
        assert_eq!(key("-1"), -1);
        assert_eq!(key("4294967295"), -1);
        assert_eq!(key("0xffffffff"), -1);
        assert_eq!(key("0x80000000"), i32::MIN);
        assert_eq!(key("0"), 0);
        assert_eq!(key("private"), 0);
    }

    #[test]
    fn reads_ids() {
        assert_eq!(parse_target("id:42"), Ok(Target::Id(QueueId::new(42))));
        assert!(parse_target("id:-1").is_err());
        assert!(parse_target("id:").is_err());
    }

    #[test]
    fn refuses_what_is_no_key() {
        for bad in [
            "",
            "abc",
            "0x",
            "0x123456789",
            "4294967296",
            "-2147483649",
            "+5",
            "0x+5",
            "1.5",
        ] {
            let err = parse_target(bad).unwrap_err();
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn derives_ftok_keys() {
        let expected = Key::ftok("/", b'q').unwrap().get();
        assert_eq!(key("ftok:/:q"), expected);
        assert_eq!(key("ftok:/:113"), expected);
        assert!(parse_target("ftok:/:0").unwrap_err().contains("1 to 255"));
        assert!(parse_target("ftok:/:256").is_err());
        assert!(parse_target("ftok:/:qq").is_err());
        assert!(parse_target("ftok:/").is_err());
        assert!(parse_target("ftok::q").is_err());
        let missing = parse_target("ftok:/no/such/file:q").unwrap_err();
        assert!(missing.contains("does not exist"), "{missing}");
    }

    #[test]
    fn ftok_paths_may_hold_colons() {
        assert_eq!(parse_project_id("7"), Ok(7));
        assert!(
            parse_ftok("/no:such:file:7")
                .unwrap_err()
                .contains("/no:such:file")
        );
    }
}
