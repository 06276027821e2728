//! What `#[derive(QueueMessage)]` implements, and how typed messages fail.

use std::fmt;
use std::hash::Hash;

use crate::buffer::Message;
use crate::codec::{Codec, CodecError};
use crate::error::counted;
use crate::wire::Body;

/// A message enum whose variants travel as System V messages.
///
/// Derive it with `#[derive(QueueMessage)]`, which checks the mtypes and
/// computes the schema fingerprints; the methods that read and write bodies
/// are hidden and not a stable API, so implement it only through the derive.
/// Each variant has its own mtype, so a receiver can take one
/// variant, or the lowest mtype first; the body holds the variant's fields,
/// encoded by a [`Codec`]. The layout is in `docs/WIRE.md`.
///
/// # Examples
///
/// ```
/// use ipcq::{MessageKind, QueueMessage};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
/// enum Cmd {
///     Reload,                        // mtype 1
///     #[ipcq(mtype = 10)]
///     Job { id: u64, path: String }, // mtype 10
///     Shutdown,                      // mtype 11
/// }
///
/// assert_eq!(Cmd::Reload.kind(), CmdKind::Reload);
/// assert_eq!(CmdKind::Job.mtype(), 10);
/// assert_eq!(CmdKind::Shutdown.mtype(), 11);
/// assert_eq!(CmdKind::from_mtype(10), Some(CmdKind::Job));
/// assert_eq!(CmdKind::Job.name(), "Job");
/// ```
///
/// # Attributes
///
/// | attribute | on | effect |
/// |---|---|---|
/// | `#[ipcq(base = N)]` | the enum | the first variant's mtype, when it has none of its own (default 1) |
/// | `#[ipcq(mtype = N)]` | a variant | this variant's mtype; later variants count on from it |
/// | `#[ipcq(text)]` | a variant of one field | the body is the field's `Display` text, parsed back with `FromStr` |
/// | `#[ipcq(bytes)]` | a variant of one `Vec<u8>`, `String` or `[u8; N]` | the body is the field's bytes; an array takes bodies of exactly `N` bytes |
/// | `#[ipcq(crate = "path")]` | the enum | where the generated code finds ipcq (default `::ipcq`): for a dependency renamed in `Cargo.toml`, or ipcq re-exported by another crate |
/// | `#[ipcq(kind = "Name")]` | the enum | the name of the generated Kind enum (default the enum's name and `Kind`), when that name is taken |
/// | `#[ipcq(handler = "Name")]` | the enum | the name of the generated handler trait (default the enum's name and `Handler`), when that name is taken |
///
/// Text and bytes variants have no header, so that programs in other
/// languages can send and read them as they are (`docs/WIRE.md`, section 6).
///
/// A variant under `#[cfg(...)]` is gone before the derive sees the enum, so
/// it takes no mtype in a build without it, and the variants after it count
/// on from one less. Give such a variant, and the variants after it, an
/// explicit `#[ipcq(mtype = N)]`: otherwise builds with and without the
/// feature disagree on the mtypes, and a text or bytes variant, which has no
/// fingerprint to catch that, is read as the variant the other build numbered
/// the same.
///
/// The derive needs serde only for the fields of typed variants, never for
/// the enum itself, although the examples here derive `Serialize` and
/// `Deserialize` on their enums too. Leave those two derives off an enum with
/// an `[u8; N]` field longer than 32 bytes, for which serde has no
/// implementation. An enum of only text and bytes variants needs no serde at
/// all:
///
/// ```
/// use ipcq::{Key, MsgQueue, QueueMessage, TypedQueue};
///
/// /// What a C sensor daemon sends: `struct { long mtype; double reading; }`
/// /// with `msgsnd(id, &msg, sizeof msg.reading, 0)`.
/// #[derive(QueueMessage, Debug, PartialEq)]
/// #[ipcq(base = 7)]
/// enum Sensor {
///     #[ipcq(bytes)]
///     Reading([u8; 8]), // mtype 7
///     #[ipcq(text)]
///     Alarm(String),    // mtype 8
/// }
///
/// let raw = MsgQueue::create(Key::private())?;
/// let q = TypedQueue::<Sensor>::from_queue(raw.clone());
/// raw.send(7, &21.5f64.to_ne_bytes())?; // as the C daemon would: a double in native order
/// let Sensor::Reading(bytes) = q.recv()? else { unreachable!() };
/// assert_eq!(f64::from_ne_bytes(bytes), 21.5);
/// raw.send(7, b"short")?; // not 8 bytes: handed back whole, as an error
/// assert!(matches!(q.recv(), Err(ipcq::Error::Decode(e)) if e.bytes() == b"short"));
/// q.remove()?;
/// # Ok::<(), ipcq::Error>(())
/// ```
pub trait QueueMessage: Sized {
    /// The generated fieldless enum with one value per variant (`CmdKind` for `Cmd`).
    type Kind: MessageKind;

    /// Which variant this is.
    fn kind(&self) -> Self::Kind;

    /// The mtype this message is sent with.
    fn mtype(&self) -> i64 {
        self.kind().mtype()
    }

    /// Writes the body of this message, header included.
    ///
    /// # Errors
    ///
    /// When the codec cannot encode a field.
    #[doc(hidden)]
    fn encode_body<C: Codec>(&self, body: &mut Body<'_>) -> Result<(), EncodeError>;

    /// Rebuilds a message from its mtype and body.
    ///
    /// # Errors
    ///
    /// Why the bytes are not a message of this type; the caller adds the bytes.
    #[doc(hidden)]
    #[inline]
    fn decode_body<C: Codec>(mtype: i64, body: &[u8]) -> Result<Self, DecodeReason> {
        Self::decode_body_or_else::<C, _>(mtype, body, Err)
    }

    /// Rebuilds a message from its mtype and body, or, when they are not a
    /// message of this type, returns what `or_else` makes of the reason.
    ///
    /// The message is built in a result of the caller's error type, and
    /// `or_else` may still produce a message (a batch's first, say), so the
    /// caller returns this result as it is: a large message moved from one
    /// `Result` into another is copied once more.
    ///
    /// # Errors
    ///
    /// `or_else`'s error.
    #[doc(hidden)]
    fn decode_body_or_else<C: Codec, E>(
        mtype: i64,
        body: &[u8],
        or_else: impl FnOnce(DecodeReason) -> Result<Self, E>,
    ) -> Result<Self, E>;
}

/// The fieldless companion enum of a message enum: one value per variant.
///
/// Kinds order by mtype, as `recv_priority` ranks them (lowest first).
pub trait MessageKind: Copy + Ord + Hash + fmt::Debug + 'static {
    /// Every kind, in declaration order.
    const ALL: &'static [Self];

    /// The variant's mtype.
    fn mtype(self) -> i64;

    /// The variant's name as declared.
    fn name(self) -> &'static str;

    /// The kind whose mtype is `mtype`.
    fn from_mtype(mtype: i64) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.mtype() == mtype)
    }
}

/// Hands a message to the handler method for its variant.
///
/// The derive implements this for every type implementing the generated
/// handler trait (`CmdHandler` for `Cmd`), which is what
/// [`TypedQueue::serve`](crate::TypedQueue::serve) calls.
pub trait Dispatch<H: ?Sized> {
    /// Calls the method of `handler` that matches this message's variant.
    fn dispatch(self, handler: &mut H);
}

/// A received message that could not be decoded into the typed message.
///
/// Nothing is lost: the error owns the message's mtype and bytes, so the
/// caller can log it, keep it, or send it back with
/// [`MsgQueue::send`](crate::MsgQueue::send).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode a message of mtype {} ({}): {reason}", message.mtype, counted(message.body.len(), "byte"))]
pub struct DecodeError {
    message: Message,
    reason: DecodeReason,
}

impl DecodeError {
    pub(crate) fn new(mtype: i64, bytes: &[u8], reason: DecodeReason) -> Self {
        DecodeError {
            message: Message {
                mtype,
                body: bytes.to_vec(),
            },
            reason,
        }
    }

    /// The message's mtype.
    pub fn mtype(&self) -> i64 {
        self.message.mtype
    }

    /// The message's bytes, exactly as received.
    pub fn bytes(&self) -> &[u8] {
        &self.message.body
    }

    /// Why it could not be decoded.
    pub fn reason(&self) -> &DecodeReason {
        &self.reason
    }

    /// The undecodable message, to keep or send elsewhere.
    pub fn into_message(self) -> Message {
        self.message
    }
}

/// Why a received message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeReason {
    /// No variant has this mtype.
    #[error("no variant has this mtype")]
    UnknownType,

    /// The body is shorter than the wire header.
    #[error("variant {variant}: the body is {len} bytes, shorter than the {header}-byte header")]
    MissingHeader {
        /// The variant the mtype belongs to.
        variant: &'static str,
        /// The body's length.
        len: usize,
        /// The header's length.
        header: usize,
    },

    /// The header names a wire format version this build does not know.
    #[error("variant {variant}: wire format version {found}, this build reads version {expected}")]
    WireVersion {
        /// The variant the mtype belongs to.
        variant: &'static str,
        /// The version this build reads.
        expected: u8,
        /// The version in the message.
        found: u8,
    },

    /// The sender encoded the body with another codec.
    #[error(
        "variant {variant}: the body was encoded with codec {found:#04x}, this queue uses codec {expected:#04x} ({expected_name})"
    )]
    Codec {
        /// The variant the mtype belongs to.
        variant: &'static str,
        /// This queue's codec id.
        expected: u8,
        /// This queue's codec's [`NAME`](crate::Codec::NAME).
        expected_name: &'static str,
        /// The codec id in the message.
        found: u8,
    },

    /// The sender's definition of the variant differs from this one: another
    /// build, or another version, of the message enum.
    #[error(
        "variant {variant}: the sender's definition differs from this one (schema fingerprint {found:#010x}, expected {expected:#010x}); sender and receiver were built from different versions of the message enum"
    )]
    SchemaMismatch {
        /// The variant the mtype belongs to.
        variant: &'static str,
        /// This build's fingerprint.
        expected: u32,
        /// The fingerprint in the message.
        found: u32,
    },

    /// The fields could not be decoded from the body.
    #[error("variant {variant}: {error}")]
    Body {
        /// The variant the mtype belongs to.
        variant: &'static str,
        /// What the codec reported.
        error: CodecError,
    },

    /// A batch (byte 0 is [`BATCH_MARKER`](crate::BATCH_MARKER)) whose item
    /// count or item lengths do not add up to its body. None of its items was
    /// handed out; the error holds the whole batch.
    #[error("variant {variant}: malformed batch: {error}")]
    Batch {
        /// The variant the mtype belongs to.
        variant: &'static str,
        /// What does not add up.
        error: String,
    },

    /// A text variant's body is not UTF-8, or does not parse into its field.
    #[error("text variant {variant}: {error}")]
    Text {
        /// The variant the mtype belongs to.
        variant: &'static str,
        /// What went wrong.
        error: String,
    },

    /// A bytes variant's body does not fit its field: a `String` field and a
    /// body that is not UTF-8, or a `[u8; N]` field and a body of another length.
    #[error("bytes variant {variant}: {error}")]
    Bytes {
        /// The variant the mtype belongs to.
        variant: &'static str,
        /// What went wrong.
        error: String,
    },
}

/// A typed message that could not be encoded; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("cannot encode variant {variant} (mtype {mtype}): {error}")]
pub struct EncodeError {
    /// The variant being sent.
    pub variant: &'static str,
    /// Its mtype.
    pub mtype: i64,
    /// What the codec reported.
    pub error: CodecError,
}
