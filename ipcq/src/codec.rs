//! The seam between typed messages and bytes: which serde format encodes bodies.

use std::io;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::{DeserializeOwned, DeserializeSeed};

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
/// # Decoding within bounds
///
/// A codec does not decode values itself: it runs the seed it is handed
/// ([`decode_seed`](Codec::decode_seed)) on its format's deserializer, and
/// the seed ipcq hands it keeps a corrupt or hostile body from costing more
/// than the body, whatever the format:
///
/// - Strings and byte buffers are asked of the deserializer as borrowed ones
///   (`deserialize_str`, `deserialize_bytes`), and the value is handed an
///   owned copy of what it read. A deserializer that reads from a slice then
///   checks a length prefix against the bytes it has before anything is
///   allocated for it.
/// - The sequences and maps of the value are told that they hold at most as
///   many elements together as the body has bytes, so serde's collections,
///   nested ones included, reserve no more than that, whatever their length
///   prefixes claim; and together they may yield no more than that, so that
///   elements taking no bytes (`()`, unit structs) cannot be claimed by the
///   billion.
/// - Values may nest at most 128 levels deep (every struct, tuple, sequence,
///   map, enum, `Option` and newtype struct is a level), so that a message
///   type that contains itself cannot be sent a body that recurses until the
///   receiving thread's stack overflows. Sending sets no such bound: a value
///   nested deeper is sent, and every receive hands it back undecoded
///   ([`Error::Decode`](crate::Error::Decode), [`DecodeReason::Body`](crate::DecodeReason::Body)).
///
/// When the seed refuses a body, the error says which bound it crossed, in
/// ipcq's words, whatever the format made of the refusal.
///
/// # Examples
///
/// A codec for postcard, in full, as a crate outside ipcq writes one (ipcq
/// ships this one as `ipcq::Postcard`, with the `postcard` feature and wire
/// id 2):
///
/// ```
/// use ipcq::{Codec, CodecError};
/// use serde::de::DeserializeSeed;
///
/// struct MyPostcard;
///
/// impl Codec for MyPostcard {
///     const ID: u8 = 0x81; // 0x80 and up are for codecs defined outside ipcq
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
///     fn decode_seed<'de, S: DeserializeSeed<'de>>(
///         bytes: &'de [u8],
///         seed: S,
///     ) -> Result<S::Value, CodecError> {
///         let mut deserializer = postcard::Deserializer::from_bytes(bytes);
///         let value = seed.deserialize(&mut deserializer).map_err(CodecError::new)?;
///         match deserializer.finalize().map_err(CodecError::new)? {
///             [] => Ok(value),
///             rest => Err(CodecError::new(format!("{} bytes left over", rest.len()))),
///         }
///     }
/// }
///
/// let mut out = Vec::new();
/// MyPostcard::encode(&(300u32, "hi"), &mut out)?;
/// assert_eq!(out, [0xac, 0x02, 2, b'h', b'i']);
/// assert_eq!(MyPostcard::decode::<(u32, String)>(&out)?, (300, "hi".to_string()));
///
/// #[derive(serde::Deserialize, Debug)]
/// struct Node {
///     kids: Vec<Node>,
/// }
///
/// // One node, holding one node, holding one node... 10,000 deep: refused
/// // at the 129th level, in ipcq's words (postcard's would be "Serde
/// // Deserialization Error").
/// let deep = MyPostcard::decode::<Node>(&[1; 10_000]).unwrap_err();
/// assert!(deep.to_string().starts_with("values nest more than 128 levels deep"));
/// // Three deep is fine.
/// let node = MyPostcard::decode::<Node>(&[1, 1, 0])?;
/// assert_eq!(node.kids[0].kids[0].kids.len(), 0);
/// # Ok::<(), CodecError>(())
/// ```
///
/// bincode with fixed-width integers, whose integer fields then take their
/// full width (a struct of integers only lines up with a packed C struct;
/// for C programs, an `#[ipcq(bytes)]` variant sends a raw body):
///
/// ```
/// use ipcq::{Codec, CodecError};
/// use serde::de::DeserializeSeed;
///
/// struct FixedInt;
///
/// impl Codec for FixedInt {
///     const ID: u8 = 0x80;
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
///     fn decode_seed<'de, S: DeserializeSeed<'de>>(
///         bytes: &'de [u8],
///         seed: S,
///     ) -> Result<S::Value, CodecError> {
///         let config = bincode::config::standard().with_fixed_int_encoding();
///         match bincode::serde::seed_decode_from_slice(seed, bytes, config) {
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
pub trait Codec {
    /// Identifies the codec in the wire header. ipcq's own codecs use 1 to
    /// 0x7f ([`Bincode`] 1, `ipcq::Postcard` 2); codecs defined elsewhere
    /// use 0x80 to 0xff (docs/WIRE.md lists the ids taken).
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

    /// Runs `seed` on a deserializer of the format reading `bytes`, which the
    /// value must take up to the last byte.
    ///
    /// This is how every receive decodes; the seed bounds what the body may
    /// cost ([above](Codec#decoding-within-bounds)). A codec hands the seed
    /// its deserializer as it is and adds no bounds of its own.
    ///
    /// # Errors
    ///
    /// When the bytes are not a valid encoding of the seed's value, or have
    /// bytes left over.
    fn decode_seed<'de, S: DeserializeSeed<'de>>(
        bytes: &'de [u8],
        seed: S,
    ) -> Result<S::Value, CodecError>;

    /// Decodes as [`decode_seed`](Self::decode_seed) does, and hands the
    /// value to `ok`, or the error to `err`.
    ///
    /// The default calls `decode_seed`. A codec overrides it when it can hand
    /// the value over without first building a `Result<S::Value,
    /// CodecError>`, since a large value moved from one `Result` into another
    /// is copied once more. An override accepts and refuses exactly what
    /// `decode_seed` does, and calls exactly one of `ok` and `err`; both
    /// methods then share a helper, as [`Bincode`]'s do (a `decode_seed` that
    /// called the default `decode_seed_then` would call itself).
    #[inline(always)]
    fn decode_seed_then<'de, S: DeserializeSeed<'de>, R>(
        bytes: &'de [u8],
        seed: S,
        ok: impl FnOnce(S::Value) -> R,
        err: impl FnOnce(CodecError) -> R,
    ) -> R {
        match Self::decode_seed(bytes, seed) {
            Ok(value) => ok(value),
            Err(error) => err(error),
        }
    }

    /// Decodes a `T` that takes up all of `bytes`, within the bounds a
    /// receive decodes within ([above](Codec#decoding-within-bounds)).
    ///
    /// Provided, and what a receive does through
    /// [`decode_seed_then`](Self::decode_seed_then); for tests and tools.
    ///
    /// # Errors
    ///
    /// When the bytes are not a valid encoding of a `T`, cross a bound, or
    /// have bytes left over.
    #[inline]
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError>
    where
        Self: Sized,
    {
        decode_bounded_then::<Self, T, _>(bytes, Ok, Err)
    }
}

/// Decodes a `T` that takes up all of `bytes` with codec `C`, within the
/// bounds of [`Codec`]'s docs, and hands it to `ok`, or the error to `err`:
/// how every receive decodes.
#[inline(always)]
pub(crate) fn decode_bounded_then<C: Codec, T: DeserializeOwned, R>(
    bytes: &[u8],
    ok: impl FnOnce(T) -> R,
    err: impl FnOnce(CodecError) -> R,
) -> R {
    let limits = DecodeLimits::of_body(bytes.len());
    let seed = Capped::new(PhantomData::<T>, &limits);
    C::decode_seed_then(bytes, seed, ok, |error| err(limits.explain(error)))
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

    /// The error of a decode that left `bytes` of the body unread, in the
    /// same words for ipcq's codecs.
    #[cold]
    pub(crate) fn left_over(bytes: usize) -> Self {
        CodecError(format!(
            "{} left over after the value",
            counted(bytes, "byte")
        ))
    }
}

/// bincode 2 with its standard configuration: little-endian, variable-length
/// integers. The default codec of ipcq, with wire id 1.
///
/// Encoding writes the bytes `bincode::serde::encode_to_vec(value,
/// bincode::config::standard())` writes, through a serializer of ipcq's own
/// that inlines into the send (tests compare the two on generated values of
/// every shape of serde's data model); decoding is bincode's, within the
/// bounds every codec decodes within ([`Codec`]).
///
/// bincode is pinned to 2.0: 3.0.0 is a placeholder release that does not
/// compile, and the project is no longer maintained (RUSTSEC-2025-0141), which
/// is why the codec sits behind [`Codec`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bincode;

/// Runs `seed` over all of `bytes` with bincode's standard configuration, for
/// [`Bincode`]'s `decode_seed` and `decode_seed_then`.
///
/// bincode's own decoders allocate a string or byte buffer of the length a
/// prefix claims before reading it (16 bytes of body could claim gigabytes);
/// the seeds of receives ask for borrowed ones, which bincode checks against
/// the body first.
///
/// One match over bincode's result, not `?` and a check after: a 4 KiB value
/// took one more copy on its way out through the local.
#[inline(always)]
fn seed_decode_whole<'de, S: DeserializeSeed<'de>, R>(
    bytes: &'de [u8],
    seed: S,
    ok: impl FnOnce(S::Value) -> R,
    err: impl FnOnce(CodecError) -> R,
) -> R {
    match bincode::serde::seed_decode_from_slice(seed, bytes, bincode::config::standard()) {
        Ok((value, read)) if read == bytes.len() => ok(value),
        Ok((_, read)) => err(CodecError::left_over(bytes.len() - read)),
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
    fn decode_seed<'de, S: DeserializeSeed<'de>>(
        bytes: &'de [u8],
        seed: S,
    ) -> Result<S::Value, CodecError> {
        seed_decode_whole(bytes, seed, Ok, Err)
    }

    #[inline(always)]
    fn decode_seed_then<'de, S: DeserializeSeed<'de>, R>(
        bytes: &'de [u8],
        seed: S,
        ok: impl FnOnce(S::Value) -> R,
        err: impl FnOnce(CodecError) -> R,
    ) -> R {
        seed_decode_whole(bytes, seed, ok, err)
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
