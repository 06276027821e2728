//! Writing and removing files so that a crash or power cut leaves either the
//! old state or the new one, never half a file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What a failed durable write left behind.
#[derive(Debug)]
pub(crate) struct WriteError {
    /// What was being done, as in "cannot {step}".
    pub(crate) step: String,
    /// Why it failed.
    pub(crate) source: io::Error,
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
    let fail = |step: String| move |source| WriteError { step, source };
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .map_err(fail(format!("create {}", temp.display())))?;
        file.write_all(bytes)
            .map_err(fail(format!("write {}", temp.display())))?;
        file.sync_all()
            .map_err(fail(format!("flush {} to disk (fsync)", temp.display())))?;
        drop(file);
        if stop() {
            return Ok(false);
        }
        if replace {
            fs::rename(&temp, path).map_err(fail(format!(
                "rename {} to {}",
                temp.display(),
                path.display()
            )))?;
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

/// Gives the file at `temp` the name `path`, failing if `path` exists.
fn link_new(temp: &Path, path: &Path) -> Result<(), WriteError> {
    let refused = |source: io::Error| WriteError {
        step: format!("write {}", path.display()),
        source,
    };
    match fs::hard_link(temp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(refused(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the file exists (pass --force to replace it)",
        ))),
        // File systems without hard links (FAT, some network ones): check, then rename.
        Err(_) => {
            if fs::symlink_metadata(path).is_ok() {
                return Err(refused(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "the file exists (pass --force to replace it)",
                )));
            }
            fs::rename(temp, path).map_err(refused)
        }
    }
}

/// Removes `path` and makes the removal durable.
///
/// # Errors
///
/// When the file cannot be removed or the directory not synced.
pub(crate) fn remove_file(path: &Path) -> Result<(), WriteError> {
    fs::remove_file(path).map_err(|source| WriteError {
        step: format!("remove {}", path.display()),
        source,
    })?;
    sync_dir(parent_dir(path))
}

/// fsyncs a directory, so that names created, renamed or removed in it last.
fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| WriteError {
            step: format!("flush directory {} to disk (fsync)", dir.display()),
            source,
        })
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
