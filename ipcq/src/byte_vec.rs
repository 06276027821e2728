//! `Vec<u8>` fields of typed variants, encoded as one byte string.
//!
//! serde has no impl of its own for `Vec<u8>` as bytes: it serializes a
//! `Vec<u8>` as a sequence, one `u8` at a time, and deserializes it the same
//! way, so a 4 KiB field takes 4,096 calls through the codec each way. The
//! derive hands a field whose type it reads as `Vec<u8>` to the codec
//! through these two wrappers instead, which serialize it as a byte string
//! (one write) and deserialize it from one (one copy). In bincode, and in
//! postcard, a byte string and a sequence of `u8` are the same bytes (a
//! length, then the bytes), so the body does not change; a self-describing
//! codec may tell them apart, and [`ByteVec`] takes a sequence of `u8` too.

use std::fmt;

use serde::de::{Deserialize, Deserializer, Error, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};

/// The type a field written `Vec<u8>` must be for the derive to send it as a
/// byte string: std's. A crate may name a type of its own `Vec`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "ipcq sends a field written `Vec<u8>` as a byte string, which needs std's `Vec<u8>`, not `{Self}`",
    label = "this `Vec` is another type",
    note = "name the type by another path (`self::Vec<u8>`, say) and ipcq hands it to serde as it is"
)]
pub trait StdByteVec: Sized {
    /// The bytes.
    fn bytes(&self) -> &[u8];
    /// The field from received bytes.
    fn from_bytes(bytes: Vec<u8>) -> Self;
}

impl StdByteVec for Vec<u8> {
    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        self
    }

    #[inline(always)]
    fn from_bytes(bytes: Vec<u8>) -> Self {
        bytes
    }
}

/// A `Vec<u8>` field, borrowed for sending, as a byte string.
#[doc(hidden)]
pub struct AsBytes<'a>(pub &'a [u8]);

impl<'a> AsBytes<'a> {
    /// The field's bytes.
    #[inline(always)]
    pub fn of<T: StdByteVec>(field: &'a T) -> Self {
        AsBytes(field.bytes())
    }
}

impl Serialize for AsBytes<'_> {
    #[inline(always)]
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// A received `Vec<u8>` field, read from a byte string or a sequence of
/// `u8`.
#[doc(hidden)]
pub struct ByteVec(pub Vec<u8>);

impl ByteVec {
    /// The field.
    #[inline(always)]
    pub fn into_field<T: StdByteVec>(self) -> T {
        T::from_bytes(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteVec {
    #[inline]
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ByteVec, D::Error> {
        deserializer.deserialize_byte_buf(ByteVecVisitor)
    }
}

struct ByteVecVisitor;

impl<'de> Visitor<'de> for ByteVecVisitor {
    type Value = ByteVec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    #[inline]
    fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<ByteVec, E> {
        Ok(ByteVec(v))
    }

    #[inline]
    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<ByteVec, E> {
        Ok(ByteVec(v.to_vec()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteVec, A::Error> {
        // As serde's own `Vec` does: a hint is not trusted past 1 MiB.
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
        while let Some(byte) = seq.next_element()? {
            bytes.push(byte);
        }
        Ok(ByteVec(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Bincode, Codec};

    #[test]
    fn a_byte_string_is_the_bytes_of_a_sequence_of_u8() {
        let data: Vec<u8> = (0..=255).chain(0..44).collect();
        let mut as_bytes = Vec::new();
        Bincode::encode(&(7u32, AsBytes(&data)), &mut as_bytes).unwrap();
        let as_seq =
            bincode::serde::encode_to_vec((7u32, &data), bincode::config::standard()).unwrap();
        assert_eq!(as_bytes, as_seq);
        let (n, ByteVec(back)) = Bincode::decode::<(u32, ByteVec)>(&as_seq).unwrap();
        assert_eq!((n, back), (7, data));
    }

    #[test]
    fn a_sequence_of_u8_is_taken_from_a_self_describing_codec() {
        use serde::de::value::{Error as ValueError, SeqDeserializer};
        let seq = SeqDeserializer::<_, ValueError>::new([1u8, 2, 3].into_iter());
        assert_eq!(ByteVec::deserialize(seq).unwrap().0, [1, 2, 3]);
        let wrong = SeqDeserializer::<_, ValueError>::new([1u16, 300].into_iter());
        assert!(ByteVec::deserialize(wrong).is_err());
    }
}
