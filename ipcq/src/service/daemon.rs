//! Becoming a daemon: detached from the terminal, with a pid file, as an
//! unprivileged user.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{Mode, umask};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, chdir, dup2_stderr, dup2_stdin, dup2_stdout, pipe2, setsid};

use super::pidfile::PidFile;
use super::privileges::{Credentials, drop_privileges};
use crate::error::{Error, Op, Result};
use crate::sys;

/// How to run as a service; [`start`](Daemon::start) does it.
///
/// In the background (the default), `start` detaches the way a SysV init
/// script expects: fork, `setsid`, fork again so that the daemon can never
/// reacquire a terminal, `chdir /`, set the umask, and point stdin, stdout and
/// stderr at `/dev/null`. The original process waits until the daemon is set
/// up, then exits with status 0; if setting up fails, `start` returns the
/// error in the original process instead, so the person starting it sees why.
/// [`start_with`](Daemon::start_with) counts the service's own set-up (its
/// queue opened, its signals installed) in that, so that an init script's
/// `start` fails when the service could not get going, and a client run just
/// after it finds the queue there.
///
/// In the [`foreground`](Daemon::foreground), for systemd (`Type=simple`) and
/// containers, nothing is forked and stdio is left alone; the pid file and
/// the privilege drop work as in the background.
///
/// Either way the pid file is taken before anything else, so a second start
/// fails at once with [`Error::AlreadyRunning`], and privileges are dropped
/// last, after the pid file is written.
#[derive(Clone, Debug)]
#[must_use = "a Daemon does nothing until `start` is called"]
pub struct Daemon {
    pid_file: Option<PathBuf>,
    user: Option<String>,
    group: Option<String>,
    foreground: bool,
    working_dir: PathBuf,
    umask: u32,
}

impl Default for Daemon {
    fn default() -> Self {
        Daemon::new()
    }
}

impl Daemon {
    /// A background daemon without a pid file that keeps its user.
    pub fn new() -> Self {
        Daemon {
            pid_file: None,
            user: None,
            group: None,
            foreground: false,
            working_dir: PathBuf::from("/"),
            umask: 0o027,
        }
    }

    /// Writes and locks a pid file (see [`PidFile`]).
    pub fn pid_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pid_file = Some(path.into());
        self
    }

    /// Runs as this user, a name or a numeric uid, once set up, with its
    /// supplementary groups from the group database (see
    /// [`drop_privileges`]). A uid that the user database does not know has
    /// no primary group: give [`group`](Self::group) too, or the start fails.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Runs with this group, a name or a numeric gid (default: the user's
    /// primary group).
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Stays in the foreground: no fork, stdio kept.
    pub fn foreground(mut self, foreground: bool) -> Self {
        self.foreground = foreground;
        self
    }

    /// The directory a background daemon changes to (default `/`, so that it
    /// keeps no file system busy).
    pub fn working_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.working_dir = dir.into();
        self
    }

    /// The umask of a background daemon (default `0o027`).
    pub fn umask(mut self, umask: u32) -> Self {
        self.umask = umask & 0o777;
        self
    }

    /// Becomes the service. Returns in the daemon (or, in the foreground, in
    /// this process); in the background, the original process exits with
    /// status 0 once the daemon is up. [`start_with`](Self::start_with) also
    /// waits for the service's own set-up.
    ///
    /// Call it first thing in `main`: a process with more than one thread
    /// cannot fork safely, and is refused.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyRunning`] when the pid file is held; [`Error::NotFound`]
    /// for an unknown user or group; [`Error::PermissionDenied`] when the ids
    /// cannot be taken; [`Error::Io`] when the pid file cannot be written;
    /// [`Error::Os`] when the process has threads or cannot chdir, fork or
    /// point stdio at /dev/null. In the background, what fails after the fork
    /// (the privilege drop, the pid file's contents, chdir) fails in the
    /// daemon, and the same error comes back here.
    pub fn start(self) -> Result<Running> {
        self.start_with(|| Ok(())).map(|(running, ())| running)
    }

    /// Becomes the service, as [`start`](Self::start) does, then runs `setup`
    /// in the daemon, as the daemon's user, and returns what it made. In the
    /// background, the original process exits with status 0 only once
    /// `setup` has succeeded; if it fails, the daemon exits and the error
    /// comes back in the original process, as the start-up steps' errors
    /// do. Only those cross whole: any other comes back as [`Error::Os`] of
    /// [`Op::Daemonize`] with its errno and its sentence, so that
    /// [`Error::is_not_found`] and the like, or a `match` on its variant, see
    /// it only in the foreground, where `setup`'s error is returned as it
    /// is. Programs `setup` starts do not hold the start up: the report's
    /// pipe is closed on exec.
    ///
    /// Open the service's queues and install its [`Signals`](super::Signals)
    /// here: an init script's `start` then fails when they cannot be had, and
    /// a client started just after it finds the queue there.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), and whatever `setup` returns.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ipcq::service::{Daemon, Signals};
    /// use ipcq::{Key, QueueMessage, StopHandle, TypedQueue};
    ///
    /// #[derive(QueueMessage)]
    /// enum Cmd {
    ///     #[ipcq(text)]
    ///     Job(u32),
    /// }
    ///
    /// let stop = StopHandle::new();
    /// let (_running, (queue, _signals)) = Daemon::new()
    ///     .pid_file("/run/myd/myd.pid")
    ///     .start_with(|| {
    ///         let signals = Signals::new(&stop).install()?;
    ///         let queue = TypedQueue::<Cmd>::create(Key::new(0x5150))?;
    ///         Ok((queue.with_stop(stop.clone()), signals))
    ///     })?;
    /// // The starting process has exited 0: the queue is there.
    /// queue.serve_fn(|Cmd::Job(n)| log::info!("job {n}"))?;
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn start_with<T>(self, setup: impl FnOnce() -> Result<T>) -> Result<(Running, T)> {
        let credentials = match (&self.user, &self.group) {
            (None, None) => None,
            (user, group) => Some(Credentials::resolve(user.as_deref(), group.as_deref())?),
        };
        let pid_file = self.pid_file.as_ref().map(PidFile::acquire).transpose()?;
        let mut running = Running { pid_file };
        if self.foreground {
            self.finish(&mut running, credentials, false)?;
            let made = setup()?;
            return Ok((running, made));
        }
        check_single_threaded()?;
        let (from_daemon, to_parent) =
            // Close-on-exec: a program the set-up runs must not hold the
            // pipe open, or the starting process would wait for it to exit.
            pipe2(OFlag::O_CLOEXEC).map_err(|e| os(e, "cannot create the start-up pipe"))?;
        match sys::fork_single_threaded().map_err(|e| os(e, "cannot fork"))? {
            ForkResult::Parent { child } => {
                drop(to_parent);
                // The first child exits as soon as it has forked the daemon.
                let _ = waitpid(child, None);
                let report = read_report(from_daemon);
                if report == "ok" {
                    // The pid file belongs to the daemon now: exit without dropping it.
                    std::process::exit(0);
                }
                // `running` drops here; the pid file is removed only if it is
                // still the one this process wrote.
                Err(parse_failure(&report).unwrap_or_else(|| Error::Os {
                    op: Op::Daemonize,
                    errno: Errno::UnknownErrno,
                    detail: "the daemon exited while starting up".into(),
                }))
            }
            ForkResult::Child => {
                drop(from_daemon);
                let mut to_parent = std::fs::File::from(to_parent);
                let detached = setsid().map_err(|e| os(e, "setsid failed")).and_then(|_| {
                    match sys::fork_single_threaded()
                        .map_err(|e| os(e, "cannot fork the daemon"))?
                    {
                        ForkResult::Parent { .. } => sys::exit_now(0),
                        ForkResult::Child => Ok(()),
                    }
                });
                let started = detached
                    .and_then(|()| self.finish(&mut running, credentials, true))
                    .and_then(|()| setup());
                match started {
                    Ok(made) => {
                        let _ = to_parent.write_all(b"ok");
                        // The end of the report: the starting process reads
                        // until the pipe closes. (A child the set-up forked
                        // without exec holds it open still.)
                        drop(to_parent);
                        log::info!("daemon started, pid {}", std::process::id());
                        Ok((running, made))
                    }
                    Err(e) => {
                        let _ = to_parent.write_all(failure_report(&e).as_bytes());
                        // A pid file this process got as far as writing goes with it.
                        drop(running);
                        sys::exit_now(1)
                    }
                }
            }
        }
    }

    /// The steps both modes share, in the daemon's own process.
    fn finish(
        &self,
        running: &mut Running,
        credentials: Option<Credentials>,
        detach: bool,
    ) -> Result<()> {
        if detach {
            chdir(&self.working_dir).map_err(|e| {
                os(
                    e,
                    &format!("cannot chdir to {}", self.working_dir.display()),
                )
            })?;
            umask(Mode::from_bits_truncate(self.umask));
        }
        if let Some(pid_file) = running.pid_file.as_mut() {
            pid_file.set_pid(std::process::id())?;
        }
        if let Some(credentials) = credentials {
            drop_privileges(credentials)?;
        }
        if detach {
            let null = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map_err(|source| Error::Io {
                    op: Op::Daemonize,
                    path: "/dev/null".into(),
                    source,
                })?;
            dup2_stdin(&null)
                .and_then(|()| dup2_stdout(&null))
                .and_then(|()| dup2_stderr(&null))
                .map_err(|e| os(e, "cannot point stdio at /dev/null"))?;
        }
        Ok(())
    }
}

/// The running service; dropping it removes the pid file.
#[derive(Debug)]
#[must_use = "dropping it removes the pid file at once: keep it in a variable such as `_running`"]
pub struct Running {
    pid_file: Option<PidFile>,
}

impl Running {
    /// The pid file's path, if there is one.
    pub fn pid_file(&self) -> Option<&Path> {
        self.pid_file.as_ref().map(PidFile::path)
    }
}

/// What the daemon tells the starting process when it cannot start: enough
/// to build the same error there. The errors the daemon's own steps give
/// (`Os`, `Io`, `PermissionDenied`, of the three operations below) cross
/// whole; any other crosses as its errno and text.
fn failure_report(error: &Error) -> String {
    let whole = match error {
        Error::Os { op, errno, detail } => {
            op_tag(*op).map(|tag| format!("os {tag} {} {detail}", *errno as i32))
        }
        // An I/O error without an errno (a short write, say) crosses as its
        // text, after the path and its length.
        Error::Io { op, path, source } => op_tag(*op).map(|tag| {
            let path = path.display().to_string();
            match source.raw_os_error() {
                Some(errno) => format!("io {tag} {errno} {path}"),
                None => format!("io-text {tag} {} {path}{source}", path.len()),
            }
        }),
        Error::PermissionDenied {
            op,
            errno,
            access: None,
        } => op_tag(*op).map(|tag| format!("denied {tag} {}", *errno as i32)),
        _ => None,
    };
    whole.unwrap_or_else(|| {
        let errno = error.errno().unwrap_or(Errno::UnknownErrno);
        format!("other {} {error}", errno as i32)
    })
}

/// The error a [`failure_report`] describes, if the daemon got to write one.
fn parse_failure(report: &str) -> Option<Error> {
    let (kind, rest) = report.split_once(' ')?;
    if kind == "other" {
        let (errno, text) = rest.split_once(' ')?;
        let errno = Errno::from_raw(errno.parse().ok()?);
        // The error made here starts with its operation and names its errno
        // at the end: the text need not.
        let text = [
            format!(" ({errno:?}: {})", errno.desc()),
            format!(" ({errno:?})"),
        ]
        .iter()
        .find_map(|named| text.strip_suffix(named.as_str()))
        .unwrap_or(text);
        let text = text
            .strip_prefix(&format!("cannot {}: ", Op::Daemonize))
            .unwrap_or(text);
        return Some(Error::Os {
            op: Op::Daemonize,
            errno,
            detail: text.to_owned(),
        });
    }
    let (op, rest) = rest.split_once(' ')?;
    let op = op_from_tag(op)?;
    if kind == "io-text" {
        let (len, rest) = rest.split_once(' ')?;
        let len: usize = len.parse().ok()?;
        let (path, text) = (rest.get(..len)?, rest.get(len..)?);
        return Some(Error::Io {
            op,
            path: path.into(),
            source: std::io::Error::other(text.to_owned()),
        });
    }
    let (errno, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let errno: i32 = errno.parse().ok()?;
    Some(match kind {
        "os" => Error::Os {
            op,
            errno: Errno::from_raw(errno),
            detail: text.to_owned(),
        },
        "io" => Error::Io {
            op,
            path: text.into(),
            source: std::io::Error::from_raw_os_error(errno),
        },
        "denied" => Error::PermissionDenied {
            op,
            errno: Errno::from_raw(errno),
            access: None,
        },
        _ => return None,
    })
}

/// The operations whose errors a failing daemon reports whole.
fn op_tag(op: Op) -> Option<&'static str> {
    match op {
        Op::Daemonize => Some("daemonize"),
        Op::PidFile => Some("pid-file"),
        Op::DropPrivileges => Some("drop-privileges"),
        _ => None,
    }
}

fn op_from_tag(tag: &str) -> Option<Op> {
    [Op::Daemonize, Op::PidFile, Op::DropPrivileges]
        .into_iter()
        .find(|&op| op_tag(op) == Some(tag))
}

fn read_report(from_daemon: OwnedFd) -> String {
    let mut report = String::new();
    // EOF comes when the daemon has written its report, or died.
    let _ = std::fs::File::from(from_daemon).read_to_string(&mut report);
    report
}

fn check_single_threaded() -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|source| Error::Io {
        op: Op::Daemonize,
        path: "/proc/self/status".into(),
        source,
    })?;
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse::<u32>().ok());
    match threads {
        Some(1) => Ok(()),
        other => Err(Error::Os {
            op: Op::Daemonize,
            errno: Errno::EINVAL,
            detail: format!(
                "this process runs {} threads; daemonize first thing in main, before any thread starts",
                other.map_or_else(|| "several".to_string(), |n| n.to_string())
            ),
        }),
    }
}

fn os(errno: Errno, detail: &str) -> Error {
    Error::Os {
        op: Op::Daemonize,
        errno,
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_daemons_error_crosses_the_pipe_as_it_was() {
        let errors = [
            Error::Os {
                op: Op::Daemonize,
                errno: Errno::ENOENT,
                detail: "cannot chdir to /no where".into(),
            },
            Error::Io {
                op: Op::PidFile,
                path: "/run/my d/d.pid".into(),
                source: std::io::Error::from_raw_os_error(libc::EROFS),
            },
            Error::PermissionDenied {
                op: Op::DropPrivileges,
                errno: Errno::EPERM,
                access: None,
            },
        ];
        for error in errors {
            let parsed = parse_failure(&failure_report(&error)).expect("a report");
            assert_eq!(parsed.to_string(), error.to_string());
            assert_eq!((parsed.op(), parsed.errno()), (error.op(), error.errno()));
            assert_eq!(
                std::mem::discriminant(&parsed),
                std::mem::discriminant(&error)
            );
        }
        // An I/O error without an errno does not come back with errno 0.
        let short = Error::Io {
            op: Op::PidFile,
            path: "/run/d.pid".into(),
            source: std::io::ErrorKind::WriteZero.into(),
        };
        let parsed = parse_failure(&failure_report(&short)).expect("a report");
        assert_eq!(parsed.to_string(), short.to_string());
        assert_eq!((parsed.op(), parsed.errno()), (Op::PidFile, None));
        // Anything else keeps its errno and its text, which names the errno
        // once.
        let other = Error::invalid(Op::Daemonize, "odd");
        let parsed = parse_failure(&failure_report(&other)).expect("a report");
        assert_eq!(parsed.errno(), Some(Errno::EINVAL));
        assert_eq!(
            parsed.to_string(),
            "cannot start the daemon: invalid argument: odd (EINVAL: Invalid argument)"
        );
        let found = Error::Os {
            op: Op::Send,
            errno: Errno::EIDRM,
            detail: "gone".into(),
        };
        let parsed = parse_failure(&failure_report(&found)).expect("a report");
        assert_eq!(
            parsed.to_string(),
            "cannot start the daemon: cannot send (msgsnd): gone (EIDRM: Identifier removed)"
        );
        assert!(parse_failure("").is_none());
    }
}
