//! A pid file that is also the lock that keeps a second instance out.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::error::{Error, Op, Result};

/// A pid file, written atomically and held under an exclusive `flock` for as
/// long as the value lives; dropping it removes the file.
///
/// - A second process that tries to take the same pid file while this one
///   holds it gets [`Error::AlreadyRunning`] naming the running pid.
/// - A file left by a process that died is taken over: its lock died with it.
/// - The pid is written to a temporary file that is locked, synced and then
///   renamed over the path, so a reader never sees a partial pid.
/// - Symbolic links are not followed (`O_NOFOLLOW`), so a link planted at the
///   path cannot make a root daemon overwrite another file; and anything but
///   a regular file at the path (a FIFO, a device, a directory) is refused
///   rather than opened and read, where a FIFO would block the start for
///   ever.
///
/// After a privilege drop, removing the file needs write permission on its
/// directory: keep pid files of such daemons in a directory the daemon's user
/// owns, such as `/run/NAME/`.
///
/// A child forked with the value (a worker the daemon starts without `exec`)
/// shares the lock; when the child drops its copy, or exits, the pid file
/// stays where it is, locked by the process that took it.
///
/// # Examples
///
/// ```
/// use ipcq::service::PidFile;
///
/// let path = std::env::temp_dir().join(format!("ipcq-doc-{}.pid", std::process::id()));
/// let pid_file = PidFile::acquire(&path)?;
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}\n", std::process::id()));
/// assert!(PidFile::acquire(&path).is_err()); // held: even by this very process
/// drop(pid_file);
/// assert!(!path.exists());
/// # Ok::<(), ipcq::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "dropping the pid file removes it and releases its lock at once"]
pub struct PidFile {
    path: PathBuf,
    /// The file now at `path`, under an exclusive `flock`. The lock belongs
    /// to the open file, and lasts until every descriptor of it is closed:
    /// this one, and its copies in forked children. Dropping never unlocks
    /// it explicitly, which would unlock it for those children's parent too.
    file: File,
    /// The process that wrote the file: the one whose drop removes it.
    owner: u32,
}

impl PidFile {
    /// Takes the pid file at `path` for this process.
    ///
    /// A relative `path` is taken from the current directory now, and the pid
    /// file stays there when the process changes directory (as a daemon does
    /// to `/`).
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyRunning`] when another live process holds it;
    /// [`Error::Io`] when the file or its directory cannot be written;
    /// [`Error::Os`] with `ELOOP` when the path is a symbolic link, and with
    /// `EINVAL` when it is something else that is not a regular file.
    pub fn acquire(path: impl AsRef<Path>) -> Result<PidFile> {
        Self::acquire_for(path.as_ref(), std::process::id())
    }

    /// Takes the pid file for `pid` (the daemon's, when a parent prepares it).
    fn acquire_for(path: &Path, pid: u32) -> Result<PidFile> {
        let path = &std::path::absolute(path).map_err(|e| io(path, e))?;
        // Hold the lock of whatever file is at the path now (a stale one, or a
        // new empty one), so that two starters cannot both take over.
        let current = loop {
            let file = open_at(path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::AlreadyRunning {
                        path: path.to_owned(),
                        pid: read_pid(&file),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io(path, e)),
            }
            // Between open and lock the file may have been replaced: then the
            // lock is on a file nobody will look at. Try again.
            if same_file(&file, path) {
                break file;
            }
        };
        let stale = read_pid(&current);
        if let Some(old) = stale.filter(|&old| i64::from(old) != i64::from(pid)) {
            log::info!(
                "taking over the pid file {} left by pid {old}",
                path.display()
            );
        }

        let file = match publish(path, pid) {
            Ok(file) => file,
            Err(e) => {
                // An empty file at the path is the one `open_at` just made
                // (or one as useless): it goes, rather than stay for a
                // reader that expects a pid in it.
                if current.metadata().is_ok_and(|m| m.len() == 0) && same_file(&current, path) {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        };
        drop(current);
        Ok(PidFile {
            path: path.to_owned(),
            file,
            owner: std::process::id(),
        })
    }

    /// The pid file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rewrites the pid, for a daemon whose pid changed after the file was
    /// taken (the double fork). The old file stays locked until the new one,
    /// locked too, has replaced it.
    pub(crate) fn set_pid(&mut self, pid: u32) -> Result<()> {
        self.file = publish(&self.path, pid)?;
        self.owner = std::process::id();
        Ok(())
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // A forked child's copy: the file and its lock stay the owner's (the
        // descriptor closes with the value, and the lock lives on in the
        // owner's).
        if std::process::id() != self.owner {
            return;
        }
        // Only remove the file if it is still ours.
        if same_file(&self.file, &self.path)
            && let Err(e) = std::fs::remove_file(&self.path)
        {
            log::warn!("cannot remove the pid file {}: {e}", self.path.display());
        }
    }
}

/// Opens or creates the regular file at `path`, never through a link.
///
/// Something else at the path is refused before it is opened, since opening
/// a device may do something, and checked again once open, in case it was
/// put there in between: `O_NONBLOCK` keeps a FIFO from blocking that open
/// or the read of the pid after it.
fn open_at(path: &Path) -> Result<File> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => check_regular(path, &meta)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(path, e)),
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW's refusal; the kernel's own words ("too many levels
            // of symbolic links") would not say why.
            Some(libc::ELOOP) => Error::Os {
                op: Op::PidFile,
                errno: nix::errno::Errno::ELOOP,
                detail: format!(
                    "{} is a symbolic link, and a pid file is never written through one \
                     (it could point at any file); remove the link",
                    path.display()
                ),
            },
            _ => io(path, e),
        })?;
    check_regular(path, &file.metadata().map_err(|e| io(path, e))?)?;
    Ok(file)
}

fn check_regular(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    let kind = meta.file_type();
    let what = if kind.is_file() || kind.is_symlink() {
        // A link is O_NOFOLLOW's to refuse, in its own words.
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a device"
    };
    Err(Error::Os {
        op: Op::PidFile,
        errno: Errno::EINVAL,
        detail: format!(
            "{} is {what}, not a regular file, and a pid file is never written into \
             one; remove it",
            path.display()
        ),
    })
}

/// Writes the pid to a locked temporary file and renames it over `path`;
/// returns the locked file now at `path`.
///
/// The caller holds the lock of the file at `path`, so a temporary file of
/// the same name is a leftover of a process with this pid that died before
/// its rename (a daemon that is pid 1 of its container starts with the same
/// pid every time): it is removed first.
fn publish(path: &Path, pid: u32) -> Result<File> {
    let tmp = temp_path(path, pid);
    match std::fs::remove_file(&tmp) {
        Ok(()) => log::info!("removed {}, left by an earlier start", tmp.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&tmp, e)),
    }
    let result = write_locked(&tmp, pid).and_then(|lock| {
        std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
        sync_dir(path);
        Ok(lock)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates `tmp` exclusively, locks it and writes the pid.
fn write_locked(tmp: &Path, pid: u32) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(tmp)
        .map_err(|e| io(tmp, e))?;
    // 0644 whatever the umask (a daemon's is often 027): `status` commands
    // run by other users read the pid.
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(|e| io(tmp, e))?;
    // Nobody else can have opened a file this process just created.
    file.try_lock().map_err(|e| io(tmp, e.into()))?;
    (&file)
        .write_all(format!("{pid}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| io(tmp, e))?;
    Ok(file)
}

fn temp_path(path: &Path, pid: u32) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{pid}.tmp"))
}

/// Whether `file` is the file at `path` (and not a removed or replaced one).
fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The pid in a pid file: a number on the first of at most 64 bytes.
fn read_pid(file: &File) -> Option<i32> {
    let mut text = String::new();
    file.take(64).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// Makes the rename durable; a failure only weakens durability, so it is logged.
fn sync_dir(path: &Path) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        log::debug!("cannot sync {}: {e}", dir.display());
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        op: Op::PidFile,
        path: path.to_owned(),
        source,
    }
}
