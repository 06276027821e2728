//! Dropping root privileges to a user and group, for good.

use nix::errno::Errno;
use nix::unistd::{
    Gid, Group, Uid, User, getegid, geteuid, getgid, getgrouplist, getgroups, getuid, setgid,
    setgroups, setuid,
};

use crate::error::{Error, Op, Result};

/// A user and group to run as, resolved from names or numeric ids.
///
/// # Examples
///
/// ```
/// use ipcq::service::Credentials;
///
/// let root = Credentials::resolve(Some("root"), None)?;
/// assert_eq!((root.uid, root.gid), (0, 0));
/// let numeric = Credentials::resolve(Some("65534"), Some("65534"))?;
/// assert_eq!((numeric.uid, numeric.gid), (65534, 65534));
/// assert!(Credentials::resolve(Some("no-such-user-here"), None).is_err());
/// // A uid the user database does not know has no primary group to take.
/// assert!(Credentials::resolve(Some("54321"), None).is_err());
/// assert_eq!(Credentials::resolve(Some("54321"), Some("54321"))?.gid, 54321);
/// # Ok::<(), ipcq::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The user id.
    pub uid: u32,
    /// The group id.
    pub gid: u32,
}

impl Credentials {
    /// Resolves a user and a group, each a name or a number. Without a group,
    /// the user's primary group; without a user, the current user.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown user or group name, and for a
    /// numeric uid that the user database does not know, given without a
    /// group: it has no primary group, and keeping this process's group
    /// (root's, for a daemon started as root) would give too much.
    pub fn resolve(user: Option<&str>, group: Option<&str>) -> Result<Credentials> {
        let (uid, primary_gid) = match user {
            None => (getuid(), Some(getgid())),
            Some(user) => match user.parse::<u32>() {
                Ok(uid) => {
                    let uid = Uid::from_raw(uid);
                    let primary = lookup(User::from_uid(uid), user)?.map(|u| u.gid);
                    (uid, primary)
                }
                Err(_) => {
                    let found = lookup(User::from_name(user), user)?
                        .ok_or_else(|| not_found("user", user))?;
                    (found.uid, Some(found.gid))
                }
            },
        };
        let gid = match group {
            None => primary_gid.ok_or_else(|| Error::NotFound {
                op: Op::DropPrivileges,
                errno: Errno::ENOENT,
                what: format!(
                    "uid {uid} has no entry in the user database, so no primary group to run \
                     with: give the group too"
                ),
            })?,
            Some(group) => match group.parse::<u32>() {
                Ok(gid) => Gid::from_raw(gid),
                Err(_) => {
                    lookup(Group::from_name(group), group)?
                        .ok_or_else(|| not_found("group", group))?
                        .gid
                }
            },
        };
        Ok(Credentials {
            uid: uid.as_raw(),
            gid: gid.as_raw(),
        })
    }
}

/// Becomes `to` for good: `setgroups`, then `setgid`, then `setuid`, in that
/// order (a process that has given up its uid can no longer change its
/// groups), and then checks that the ids and groups are the ones asked for
/// and that root cannot be regained.
///
/// The supplementary groups are the user's, from the group database, with
/// `to.gid` among them, as `initgroups(3)` sets them (and as `su`,
/// `start-stop-daemon --chuid` and systemd's `User=` do): a daemon whose
/// user is a member of the group that owns a queue (`ipcq create --group`)
/// may use it. The user is the database's first entry for `to.uid` (where
/// several names share a uid, the groups of that name). A uid the user
/// database does not know gets `to.gid` alone. Root's own supplementary
/// groups are kept only when `to` is root.
///
/// # Errors
///
/// [`Error::PermissionDenied`] when this process may not take those ids (it is
/// not root); [`Error::Os`] if the user database cannot be read, or if, after
/// the drop, the ids or groups are not the ones asked for or `setuid(0)`
/// succeeds.
pub fn drop_privileges(to: Credentials) -> Result<()> {
    let uid = Uid::from_raw(to.uid);
    let gid = Gid::from_raw(to.gid);
    if geteuid() == uid && getuid() == uid && getegid() == gid && getgid() == gid && !uid.is_root()
    {
        // Already there; setgroups would need privilege we do not have.
        return verify(to, None);
    }
    let groups = groups_of(to)?;
    setgroups(&groups).map_err(|e| failed(e, "setgroups"))?;
    setgid(gid).map_err(|e| failed(e, "setgid"))?;
    setuid(uid).map_err(|e| failed(e, "setuid"))?;
    verify(to, Some(&groups))?;
    log::info!(
        "dropped privileges to uid {} gid {} groups {:?}",
        to.uid,
        to.gid,
        groups.iter().map(|g| g.as_raw()).collect::<Vec<_>>()
    );
    Ok(())
}

/// The supplementary groups `to` runs with: its user's groups in the group
/// database and `to.gid`, or `to.gid` alone for a uid without a name.
fn groups_of(to: Credentials) -> Result<Vec<Gid>> {
    let gid = Gid::from_raw(to.gid);
    let uid = to.uid.to_string();
    let Some(user) = lookup(User::from_uid(Uid::from_raw(to.uid)), &uid)? else {
        return Ok(vec![gid]);
    };
    let name = std::ffi::CString::new(user.name.as_bytes()).map_err(|_| Error::Os {
        op: Op::DropPrivileges,
        errno: Errno::EINVAL,
        detail: format!("the user name of uid {uid} holds a NUL byte"),
    })?;
    getgrouplist(&name, gid).map_err(|errno| Error::Os {
        op: Op::DropPrivileges,
        errno,
        detail: format!(
            "cannot read the groups of {:?} from the group database",
            user.name
        ),
    })
}

/// Checks the ids (and, when they were set, the groups) against what was
/// asked for, and that root cannot be regained.
fn verify(to: Credentials, groups: Option<&[Gid]>) -> Result<()> {
    let ids = (
        getuid().as_raw(),
        geteuid().as_raw(),
        getgid().as_raw(),
        getegid().as_raw(),
    );
    if ids != (to.uid, to.uid, to.gid, to.gid) {
        return Err(Error::Os {
            op: Op::DropPrivileges,
            errno: Errno::EPERM,
            detail: format!(
                "after dropping privileges the ids are uid {}/{} gid {}/{}, not uid {} gid {}",
                ids.0, ids.1, ids.2, ids.3, to.uid, to.gid
            ),
        });
    }
    if let Some(asked) = groups {
        let sorted = |groups: &[Gid]| {
            let mut raw: Vec<u32> = groups.iter().map(|g| g.as_raw()).collect();
            raw.sort_unstable();
            raw.dedup();
            raw
        };
        let held = sorted(&getgroups().map_err(|e| failed(e, "getgroups"))?);
        let asked = sorted(asked);
        if held != asked {
            return Err(Error::Os {
                op: Op::DropPrivileges,
                errno: Errno::EPERM,
                detail: format!("after dropping privileges the groups are {held:?}, not {asked:?}"),
            });
        }
    }
    if to.uid != 0 && setuid(Uid::from_raw(0)).is_ok() {
        return Err(Error::Os {
            op: Op::DropPrivileges,
            errno: Errno::EPERM,
            detail: "root privileges could be regained after dropping them".into(),
        });
    }
    Ok(())
}

fn lookup<T>(result: nix::Result<Option<T>>, name: &str) -> Result<Option<T>> {
    result.map_err(|errno| Error::Os {
        op: Op::DropPrivileges,
        errno,
        detail: format!("cannot look up {name:?} in the user database"),
    })
}

fn not_found(what: &str, name: &str) -> Error {
    Error::NotFound {
        op: Op::DropPrivileges,
        errno: Errno::ENOENT,
        what: format!("no {what} is named {name:?}"),
    }
}

fn failed(errno: Errno, call: &str) -> Error {
    match errno {
        Errno::EPERM => Error::PermissionDenied {
            op: Op::DropPrivileges,
            errno,
            access: None,
        },
        _ => Error::Os {
            op: Op::DropPrivileges,
            errno,
            detail: format!("{call} failed"),
        },
    }
}
