//! Writing and removing files so that a crash or power cut leaves either the
//! old state or the new one, never half a file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What a failed durable write left behind.
#[derive(Debug)]
pub(crate) struct WriteError {
    /// What was being done, as in "cannot {step}".
    pub(crate) step: String,
    /// Why it failed.
    pub(crate) source: io::Error,
}

impl WriteError {
    /// The error of a failed `step`, for `map_err`.
    fn at(step: String) -> impl FnOnce(io::Error) -> WriteError {
        move |source| WriteError { step, source }
    }
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot {}: {}", self.step, self.source)
    }
}

/// The directory a path is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The temporary file next to `path`: same directory, so the rename is atomic.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dump".into());
    parent_dir(path).join(format!(".{name}.ipcq-{}.tmp", std::process::id()))
}

/// Writes `bytes` to `path` durably: to a temporary file in the same directory
/// (mode 0600, as the messages may be private), fsynced, renamed over `path`,
/// and the directory fsynced so that the rename itself survives a power cut.
///
/// With `replace` false an existing `path` is an error and is left alone; the
/// check and the move are one step (a hard link), so a file that appears
/// meanwhile is not overwritten either.
///
/// # Errors
///
/// When a step fails; the temporary file is removed then, and `path` is as before.
pub(crate) fn write_file(path: &Path, bytes: &[u8], replace: bool) -> Result<(), WriteError> {
    write_file_unless(path, bytes, replace, || false).map(drop)
}

/// As [`write_file`], asking `stop` once the data is on disk and before
/// `path` is touched: if it says to stop, the temporary file is removed,
/// `path` is as before, and the result is `Ok(false)`.
///
/// # Errors
///
/// As [`write_file`].
pub(crate) fn write_file_unless(
    path: &Path,
    bytes: &[u8],
    replace: bool,
    stop: impl FnOnce() -> bool,
) -> Result<bool, WriteError> {
    let temp = temp_path(path);
    let result = (|| {
        write_temp(&temp, bytes, |_| Ok(()))?;
        if stop() {
            return Ok(false);
        }
        if replace {
            rename(&temp, path)?;
        } else {
            link_new(&temp, path)?;
            // The data is in place under its own name; the temporary name can go.
            let _ = fs::remove_file(&temp);
        }
        sync_dir(parent_dir(path)).map(|()| true)
    })();
    if !matches!(result, Ok(true)) {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Which file a path named when it was read: enough to tell, later, that the
/// path still names that file, unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
    mode: u32,
    uid: u32,
    gid: u32,
}

impl Identity {
    /// The regular file at `path` (not followed through a symbolic link), if
    /// it is one.
    pub(crate) fn of(path: &Path) -> Option<Identity> {
        let meta = fs::symlink_metadata(path).ok()?;
        meta.file_type().is_file().then(|| Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
        })
    }

    /// Whether `path` still names this file, unchanged.
    pub(crate) fn still_at(&self, path: &Path) -> bool {
        Identity::of(path).as_ref() == Some(self)
    }
}

/// How [`replace_same`] went.
pub(crate) enum Replaced {
    /// `path` holds the new contents, durably.
    Done,
    /// `path` holds the new contents, but its directory could not be synced:
    /// a power cut may bring back the old file.
    NotSynced(WriteError),
    /// `path` no longer names the file `identity` describes (replaced,
    /// removed, changed): it was left alone.
    Changed,
    /// Nothing was changed: a step before the rename failed.
    Failed(WriteError),
}

/// Replaces the file at `path` with `bytes` as [`write_file`] does, but only
/// if `path` still names the file `identity` describes, and keeping its mode
/// and (as far as this process may) its owner.
pub(crate) fn replace_same(path: &Path, identity: &Identity, bytes: &[u8]) -> Replaced {
    if !identity.still_at(path) {
        return Replaced::Changed;
    }
    let temp = temp_path(path);
    let written = (|| {
        write_temp(&temp, bytes, |file| {
            // Another owner is kept only by a process that may give files
            // away; the mode is kept in any case, once the owner is settled.
            let _ = std::os::unix::fs::fchown(file, Some(identity.uid), Some(identity.gid));
            file.set_permissions(fs::Permissions::from_mode(identity.mode))
                .map_err(WriteError::at(format!(
                    "set the mode of {}",
                    temp.display()
                )))
        })?;
        // Checked again as late as possible: a file put at `path` meanwhile
        // is not overwritten (a window of one rename remains).
        if !identity.still_at(path) {
            return Ok(false);
        }
        rename(&temp, path)?;
        Ok(true)
    })();
    match written {
        Ok(true) => match sync_dir(parent_dir(path)) {
            Ok(()) => Replaced::Done,
            Err(e) => Replaced::NotSynced(e),
        },
        Ok(false) => {
            let _ = fs::remove_file(&temp);
            Replaced::Changed
        }
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Replaced::Failed(e)
        }
    }
}

/// Creates `temp` (mode 0600, and then as `prepare` sets it up), writes
/// `bytes` to it and flushes it to disk.
fn write_temp(
    temp: &Path,
    bytes: &[u8],
    prepare: impl FnOnce(&File) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(temp)
        .map_err(WriteError::at(format!("create {}", temp.display())))?;
    prepare(&file)?;
    file.write_all(bytes)
        .map_err(WriteError::at(format!("write {}", temp.display())))?;
    file.sync_all().map_err(WriteError::at(format!(
        "flush {} to disk (fsync)",
        temp.display()
    )))
}

/// Gives the file at `temp` the name `path`, replacing any file there.
fn rename(temp: &Path, path: &Path) -> Result<(), WriteError> {
    fs::rename(temp, path).map_err(WriteError::at(format!(
        "rename {} to {}",
        temp.display(),
        path.display()
    )))
}

/// Gives the file at `temp` the name `path`, failing if `path` exists.
fn link_new(temp: &Path, path: &Path) -> Result<(), WriteError> {
    let refused = |source: io::Error| WriteError {
        step: format!("write {}", path.display()),
        source,
    };
    match fs::hard_link(temp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(refused(exists(path))),
        // File systems without hard links (FAT, some network ones): check, then rename.
        Err(_) => {
            if fs::symlink_metadata(path).is_ok() {
                return Err(refused(exists(path)));
            }
            fs::rename(temp, path).map_err(refused)
        }
    }
}

/// Why `path`, which exists, is not replaced: `--force` replaces a file, but
/// not a directory.
fn exists(path: &Path) -> io::Error {
    let why = if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        "it is a directory: name a file in it"
    } else {
        "the file exists (pass --force to replace it)"
    };
    io::Error::new(io::ErrorKind::AlreadyExists, why)
}

/// Removes `path` and makes the removal durable.
///
/// # Errors
///
/// When the file cannot be removed or the directory not synced.
pub(crate) fn remove_file(path: &Path) -> Result<(), WriteError> {
    fs::remove_file(path).map_err(WriteError::at(format!("remove {}", path.display())))?;
    sync_dir(parent_dir(path))
}

/// fsyncs a directory, so that names created, renamed or removed in it last.
fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(WriteError::at(format!(
            "flush directory {} to disk (fsync)",
            dir.display()
        )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ipcq-durable-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_replaces_and_refuses_to_replace() {
        let dir = scratch("write");
        let path = dir.join("out.dump");
        write_file(&path, b"one", false).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        let err = write_file(&path, b"two", false).unwrap_err();
        assert_eq!(err.source.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write_file(&path, b"three", true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"three");
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        remove_file(&path).unwrap();
        assert!(!path.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stop_before_the_rename_leaves_the_old_file_and_no_temporary_one() {
        let dir = scratch("stop");
        let path = dir.join("out.dump");
        write_file(&path, b"old", false).unwrap();
        assert!(!write_file_unless(&path, b"new", true, || true).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        assert!(write_file_unless(&path, b"new", true, || false).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }
}
