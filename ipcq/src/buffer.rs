//! Received messages: an owned one, and a reusable buffer to receive into.

use crate::sys::MsgBuf;

/// The room a [bounded](MsgBuffer::bounded) buffer starts with, at most.
const BOUNDED_FIRST_CAPACITY: usize = 8192;

/// One message taken off a queue: its type and its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Message {
    /// The message type (`mtype`), always 1 or more.
    pub mtype: i64,
    /// The message text.
    pub body: Vec<u8>,
}

/// A reusable buffer to receive messages into without allocating.
///
/// By default the buffer grows to take any message whole, so a receive never
/// fails because a message is large. [`MsgBuffer::bounded`] makes a buffer that
/// never grows past a limit; a larger message then gives
/// [`Error::TooLarge`](crate::Error::TooLarge) and stays on the queue.
///
/// # Examples
///
/// ```
/// use ipcq::{Key, MsgBuffer, MsgQueue, Selector};
///
/// let q = MsgQueue::create(Key::private())?;
/// let mut buf = MsgBuffer::new();
/// for word in ["one", "two"] {
///     q.send(3, word.as_bytes())?;
///     q.recv_into(Selector::Any, &mut buf)?;
///     assert_eq!((buf.mtype(), buf.body()), (3, word.as_bytes()));
/// }
/// q.remove()?;
/// # Ok::<(), ipcq::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct MsgBuffer {
    pub(crate) raw: MsgBuf,
    pub(crate) limit: Option<usize>,
}

impl MsgBuffer {
    /// An empty buffer that grows as messages need.
    pub fn new() -> Self {
        MsgBuffer {
            raw: MsgBuf::with_capacity(0),
            limit: None,
        }
    }

    /// A buffer that holds messages of up to `limit` bytes and never grows past that.
    ///
    /// It starts with room for 8 KiB (the kernel's default `msgmax`), or
    /// `limit` if that is less, and grows as a new buffer does, up to `limit`.
    pub fn bounded(limit: usize) -> Self {
        MsgBuffer {
            raw: MsgBuf::with_capacity(limit.min(BOUNDED_FIRST_CAPACITY)),
            limit: Some(limit),
        }
    }

    /// The type of the message received last (0 before the first).
    #[inline]
    pub fn mtype(&self) -> i64 {
        self.raw.mtype()
    }

    /// The text of the message received last.
    #[inline]
    pub fn body(&self) -> &[u8] {
        self.raw.text()
    }

    /// How many bytes of text the buffer holds without growing.
    ///
    /// A buffer that grows does so on a message larger than it: to the
    /// kernel's `msgmax` (doubling past 1 MiB, where `msgmax` has been raised
    /// that far), and past that (a message sent before `msgmax` was lowered)
    /// to twice its size, until the message fits.
    pub fn capacity(&self) -> usize {
        self.raw.text_capacity()
    }

    /// Copies the message received last into an owned [`Message`].
    pub fn to_message(&self) -> Message {
        Message {
            mtype: self.mtype(),
            body: self.body().to_vec(),
        }
    }
}

impl Default for MsgBuffer {
    fn default() -> Self {
        MsgBuffer::new()
    }
}
