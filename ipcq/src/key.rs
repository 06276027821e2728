//! Queue keys and queue ids.

use std::ffi::CString;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Error, Op};
use crate::sys;

/// The key that names a System V message queue on this host.
///
/// Processes that agree on a key share a queue. A key is usually a fixed
/// number, or derived from a file with [`Key::ftok`]. [`Key::private`] asks for
/// a new queue that no other key names, reachable only through its id.
///
/// # Examples
///
/// ```
/// use ipcq::Key;
///
/// let key = Key::new(0x5150);
/// assert_eq!(key.get(), 0x5150);
/// assert_eq!(key.to_string(), "0x00005150");
/// assert!(Key::private().is_private());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(libc::key_t);

impl Key {
    /// A key from its number, as PHP's `msg_get_queue(3053)` or C's `msgget(3053, …)` name it.
    pub const fn new(key: i32) -> Self {
        Key(key)
    }

    /// A key from its 32 bits, as `ipcs` shows them in hex: `0xdeadbeef`,
    /// which as an `i32` literal for [`new`](Self::new) would overflow.
    ///
    /// ```
    /// use ipcq::Key;
    ///
    /// let key = Key::from_u32(0xdead_beef);
    /// assert_eq!(key.to_string(), "0xdeadbeef");
    /// assert_eq!(key, "0xdeadbeef".parse()?);
    /// assert_eq!(key.get(), 0xdead_beef_u32 as i32);
    /// # Ok::<(), ipcq::ParseKeyError>(())
    /// ```
    pub const fn from_u32(bits: u32) -> Self {
        Key(bits as i32)
    }

    /// `IPC_PRIVATE`: every open with this key creates a new queue that has no key.
    pub const fn private() -> Self {
        Key(libc::IPC_PRIVATE)
    }

    /// Derives a key from an existing file and a project id, as `ftok(3)` does.
    ///
    /// The key comes from the file's inode and device numbers, so programs that
    /// agree on a path find the same queue without agreeing on a number. The file
    /// must exist; deleting and re-creating it changes the key.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the path does not exist, and
    /// [`Error::InvalidArgument`] when it contains a NUL byte or `project_id` is 0
    /// (`ftok` only uses the low 8 bits and a 0 is reserved).
    ///
    /// # Examples
    ///
    /// ```
    /// use ipcq::Key;
    ///
    /// let a = Key::ftok("/", b'q')?;
    /// assert_eq!(a, Key::ftok("/", b'q')?);
    /// assert!(Key::ftok("/no/such/file", b'q').unwrap_err().is_not_found());
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn ftok(path: impl AsRef<Path>, project_id: u8) -> Result<Self, Error> {
        let path = path.as_ref();
        if project_id == 0 {
            return Err(Error::invalid(
                Op::Ftok,
                "the ftok project id must not be 0",
            ));
        }
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::invalid(Op::Ftok, "the path contains a NUL byte"))?;
        match sys::ftok(&c_path, project_id) {
            Ok(key) => Ok(Key(key)),
            Err(errno) => Err(Error::from_ftok(errno, path)),
        }
    }

    /// The key's number.
    pub const fn get(self) -> i32 {
        self.0
    }

    /// Whether this is [`Key::private`].
    pub const fn is_private(self) -> bool {
        self.0 == libc::IPC_PRIVATE
    }
}

impl From<i32> for Key {
    fn from(key: i32) -> Self {
        Key(key)
    }
}

impl fmt::Display for Key {
    /// Formats as `ipcs -q` shows keys: `0x` and eight hex digits, or `IPC_PRIVATE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_private() {
            f.write_str("IPC_PRIVATE")
        } else {
            write!(f, "{:#010x}", self.0)
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

/// Parses a key as `ipcs -q`, `/proc/sysvipc/msg`, C programs and [`Key`]'s
/// `Display` write it: a decimal number, possibly negative (`3053`, `-1`),
/// `0x` and up to eight hex digits (`0x00000bed`), or `IPC_PRIVATE`. Numbers
/// from 2^31 to 2^32 - 1 are the unsigned spelling of the same 32 bits, so
/// `4294967295`, `-1` and `0xffffffff` are one key.
///
/// # Examples
///
/// ```
/// use ipcq::Key;
///
/// assert_eq!("3053".parse(), Ok(Key::new(3053)));
/// assert_eq!("0xbed".parse(), Ok(Key::new(3053)));
/// assert_eq!("0xffffffff".parse(), Ok(Key::new(-1)));
/// let key = Key::new(0x5150);
/// assert_eq!(key.to_string().parse(), Ok(key));
/// assert!("ten".parse::<Key>().is_err());
/// assert!("4294967296".parse::<Key>().unwrap_err().is_out_of_range());
/// ```
impl std::str::FromStr for Key {
    type Err = ParseKeyError;

    fn from_str(text: &str) -> Result<Self, ParseKeyError> {
        let error = |out_of_range| ParseKeyError {
            text: text.to_owned(),
            out_of_range,
        };
        if text == "IPC_PRIVATE" {
            return Ok(Key::private());
        }
        // from_str_radix and parse take a leading '+', which no tool writes.
        let value: i64 = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(digits) if digits.is_empty() || digits.starts_with('+') => {
                return Err(error(false));
            }
            Some(digits) if digits.len() > 8 => {
                let hex = digits.bytes().all(|b| b.is_ascii_hexdigit());
                return Err(error(hex));
            }
            Some(digits) => i64::from(u32::from_str_radix(digits, 16).map_err(|_| error(false))?),
            None if text.starts_with('+') => return Err(error(false)),
            None => text.parse::<i64>().map_err(|e| {
                error(matches!(
                    e.kind(),
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
                ))
            })?,
        };
        match (i32::try_from(value), u32::try_from(value)) {
            (Ok(key), _) => Ok(Key(key)),
            (_, Ok(unsigned)) => Ok(Key(i32::from_ne_bytes(unsigned.to_ne_bytes()))),
            _ => Err(error(true)),
        }
    }
}

/// A text that is not a [`Key`] (see its `FromStr`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.sentence())]
pub struct ParseKeyError {
    text: String,
    out_of_range: bool,
}

impl ParseKeyError {
    /// Whether the text is a number, but not one of 32 bits.
    pub fn is_out_of_range(&self) -> bool {
        self.out_of_range
    }

    fn sentence(&self) -> String {
        let text = &self.text;
        if self.out_of_range {
            format!(
                "`{text}` is out of range: a key is 32 bits, from {} to {}",
                i32::MIN,
                u32::MAX
            )
        } else {
            format!(
                "`{text}` is not a key: write a decimal number (3053), 0x and hex digits \
                 (0xbed), or IPC_PRIVATE"
            )
        }
    }
}

/// The kernel's id of one queue (`msqid`), as `ipcs -q` lists it.
///
/// Unlike a key, an id names one queue instance: once the queue is removed the
/// id is dead, even if a new queue is created under the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(pub(crate) libc::c_int);

impl QueueId {
    /// An id from its number, for [`MsgQueue::open_id`](crate::MsgQueue::open_id).
    pub const fn new(id: i32) -> Self {
        QueueId(id)
    }

    /// The id's number.
    pub const fn get(self) -> i32 {
        self.0
    }
}

impl std::str::FromStr for QueueId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(QueueId)
    }
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What `ftok` failing means in words; kept here beside the only caller.
impl Error {
    fn from_ftok(errno: Errno, path: &Path) -> Error {
        match errno {
            Errno::ENOENT | Errno::ENOTDIR => Error::NotFound {
                op: Op::Ftok,
                errno,
                what: format!("the file {} does not exist", path.display()),
            },
            _ => Error::Os {
                op: Op::Ftok,
                errno,
                detail: format!("cannot stat {}", path.display()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_in_every_spelling_the_tools_write() {
        let parse = |text: &str| text.parse::<Key>().map(Key::get);
        assert_eq!(parse("3053"), Ok(3053));
        assert_eq!(parse("-1"), Ok(-1));
        assert_eq!(parse("4294967295"), Ok(-1));
        assert_eq!(parse("2147483648"), Ok(i32::MIN));
        assert_eq!(parse("-2147483648"), Ok(i32::MIN));
        assert_eq!(parse("0xbed"), Ok(0xbed));
        assert_eq!(parse("0XBED"), Ok(0xbed));
        assert_eq!(parse("0xffffffff"), Ok(-1));
        assert_eq!(parse("0x00000000"), Ok(0));
        assert_eq!(parse("IPC_PRIVATE"), Ok(libc::IPC_PRIVATE));
        for key in [
            Key::new(0x5150),
            Key::new(-7),
            Key::new(i32::MIN),
            Key::private(),
        ] {
            assert_eq!(key.to_string().parse(), Ok(key), "{key}");
        }
    }

    #[test]
    fn what_is_not_a_key_says_why() {
        for text in [
            "",
            "ten",
            "+1",
            "0x",
            "0x+1",
            "0xzz",
            " 1",
            "1.0",
            "ipc_private",
        ] {
            let e = text.parse::<Key>().unwrap_err();
            assert!(!e.is_out_of_range(), "{text:?}");
            assert!(e.to_string().contains("is not a key"), "{e}");
        }
        for text in [
            "4294967296",
            "-2147483649",
            "0x100000000",
            "99999999999999999999",
        ] {
            let e = text.parse::<Key>().unwrap_err();
            assert!(e.is_out_of_range(), "{text:?}");
            assert!(e.to_string().contains("a key is 32 bits"), "{e}");
        }
    }
}
