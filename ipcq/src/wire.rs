//! The wire format of typed message bodies (`docs/WIRE.md` is its specification).
//!
//! A typed body is a 6-byte header, then the variant's fields encoded by the
//! codec as one tuple:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | [`WIRE_VERSION`] |
//! | 1 | 1 | the codec's [`Codec::ID`] |
//! | 2 | 4 | the variant's schema fingerprint, little-endian u32 |
//! | 6 | … | the fields |
//!
//! The mtype is the variant's tag, so the body holds no variant index. Text and
//! bytes variants have no header: their body is the bare text or bytes.

use std::fmt::{self, Display};
use std::io;
use std::str::FromStr;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, CodecError};
use crate::error::counted;
use crate::message::{DecodeReason, EncodeError};
use crate::queue::take_send_buf;
use crate::sys::{MsgBuf, StackMsg};

/// The wire format version written in byte 0 of every typed body.
pub const WIRE_VERSION: u8 = 1;

/// Length of the header that starts every typed (non-interop) body.
pub const HEADER_LEN: usize = 6;

/// The schema fingerprint of a variant signature: 32-bit FNV-1a of its UTF-8 bytes.
///
/// The derive computes the signature from the variant's declaration: its name,
/// then `(T1,T2)` for a tuple variant or `{a:T1,b:T2}` for a struct variant,
/// with each type written as in the source, all whitespace removed. A unit
/// variant's signature is its name alone.
///
/// # Examples
///
/// ```
/// assert_eq!(ipcq::fingerprint(""), 0x811c_9dc5);
/// assert_eq!(ipcq::fingerprint("Job{id:u64,path:String}"), ipcq::fingerprint("Job{id:u64,path:String}"));
/// assert_ne!(ipcq::fingerprint("Job{id:u64}"), ipcq::fingerprint("Job{id:u32}"));
/// ```
pub const fn fingerprint(signature: &str) -> u32 {
    let bytes = signature.as_bytes();
    let mut hash: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash
}

/// The body of a message being assembled, written straight into the
/// message that will be sent.
#[doc(hidden)]
pub struct Body<'a> {
    out: Out<'a>,
    /// Set by [`encode_fields`]: the body is a typed one (header, then fields),
    /// which a batch may carry; text and bytes bodies leave it unset.
    pub(crate) typed: bool,
}

/// Where a [`Body`] goes.
enum Out<'a> {
    /// A buffer that grows as needed.
    Buf(&'a mut MsgBuf),
    /// A message on the sender's stack, while the body fits there.
    Stack(&'a mut StackMsg),
    /// The thread's send buffer, which took over the body from the stack
    /// when it outgrew it.
    Spilled(MsgBuf),
}

impl<'a> Body<'a> {
    /// A body written into `buf`.
    pub(crate) fn new(buf: &'a mut MsgBuf) -> Self {
        Body {
            out: Out::Buf(buf),
            typed: false,
        }
    }

    /// A body written into `msg` while it fits, and then into the thread's
    /// send buffer; [`into_spilled`](Self::into_spilled) says which.
    #[inline]
    pub(crate) fn on_stack(msg: &'a mut StackMsg) -> Self {
        Body {
            out: Out::Stack(msg),
            typed: false,
        }
    }

    /// The send buffer holding the whole message (mtype and text) if the
    /// body outgrew the stack message; `None` if that holds it.
    #[inline]
    pub(crate) fn into_spilled(self) -> Option<MsgBuf> {
        match self.out {
            Out::Spilled(buf) => Some(buf),
            Out::Buf(_) | Out::Stack(_) => None,
        }
    }

    /// Appends `bytes`. Kept small so that it inlines into the codec's
    /// writes: the stack case here, every other out of line.
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        if let Out::Stack(msg) = &mut self.out
            && msg.try_extend_text(bytes)
        {
            return;
        }
        self.put_beyond_stack(bytes);
    }

    #[inline(never)]
    fn put_beyond_stack(&mut self, bytes: &[u8]) {
        match &mut self.out {
            Out::Buf(buf) => buf.extend_text(bytes),
            Out::Spilled(buf) => buf.extend_text(bytes),
            Out::Stack(_) => self.spill(bytes),
        }
    }

    /// Moves a stack body that `more` does not fit on to the send buffer.
    #[cold]
    fn spill(&mut self, more: &[u8]) {
        let Out::Stack(msg) = &self.out else {
            unreachable!("only a stack body spills");
        };
        let mut buf = take_send_buf();
        buf.set_mtype(msg.mtype());
        buf.clear_text();
        buf.reserve_text(msg.text().len() + more.len());
        buf.extend_text(msg.text());
        buf.extend_text(more);
        self.out = Out::Spilled(buf);
    }
}

impl io::Write for Body<'_> {
    #[inline(always)]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.put(buf);
        Ok(buf.len())
    }

    #[inline(always)]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.put(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Write for Body<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s.as_bytes());
        Ok(())
    }
}

/// A field type that a `#[ipcq(bytes)]` variant can carry as its raw body.
#[diagnostic::on_unimplemented(
    message = "a `#[ipcq(bytes)]` variant's field must be `Vec<u8>`, `String` or `[u8; N]`, not `{Self}`",
    label = "the body of a bytes variant is this field's bytes"
)]
pub trait RawBytes: Sized {
    /// The bytes to send.
    fn raw_bytes(&self) -> &[u8];

    /// The field from received bytes.
    ///
    /// # Errors
    ///
    /// When the bytes cannot be this type: a `String` that is not UTF-8, or
    /// an array whose length differs from the body's.
    fn from_raw_bytes(bytes: &[u8]) -> Result<Self, String>;
}

impl RawBytes for Vec<u8> {
    fn raw_bytes(&self) -> &[u8] {
        self
    }

    fn from_raw_bytes(bytes: &[u8]) -> Result<Self, String> {
        Ok(bytes.to_vec())
    }
}

impl RawBytes for String {
    fn raw_bytes(&self) -> &[u8] {
        self.as_bytes()
    }

    fn from_raw_bytes(bytes: &[u8]) -> Result<Self, String> {
        String::from_utf8(bytes.to_vec())
            .map_err(|e| format!("the body is not UTF-8: {}", e.utf8_error()))
    }
}

/// A fixed-size record, such as a C program sends with
/// `msgsnd(id, &msg, sizeof msg.data, 0)`: the body must be exactly `N` bytes.
impl<const N: usize> RawBytes for [u8; N] {
    #[inline]
    fn raw_bytes(&self) -> &[u8] {
        self
    }

    #[inline]
    fn from_raw_bytes(bytes: &[u8]) -> Result<Self, String> {
        bytes.try_into().map_err(|_| {
            format!(
                "the body is {} long; this variant's field takes exactly {N}",
                counted(bytes.len(), "byte")
            )
        })
    }
}

/// Writes the header and the encoded fields of a typed variant.
#[inline(always)]
pub fn encode_fields<C: Codec, T: Serialize + ?Sized>(
    body: &mut Body<'_>,
    variant: &'static str,
    mtype: i64,
    fingerprint: u32,
    fields: &T,
) -> Result<(), EncodeError> {
    let [a, b, c, d] = fingerprint.to_le_bytes();
    body.typed = true;
    body.put(&[WIRE_VERSION, C::ID, a, b, c, d]);
    C::encode(fields, &mut *body).map_err(|error| EncodeError {
        variant,
        mtype,
        error,
    })
}

/// Writes a text variant's field as its `Display` text.
pub fn encode_text<T: Display + ?Sized>(
    body: &mut Body<'_>,
    variant: &'static str,
    mtype: i64,
    field: &T,
) -> Result<(), EncodeError> {
    fmt::Write::write_fmt(body, format_args!("{field}")).map_err(|_| EncodeError {
        variant,
        mtype,
        error: CodecError::new("the field's Display implementation returned an error"),
    })
}

/// Writes a bytes variant's field as the raw body.
pub fn encode_bytes<T: RawBytes>(body: &mut Body<'_>, field: &T) -> Result<(), EncodeError> {
    body.put(field.raw_bytes());
    Ok(())
}

/// Checks the header of a typed variant's body and decodes its fields, then
/// hands them to `ok`, or the reason they cannot be decoded to `err`.
///
/// The derive builds the variant in `ok`, so the fields go from the codec
/// into the message without a `Result` of their own between.
#[inline(always)]
pub fn decode_fields_then<C: Codec, T: DeserializeOwned, R>(
    variant: &'static str,
    fingerprint: u32,
    body: &[u8],
    ok: impl FnOnce(T) -> R,
    err: impl FnOnce(DecodeReason) -> R,
) -> R {
    let Some((header, fields)) = body.split_first_chunk::<HEADER_LEN>() else {
        return err(DecodeReason::MissingHeader {
            variant,
            len: body.len(),
            header: HEADER_LEN,
        });
    };
    let [version, codec, fp @ ..] = *header;
    if version != WIRE_VERSION {
        return err(DecodeReason::WireVersion {
            variant,
            expected: WIRE_VERSION,
            found: version,
        });
    }
    if codec != C::ID {
        return err(DecodeReason::Codec {
            variant,
            expected: C::ID,
            expected_name: C::NAME,
            found: codec,
        });
    }
    let found = u32::from_le_bytes(fp);
    if found != fingerprint {
        return err(DecodeReason::SchemaMismatch {
            variant,
            expected: fingerprint,
            found,
        });
    }
    crate::codec::decode_bounded_then::<C, T, R>(fields, ok, |error| {
        err(DecodeReason::Body { variant, error })
    })
}

/// Parses a text variant's field from its UTF-8 body.
pub fn decode_text<T>(variant: &'static str, body: &[u8]) -> Result<T, DecodeReason>
where
    T: FromStr,
    T::Err: Display,
{
    let text = std::str::from_utf8(body).map_err(|e| DecodeReason::Text {
        variant,
        error: format!("the body is not UTF-8: {e}"),
    })?;
    text.parse().map_err(|e| DecodeReason::Text {
        variant,
        error: format!("cannot parse {text:?}: {e}"),
    })
}

/// Takes a bytes variant's field from its body.
pub fn decode_bytes<T: RawBytes>(variant: &'static str, body: &[u8]) -> Result<T, DecodeReason> {
    T::from_raw_bytes(body).map_err(|error| DecodeReason::Bytes { variant, error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Bincode;

    fn encoded(fp: u32, fields: &(u8, String)) -> Vec<u8> {
        let mut buf = MsgBuf::with_capacity(0);
        encode_fields::<Bincode, _>(&mut Body::new(&mut buf), "V", 1, fp, fields).unwrap();
        buf.text().to_vec()
    }

    #[test]
    fn fingerprint_is_fnv1a_32() {
        // Reference values of 32-bit FNV-1a.
        assert_eq!(fingerprint("a"), 0xe40c_292c);
        assert_eq!(fingerprint("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn header_then_fields() {
        let bytes = encoded(0x0403_0201, &(9, "hi".into()));
        assert_eq!(
            bytes,
            [WIRE_VERSION, Bincode::ID, 1, 2, 3, 4, 9, 2, b'h', b'i']
        );
        let back: Result<(u8, String), _> =
            decode_fields_then::<Bincode, _, _>("V", 0x0403_0201, &bytes, Ok, Err);
        let back = back.unwrap();
        assert_eq!(back, (9, "hi".into()));
    }

    #[test]
    fn each_header_fault_has_its_reason() {
        let good = encoded(5, &(1, String::new()));
        let decode = |b: &[u8]| {
            decode_fields_then::<Bincode, (u8, String), _>("V", 5, b, Ok, Err).unwrap_err()
        };
        assert!(matches!(
            decode(&good[..3]),
            DecodeReason::MissingHeader { len: 3, .. }
        ));
        let mut bad = good.clone();
        bad[0] = 9;
        assert!(matches!(
            decode(&bad),
            DecodeReason::WireVersion { found: 9, .. }
        ));
        let mut bad = good.clone();
        bad[1] = 0x99;
        assert!(matches!(
            decode(&bad),
            DecodeReason::Codec { found: 0x99, .. }
        ));
        let mut bad = good.clone();
        bad[2] ^= 1;
        assert!(matches!(
            decode(&bad),
            DecodeReason::SchemaMismatch {
                found: 4,
                expected: 5,
                ..
            }
        ));
        let mut bad = good;
        bad.push(0);
        assert!(matches!(decode(&bad), DecodeReason::Body { .. }));
    }

    #[test]
    fn text_and_bytes_bodies_are_bare() {
        let mut buf = MsgBuf::with_capacity(0);
        encode_text(&mut Body::new(&mut buf), "N", 7, &42u32).unwrap();
        assert_eq!(buf.text(), b"42");
        assert_eq!(decode_text::<u32>("N", b"42").unwrap(), 42);
        assert!(matches!(
            decode_text::<u32>("N", b"4x2"),
            Err(DecodeReason::Text { .. })
        ));
        assert!(matches!(
            decode_text::<u32>("N", &[0xff]),
            Err(DecodeReason::Text { .. })
        ));
        assert_eq!(decode_bytes::<Vec<u8>>("B", &[0, 255]).unwrap(), [0, 255]);
        assert!(matches!(
            decode_bytes::<String>("B", &[0xff]),
            Err(DecodeReason::Bytes { variant: "B", .. })
        ));
    }

    #[test]
    fn array_bodies_must_have_the_arrays_length() {
        let mut buf = MsgBuf::with_capacity(0);
        encode_bytes(&mut Body::new(&mut buf), &[1u8, 2, 3]).unwrap();
        assert_eq!(buf.text(), [1, 2, 3]);
        assert_eq!(decode_bytes::<[u8; 3]>("R", &[1, 2, 3]).unwrap(), [1, 2, 3]);
        assert_eq!(decode_bytes::<[u8; 0]>("R", &[]).unwrap(), [0u8; 0]);
        for wrong in [&[1, 2][..], &[1, 2, 3, 4], &[]] {
            match decode_bytes::<[u8; 3]>("R", wrong) {
                Err(DecodeReason::Bytes {
                    variant: "R",
                    error,
                }) => assert_eq!(
                    error,
                    format!(
                        "the body is {} long; this variant's field takes exactly 3",
                        counted(wrong.len(), "byte")
                    )
                ),
                other => panic!("{} bytes gave {other:?}", wrong.len()),
            }
        }
    }
}
