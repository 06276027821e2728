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
