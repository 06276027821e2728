//! Which message a receive takes: the four selections of msgrcv(2).

use libc::{c_int, c_long};

use crate::error::{Error, Op, Result};
use crate::message::MessageKind;

/// Which message a receive takes off the queue.
///
/// These are the four selections `msgrcv(2)` offers. Messages of one type always
/// leave in the order they were sent.
///
/// # Examples
///
/// ```
/// use ipcq::{Key, MsgQueue, Selector};
///
/// let q = MsgQueue::create(Key::private())?;
/// q.send(5, b"low priority")?;
/// q.send(2, b"high priority")?;
/// q.send(9, b"log line")?;
///
/// // The lowest mtype at or below 5 first: a priority queue.
/// assert_eq!(q.recv(Selector::UpTo(5))?.body, b"high priority");
/// // Anything but type 5.
/// assert_eq!(q.recv(Selector::Except(5))?.mtype, 9);
/// // Exactly type 5.
/// assert_eq!(q.try_recv(Selector::Type(5))?.unwrap().body, b"low priority");
/// // Nothing left.
/// assert!(q.try_recv(Selector::Any)?.is_none());
/// q.remove()?;
/// # Ok::<(), ipcq::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Selector {
    /// The oldest message of any type (`msgtyp` 0).
    Any,
    /// The oldest message of exactly this type (`msgtyp` N).
    Type(i64),
    /// The oldest message of the lowest type that is at most N (`msgtyp` -N):
    /// lower types come first, so types work as priorities.
    UpTo(i64),
    /// The oldest message of any type but N (`msgtyp` N with `MSG_EXCEPT`).
    Except(i64),
}

impl Selector {
    /// The oldest message of one variant: [`Type`](Self::Type) with `kind`'s
    /// mtype.
    ///
    /// With the `…_by` methods of [`TypedQueue`](crate::TypedQueue), this and
    /// its siblings give the worker loops of one variant
    /// ([`serve_by`](crate::TypedQueue::serve_by)) and the non-blocking and
    /// timed forms of `recv_priority` and `recv_except`; `recv_kind` has its
    /// own (`try_recv_kind`, `recv_kind_timeout`). Unlike the typed methods,
    /// a selector holds only the mtype: a kind of another message enum
    /// compiles, and selects that mtype on this queue.
    ///
    /// ```
    /// # use ipcq::{Key, QueueMessage, Selector, TypedQueue};
    /// # use std::time::Duration;
    /// #[derive(QueueMessage, serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    /// enum Cmd { Urgent, Job(u32), Log(String) }
    ///
    /// let q = TypedQueue::<Cmd>::create(Key::private())?;
    /// q.send(Cmd::Log("started".into()))?;
    /// q.send(Cmd::Job(7))?;
    /// assert_eq!(q.try_recv_by(Selector::kind(CmdKind::Urgent))?, None);
    /// assert_eq!(q.try_recv_by(Selector::up_to(CmdKind::Job))?, Some(Cmd::Job(7)));
    /// assert_eq!(
    ///     q.recv_by_timeout(Selector::except(CmdKind::Job), Duration::from_millis(10))?,
    ///     Some(Cmd::Log("started".into()))
    /// );
    /// q.remove()?;
    /// # Ok::<(), ipcq::Error>(())
    /// ```
    pub fn kind<K: MessageKind>(kind: K) -> Self {
        Selector::Type(kind.mtype())
    }

    /// The oldest message of the lowest mtype at or below `kind`'s:
    /// [`UpTo`](Self::UpTo), as `recv_priority` selects.
    pub fn up_to<K: MessageKind>(kind: K) -> Self {
        Selector::UpTo(kind.mtype())
    }

    /// The oldest message of any variant but `kind`: [`Except`](Self::Except),
    /// as `recv_except` selects.
    pub fn except<K: MessageKind>(kind: K) -> Self {
        Selector::Except(kind.mtype())
    }

    /// The msgtyp argument and extra flags for msgrcv.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when the type is 0 or less, or beyond what a
    /// C `long` holds.
    #[inline]
    pub(crate) fn to_msgtyp(self) -> Result<(c_long, c_int)> {
        let positive = |n: i64| check_mtype(Op::Receive, n);
        Ok(match self {
            Selector::Any => (0, 0),
            Selector::Type(n) => (positive(n)?, 0),
            Selector::UpTo(n) => (-positive(n)?, 0),
            Selector::Except(n) => (positive(n)?, libc::MSG_EXCEPT),
        })
    }
}

/// Checks an mtype for sending: the kernel needs it positive.
#[inline]
pub(crate) fn check_mtype(op: Op, mtype: i64) -> Result<c_long> {
    match c_long::try_from(mtype) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(out_of_range(op, mtype)),
    }
}

#[cold]
#[inline(never)]
fn out_of_range(op: Op, mtype: i64) -> Error {
    Error::invalid(
        op,
        format!(
            "message type {mtype} is out of range: types are 1 to {}",
            c_long::MAX
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_each_selection_to_msgtyp_and_flags() {
        assert_eq!(Selector::Any.to_msgtyp().unwrap(), (0, 0));
        assert_eq!(Selector::Type(7).to_msgtyp().unwrap(), (7, 0));
        assert_eq!(Selector::UpTo(7).to_msgtyp().unwrap(), (-7, 0));
        assert_eq!(
            Selector::Except(7).to_msgtyp().unwrap(),
            (7, libc::MSG_EXCEPT)
        );
    }

    #[test]
    fn refuses_types_of_zero_or_less() {
        for bad in [Selector::Type(0), Selector::UpTo(-1), Selector::Except(0)] {
            assert!(
                matches!(bad.to_msgtyp(), Err(Error::InvalidArgument { .. })),
                "{bad:?}"
            );
        }
        assert!(check_mtype(Op::Send, 0).is_err());
        assert!(check_mtype(Op::Send, -3).is_err());
        assert_eq!(check_mtype(Op::Send, 1).unwrap(), 1);
    }
}
