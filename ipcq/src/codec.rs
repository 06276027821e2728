//! The seam between typed messages and bytes: which serde format encodes bodies.

use std::io;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned, DeserializeSeed, Deserializer};

use crate::capped::{Capped, DecodeLimits};
use crate::error::counted;

/// A serde data format that encodes the fields of typed messages.
///
/// [`TypedQueue`](crate::TypedQueue) takes a codec as its second type
/// parameter, [`Bincode`] by default. Switching to another format changes no
/// message enum: implement this trait for it (a few lines, see below) and name
/// it in the queue's type. Both ends of a queue must use the same codec; the
/// [wire header](crate::WIRE_VERSION) carries the codec's [`ID`](Codec::ID), so
/// a mismatch is reported as a decode error, never decoded into garbage.
///
/// A codec is handed a variant's fields as one tuple. A field declared
/// `Vec<u8>` reaches it as a byte string (`serialize_bytes`, and
/// `deserialize_byte_buf`, which takes a sequence of `u8` as well), not as a
/// sequence of `u8`: bincode and postcard write the same bytes for both, a
/// self-describing format may not.
///
/// # Examples
///
/// A codec for bincode with fixed-width integers, whose bodies line up with
/// the fields of a packed C struct:
///
/// ```
/// use ipcq::{Codec, CodecError};
///
/// struct FixedInt;
///
/// impl Codec for FixedInt {
///     const ID: u8 = 0x80; // 0x80 and up are for codecs defined outside ipcq
///     const NAME: &'static str = "bincode, fixed-width integers";
///
///     fn encode<T, W>(value: &T, mut out: W) -> Result<(), CodecError>
///     where
///         T: serde::Serialize + ?Sized,
///         W: std::io::Write,
///     {
///         let config = bincode::config::standard().with_fixed_int_encoding();
///         bincode::serde::encode_into_std_write(value, &mut out, config)
///             .map(drop)
///             .map_err(CodecError::new)
///     }
///
///     fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
///         let config = bincode::config::standard().with_fixed_int_encoding();
///         match bincode::serde::decode_from_slice(bytes, config) {
///             Ok((value, read)) if read == bytes.len() => Ok(value),
///             Ok(_) => Err(CodecError::new("bytes left over")),
///             Err(e) => Err(CodecError::new(e)),
///         }
///     }
/// }
///
/// let mut out = Vec::new();
/// FixedInt::encode(&(1u32, 2u16), &mut out)?;
/// assert_eq!(out, [1, 0, 0, 0, 2, 0]);
/// assert_eq!(FixedInt::decode::<(u32, u16)>(&out)?, (1, 2));
/// # Ok::<(), CodecError>(())
/// ```
///
/// A codec like this one trusts the body: bincode's `decode_from_slice`
/// allocates a `String` of the length a prefix claims before it reads the
/// bytes, so a corrupt or hostile 16-byte body can make it allocate
/// gigabytes, and a message type that contains itself can be sent a body
/// that recurses until the receiving thread's stack overflows. ipcq's own
/// [`Bincode`] decodes within bounds set by the body (`SECURITY.md`); a codec
/// for queues that foreign processes can write to gets the same bounds from
/// [`deserialize_bounded`], wrapped around its format's deserializer. Here
/// for postcard:
///
/// ```
/// use ipcq::{Codec, CodecError};
///
/// struct Postcard;
///
/// impl Codec for Postcard {
///     const ID: u8 = 0x81;
///     const NAME: &'static str = "postcard";
///
///     fn encode<T, W>(value: &T, out: W) -> Result<(), CodecError>
///     where
///         T: serde::Serialize + ?Sized,
///         W: std::io::Write,
///     {
///         postcard::to_io(value, out).map(drop).map_err(CodecError::new)
///     }
///
///     fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
///         let mut deserializer = postcard::Deserializer::from_bytes(bytes);
///         let value = ipcq::deserialize_bounded(&mut deserializer, bytes.len())
///             .map_err(CodecError::new)?;
///         match deserializer.finalize().map_err(CodecError::new)? {
///             [] => Ok(value),
///             rest => Err(CodecError::new(format!("{} bytes left over", rest.len()))),
///         }
///     }
/// }
///
/// #[derive(serde::Deserialize, Debug)]
/// struct Node {
///     kids: Vec<Node>,
/// }
///
/// // One node, holding one node, holding one node... 10,000 deep: refused
/// // at the 129th level (postcard words every such error as "Serde
/// // Deserialization Error").
/// assert!(Postcard::decode::<Node>(&[1; 10_000]).is_err());
/// // Three deep is fine.
/// let node = Postcard::decode::<Node>(&[1, 1, 0])?;
/// assert_eq!(node.kids[0].kids[0].kids.len(), 0);
/// # Ok::<(), CodecError>(())
/// ```
pub trait Codec {
    /// Identifies the codec in the wire header. ipcq's own codecs use 1 to
    /// 0x7f; codecs defined elsewhere use 0x80 to 0xff.
    const ID: u8;

    /// The codec's name, for error messages.
    const NAME: &'static str;

    /// Writes the encoding of `value` to `out`.
    ///
    /// # Errors
    ///
    /// When the value cannot be represented or `out` fails.
    fn encode<T, W>(value: &T, out: W) -> Result<(), CodecError>
    where
        T: Serialize + ?Sized,
        W: io::Write;

    /// Decodes a value that must take up all of `bytes`.
    ///
    /// # Errors
    ///
    /// When the bytes are not a valid encoding of a `T`, or have bytes left over.
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError>;

    /// Decodes a value as [`decode`](Self::decode) does, and hands it to
    /// `ok`, or the error to `err`: what a receive calls.
    ///
    /// The default calls `decode`. A codec overrides it when it can hand the
    /// value over without first building a `Result<T, CodecError>`, since a
    /// large value moved from one `Result` into another is copied once more.
    /// An override accepts and refuses exactly what `decode` does, and calls
    /// exactly one of `ok` and `err`; both methods then share a helper, as
    /// [`Bincode`]'s do (a `decode` that called the default `decode_then`
    /// would call itself).
    #[inline(always)]
    fn decode_then<T: DeserializeOwned, R>(
        bytes: &[u8],
        ok: impl FnOnce(T) -> R,
        err: impl FnOnce(CodecError) -> R,
    ) -> R {
        match Self::decode(bytes) {
            Ok(value) => ok(value),
            Err(error) => err(error),
        }
    }
}

/// Why a codec could not encode or decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(String);

impl CodecError {
    /// An error from whatever the format reported.
    pub fn new(error: impl ToString) -> Self {
        CodecError(error.to_string())
    }
}

/// Deserializes a `T` from `deserializer`, which reads a message body of
/// `body_len` bytes, within bounds set by that length: the bounds ipcq's own
/// [`Bincode`] decodes within, for a [`Codec`] over another serde format.
///
/// - Strings and byte buffers are asked of `deserializer` as borrowed ones
///   (`deserialize_str`, `deserialize_bytes`), and the value is handed an
///   owned copy of what it read. A deserializer that reads from a slice then
///   checks a length prefix against the bytes it has before anything is
///   allocated for it.
/// - The sequences and maps of the value are told that they hold at most
///   `body_len` elements together (each is told at most what the ones before
///   it left), so serde's collections, nested ones included, reserve room
///   for no more elements than the body has bytes, whatever their length
///   prefixes claim. All the sequences and maps of
///   the value together may yield at most `body_len` elements and entries, so
///   that elements that take no bytes (`()`, unit structs) cannot be claimed
///   by the billion.
/// - Values may nest at most 128 levels deep (every struct, tuple, sequence,
///   map, enum, `Option` and newtype struct is a level), so that a type that
///   contains itself cannot be made to recurse until the stack overflows.
///
/// Everything else (the value, the errors, the bytes read) is the wrapped
/// deserializer's. Checking that the body was read to its end is left to the
/// codec, which knows how to ask its deserializer. The trait's documentation
/// shows a codec built on it ([`Codec`], second example).
///
/// # Errors
///
/// The deserializer's own errors, and a custom error (through
/// [`serde::de::Error::custom`]) when the value nests too deep or holds more
/// elements than `body_len`.
pub fn deserialize_bounded<'de, T, D>(deserializer: D, body_len: usize) -> Result<T, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    let limits = DecodeLimits::of_body(body_len);
    Capped::new(PhantomData::<T>, &limits).deserialize(deserializer)
}

/// bincode 2 with its standard configuration: little-endian, variable-length
/// integers. The default codec of ipcq, with wire id 1.
///
/// Decoding takes no more than the body it is given: a length prefix is
/// checked against the body before anything is allocated for it, collections
/// reserve room for no more elements than the body has bytes, and values may
/// nest at most 128 levels deep, so that a body crafted for a message type
/// that contains itself gets a decode error, not a stack overflow.
///
/// Encoding writes the bytes `bincode::serde::encode_to_vec(value,
/// bincode::config::standard())` writes, through a serializer of ipcq's own
/// that inlines into the send (tests compare the two on generated values of
/// every shape of serde's data model); decoding is bincode's.
///
/// bincode is pinned to 2.0: 3.0.0 is a placeholder release that does not
/// compile, and the project is no longer maintained (RUSTSEC-2025-0141), which
/// is why the codec sits behind [`Codec`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bincode;

/// Decodes so that nothing a length prefix claims is allocated before the
/// body is seen to hold it.
///
/// bincode itself allocates a string or byte buffer of the claimed length
/// before reading it (16 bytes of body could claim gigabytes). Through
/// [`Capped`], strings and byte buffers are decoded borrowed from the body
/// instead, so the value allocated is the one the body holds, and a prefix
/// that claims more than the body has fails as a short body.
///
/// Sequences and maps are allocated by serde, which reserves room for up to
/// 1 MiB of elements from a length prefix before reading any. [`Capped`] caps
/// every length hint at the body's length in bytes, so a collection reserves
/// room for at most as many elements as the body has bytes, and never more
/// than serde's own cap: `len × size_of::<T>()` bytes for a `Vec<T>`, and for
/// a hash map or set the buckets hashbrown rounds that many entries up to
/// (under `16/7 × len`, at least 4, of an entry and a control byte each, plus
/// 16 control bytes). All the sequences and maps of one decode may yield at
/// most as many items as the body has bytes, so that items taking no byte
/// (`()`, structs of skipped fields) cannot be claimed by the billion.
///
/// Values nest at most 128 levels deep ([`MAX_DEPTH`](crate::capped::MAX_DEPTH)),
/// so that a type that contains itself cannot be made to recurse once per
/// body byte until the thread's stack overflows.
#[inline(always)]
fn decode_capped<T: DeserializeOwned>(
    bytes: &[u8],
) -> Result<(T, usize), bincode::error::DecodeError> {
    let limits = DecodeLimits::of_body(bytes.len());
    let seed = Capped::new(PhantomData::<T>, &limits);
    bincode::serde::seed_decode_from_slice(seed, bytes, bincode::config::standard())
}

/// Decodes a `T` that takes up all of `bytes`, for [`Bincode`]'s `decode` and
/// `decode_then`.
///
/// One match over bincode's result, not `?` and a check after: a 4 KiB value
/// took one more copy on its way out through the local.
#[inline(always)]
fn decode_whole<T: DeserializeOwned, R>(
    bytes: &[u8],
    ok: impl FnOnce(T) -> R,
    err: impl FnOnce(CodecError) -> R,
) -> R {
    match decode_capped(bytes) {
        Ok((value, read)) if read == bytes.len() => ok(value),
        Ok((_, read)) => err(CodecError(format!(
            "{} left over after the value",
            counted(bytes.len() - read, "byte")
        ))),
        Err(error) => err(decode_failure(error)),
    }
}

/// bincode's decode error as a sentence: bincode prints its errors in their
/// `Debug` form (`UnexpectedEnd { additional: 3 }`).
#[cold]
#[inline(never)]
fn decode_failure(error: bincode::error::DecodeError) -> CodecError {
    use bincode::error::{DecodeError as E, IntegerType};
    use bincode::serde::DecodeError as Serde;

    CodecError(match error {
        // `additional` is what the read under way lacks, not the value.
        E::UnexpectedEnd { additional } => format!(
            "the body ends before the value does (at least {} more)",
            counted(additional, "byte")
        ),
        // Not the expected type: bincode's fast path for 64-bit integers
        // names a 32-bit one.
        E::InvalidIntegerType { found, .. } => match found {
            IntegerType::Reserved => {
                "a varint starts with 255, a marker no integer uses".to_string()
            }
            found => {
                let bits = match found {
                    IntegerType::U8 | IntegerType::I8 => "8",
                    IntegerType::U16 | IntegerType::I16 => "16",
                    IntegerType::U32 | IntegerType::I32 => "32",
                    IntegerType::U128 | IntegerType::I128 => "128",
                    _ => "64",
                };
                format!(
                    "a varint's marker announces a {bits}-bit integer, wider than the field \
                     it is read into"
                )
            }
        },
        E::UnexpectedVariant {
            type_name, found, ..
        } => format!("{type_name} has no variant {found}"),
        E::Utf8 { inner } => format!("a string is not UTF-8: {inner}"),
        // The bytes after the first are bincode's buffer, not all read.
        E::InvalidCharEncoding([first, ..]) => {
            format!("a char is not a UTF-8 character (it starts with byte {first:#04x})")
        }
        E::InvalidBooleanValue(v) => format!("a bool is {v}, not 0 or 1"),
        E::OutsideUsizeRange(v) => format!("a length of {v} does not fit in a usize"),
        E::Other(text) => text.to_string(),
        E::OtherString(text) => text,
        E::Serde(
            Serde::AnyNotSupported | Serde::IgnoredAnyNotSupported | Serde::IdentifierNotSupported,
        ) => "a field's type needs to ask what the next value is, or what a field is \
              called, which bincode, a format without type tags or field names, cannot \
              say: untagged, internally and adjacently tagged enums, flattened fields and \
              skipped unknown fields need a self-describing codec"
            .to_string(),
        other => other.to_string(),
    })
}

impl Codec for Bincode {
    const ID: u8 = 1;
    const NAME: &'static str = "bincode 2 (standard)";

    #[inline(always)]
    fn encode<T, W>(value: &T, out: W) -> Result<(), CodecError>
    where
        T: Serialize + ?Sized,
        W: io::Write,
    {
        crate::bincode_encoder::encode(value, out).map_err(CodecError::new)
    }

    #[inline(always)]
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
        decode_whole(bytes, Ok, Err)
    }

    #[inline(always)]
    fn decode_then<T: DeserializeOwned, R>(
        bytes: &[u8],
        ok: impl FnOnce(T) -> R,
        err: impl FnOnce(CodecError) -> R,
    ) -> R {
        decode_whole(bytes, ok, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_output_is_reported_with_where_it_failed() {
        /// Takes `room` bytes, then fails.
        struct Short {
            room: usize,
        }
        impl io::Write for Short {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if buf.len() > self.room {
                    return Err(io::Error::new(io::ErrorKind::WriteZero, "full"));
                }
                self.room -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        // 7u8 (1 byte), then "seven" behind a 1-byte length: the string's
        // length fits, its bytes do not.
        let err = Bincode::encode(&(7u8, "seven"), Short { room: 3 }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "writing the body failed after 2 bytes: full"
        );
    }

    #[test]
    fn bincode_round_trips_and_refuses_leftovers() {
        let mut out = Vec::new();
        Bincode::encode(&(7u64, "seven"), &mut out).unwrap();
        assert_eq!(
            Bincode::decode::<(u64, String)>(&out).unwrap(),
            (7, "seven".into())
        );
        out.push(0);
        assert!(Bincode::decode::<(u64, String)>(&out).is_err());
    }

    /// varint 0xFC marker then a u32 length of 1 MiB, then 64 bytes.
    fn claims_a_mebibyte() -> Vec<u8> {
        let mut bytes = vec![0xFC];
        bytes.extend_from_slice(&(1u32 << 20).to_le_bytes());
        bytes.extend_from_slice(&[b'a'; 64]);
        bytes
    }

    #[test]
    fn a_length_prefix_beyond_the_body_is_a_short_body() {
        // Strings and byte buffers are read borrowed from the body, so the
        // claim is checked against the body before anything is allocated
        // (tests/tests/preallocation.rs measures that, for byte buffers too).
        let err = Bincode::decode::<String>(&claims_a_mebibyte()).unwrap_err();
        // 5 bytes of prefix, 64 of the claimed 1 MiB.
        assert_eq!(
            err.to_string(),
            format!(
                "the body ends before the value does (at least {} bytes more)",
                (1 << 20) - 64
            )
        );
    }

    #[test]
    fn decode_errors_are_sentences() {
        #[derive(serde::Deserialize, Debug)]
        enum Two {
            _A,
            _B,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(untagged)]
        enum Untagged {
            _N(#[allow(dead_code)] u8),
        }
        fn reason<T: DeserializeOwned + std::fmt::Debug>(bytes: &[u8]) -> String {
            Bincode::decode::<T>(bytes).unwrap_err().to_string()
        }
        assert_eq!(
            reason::<u32>(&[]),
            "the body ends before the value does (at least 1 byte more)"
        );
        // A string claiming 5 bytes with 1 there: bincode reports the read.
        let said = reason::<String>(&[5, b'a']);
        assert!(
            said.starts_with("the body ends before the value does"),
            "{said}"
        );
        let wide = "a varint's marker announces a 32-bit integer, wider than the field it is \
                    read into";
        assert_eq!(reason::<u16>(&[252, 0, 0, 1, 0]), wide);
        assert_eq!(reason::<i16>(&[252, 0, 0, 1, 0]), wide);
        // 64-bit fields with 9 bytes or more left take bincode's fast path,
        // which names another expected type; the sentence does not use it.
        let wider = wide.replace("32-bit", "128-bit");
        assert_eq!(reason::<u64>(&[254; 17]), wider);
        assert_eq!(reason::<i64>(&[254; 17]), wider);
        let reserved = "a varint starts with 255, a marker no integer uses";
        assert_eq!(reason::<u64>(&[255]), reserved);
        assert_eq!(reason::<u64>(&[255; 9]), reserved);
        assert!(reason::<String>(&[1, 0xff]).starts_with("a string is not UTF-8: "));
        assert_eq!(
            reason::<char>(&[0xff]),
            "a char is not a UTF-8 character (it starts with byte 0xff)"
        );
        assert_eq!(reason::<bool>(&[2]), "a bool is 2, not 0 or 1");
        assert_eq!(reason::<Option<u8>>(&[2]), "Option<T> has no variant 2");
        // serde's own words, through bincode.
        assert_eq!(
            reason::<Two>(&[5]),
            "invalid value: integer `5`, expected variant index 0 <= i < 2"
        );
        #[derive(serde::Deserialize, Debug)]
        #[serde(tag = "t", content = "c")]
        enum Adjacent {
            _A,
        }
        #[derive(serde::Deserialize, Debug)]
        struct Flat {
            #[serde(flatten)]
            _rest: std::collections::BTreeMap<String, u8>,
        }
        for said in [
            reason::<Untagged>(&[1]),
            reason::<Adjacent>(&[1]),
            reason::<Flat>(&[1]),
        ] {
            assert!(said.ends_with("need a self-describing codec"), "{said}");
        }
        assert_eq!(
            reason::<u8>(&[1, 2, 3]),
            "2 bytes left over after the value"
        );
    }

    #[test]
    fn owned_strings_decode_through_borrowed_reads() {
        let mut out = Vec::new();
        Bincode::encode(&("a".repeat(64), 'é'), &mut out).unwrap();
        let (text, c) = Bincode::decode::<(String, char)>(&out).unwrap();
        assert_eq!((text.len(), c), (64, 'é'));
    }
}
