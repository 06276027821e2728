//! The seam between typed messages and bytes: which serde format encodes bodies.

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A serde data format that encodes the fields of typed messages.
///
/// [`TypedQueue`](crate::TypedQueue) takes a codec as its second type
/// parameter, [`Bincode`] by default. Switching to another format changes no
/// message enum: implement this trait for it (a few lines, see below) and name
/// it in the queue's type. Both ends of a queue must use the same codec; the
/// [wire header](crate::WIRE_VERSION) carries the codec's [`ID`](Codec::ID), so
/// a mismatch is reported as a decode error, never decoded into garbage.
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

/// bincode 2 with its standard configuration: little-endian, variable-length
/// integers. The default codec of ipcq, with wire id 1.
///
/// bincode is pinned to 2.0: 3.0.0 is a placeholder release that does not
/// compile, and the project is no longer maintained (RUSTSEC-2025-0141), which
/// is why the codec sits behind [`Codec`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bincode;

/// The largest number of bytes a bincode decode may claim for strings and
/// byte containers.
///
/// No message exceeds the receive buffer's ceiling, so a length prefix that
/// claims more is corrupt, and is refused before anything is allocated.
/// Sequences decoded through serde (`Vec<T>`) are not counted by bincode, but
/// serde preallocates at most 1 MiB for them whatever their prefix claims.
const BINCODE_LIMIT: usize = 1 << 26;

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<BINCODE_LIMIT>()
}

impl Codec for Bincode {
    const ID: u8 = 1;
    const NAME: &'static str = "bincode 2 (standard)";

    fn encode<T, W>(value: &T, mut out: W) -> Result<(), CodecError>
    where
        T: Serialize + ?Sized,
        W: io::Write,
    {
        bincode::serde::encode_into_std_write(value, &mut out, bincode_config())
            .map(drop)
            .map_err(CodecError::new)
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
        let (value, read) =
            bincode::serde::decode_from_slice(bytes, bincode_config()).map_err(CodecError::new)?;
        if read != bytes.len() {
            return Err(CodecError(format!(
                "{} byte(s) left over after the value",
                bytes.len() - read
            )));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn bincode_refuses_a_length_prefix_beyond_the_limit() {
        // varint 0xFD marker then a u64 length of 2^40, then enough bytes that
        // running out of input is not what stops it.
        let mut bytes = vec![0xFD];
        bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
        bytes.extend_from_slice(&[b'a'; 64]);
        let err = Bincode::decode::<String>(&bytes).unwrap_err();
        assert!(err.to_string().contains("LimitExceeded"), "{err}");
    }
}
