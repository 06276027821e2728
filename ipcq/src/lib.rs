//! Typed System V message queues for Linux.
//!
//! Declare the messages of a queue as an enum, derive [`QueueMessage`], and
//! send and receive its variants. Each variant travels as one System V
//! message whose mtype is the variant's, so a receiver can take one variant,
//! the most urgent first, or hand each to a handler method:
//!
//! ```
//! use ipcq::{Key, QueueMessage, TypedQueue};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
//! enum Cmd {
//!     Reload,                        // mtype 1
//!     #[ipcq(mtype = 10)]
//!     Job { id: u64, path: String }, // mtype 10
//!     Shutdown,                      // mtype 11
//! }
//!
//! # fn main() -> ipcq::Result<()> {
//! let q = TypedQueue::<Cmd>::create(Key::private())?;
//! q.send(Cmd::Job { id: 7, path: "/srv/in/7".into() })?;
//! q.send(Cmd::Reload)?;
//!
//! // Lowest mtype first: Reload (1) jumps the queue.
//! assert_eq!(q.recv_priority(CmdKind::Shutdown)?, Cmd::Reload);
//! match q.recv()? {
//!     Cmd::Job { id, path } => println!("job {id}: {path}"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! q.remove()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Layers
//!
//! - [`MsgQueue`]: bytes and mtypes over `msgsnd`/`msgrcv`, with every receive
//!   selection ([`Selector`]), timeouts, an optional spin before sleeping
//!   ([`MsgQueue::with_spin`], for round trips across CPUs), status and
//!   limits. All `unsafe` code of ipcq is in its private `sys` module.
//! - [`TypedQueue`]: the variants of a [`QueueMessage`] enum, encoded by a
//!   [`Codec`] ([`Bincode`] by default) behind a short header that catches
//!   sender and receiver built from different versions of the enum
//!   (`docs/WIRE.md`).
//! - [`StopHandle`]: stops blocked calls and worker loops cleanly, and
//!   [`service`] ties it to SIGTERM and SIGINT, with daemon mode, a pid file
//!   and a privilege drop.
//!
//! # Errors
//!
//! Every fallible call returns [`Error`], one enum whose variants say what
//! happened ([`Error::Removed`], [`Error::WouldBlock`], [`Error::TooLarge`], …)
//! and carry the operation and errno. [`TypedQueue::try_send`] and
//! [`TypedQueue::send_timeout`], which fail on a full queue as a matter of
//! course, return a [`SendError`] that gives the message back, and
//! [`TypedQueue::send_batch`] a [`BatchError`] that says how many were sent;
//! both convert into an [`Error`] with `?`. A blocking
//! [`send`](TypedQueue::send) returns an [`Error`]: pass the message by
//! reference to keep it. A message that cannot be decoded comes back whole in
//! [`Error::Decode`]; nothing is truncated or dropped silently.

#![cfg(target_os = "linux")]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Every item is Linux-only; a badge saying so on each would say nothing.
#![cfg_attr(docsrs, doc(auto_cfg(hide(target_os = "linux"))))]

mod batch;
mod bincode_encoder;
mod buffer;
mod byte_vec;
mod capped;
mod codec;
mod error;
mod key;
mod message;
mod options;
#[cfg(feature = "postcard")]
mod postcard_codec;
mod queue;
mod selector;
pub mod service;
mod stat;
mod stop;
#[allow(unsafe_code)]
mod sys;
mod typed;
mod wake;
mod wire;

pub use batch::{BATCH_MARKER, BatchError};
pub use buffer::{Message, MsgBuffer};
pub use codec::{Bincode, Codec, CodecError};
pub use error::{Access, Distrust, Error, Op, Result};
pub use key::{Key, ParseKeyError, QueueId};
pub use message::{DecodeError, DecodeReason, Dispatch, EncodeError, MessageKind, QueueMessage};
pub use options::{Attributes, OpenOptions};
#[cfg(feature = "postcard")]
#[cfg_attr(docsrs, doc(cfg(feature = "postcard")))]
pub use postcard_codec::Postcard;
pub use queue::MsgQueue;
pub use selector::Selector;
pub use stat::{Limits, QueueStat, list};
pub use stop::StopHandle;
pub use typed::{Iter, SendError, TypedQueue};
pub use wake::WAKE_SIGNAL;
pub use wire::{HEADER_LEN, WIRE_VERSION, fingerprint};

/// The errno in an [`Error`] ([`Error::errno`]): nix's `Errno`, re-exported
/// so that a caller can match on it without depending on nix.
///
/// ```
/// use ipcq::{Errno, Key, MsgQueue, Selector};
///
/// let q = MsgQueue::create(Key::private())?;
/// q.remove()?;
/// let err = q.try_recv(Selector::Any).unwrap_err();
/// assert!(err.is_removed());
/// assert_eq!(err.errno(), Some(Errno::EINVAL));
/// # Ok::<(), ipcq::Error>(())
/// ```
pub use nix::errno::Errno;

/// Derives [`QueueMessage`] for an enum, with its `…Kind` enum and `…Handler` trait.
pub use ipcq_derive::QueueMessage;

/// The README's examples, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// Items the derive's generated code names; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::byte_vec::{AsBytes, ByteVec};
    pub use crate::wire::{
        Body, RawBytes, decode_bytes, decode_fields_then, decode_text, encode_bytes, encode_fields,
        encode_text, fingerprint,
    };
    pub use serde::Serialize;
    pub use serde::de::DeserializeOwned;

    /// Compiles only for a field type the derive can encode and decode; the
    /// derive calls it at each field, where a missing impl is reported.
    pub const fn field_is_serde<T: Serialize + DeserializeOwned>() {}
}
