//! bincode 2's standard encoding, written by a serde `Serializer` of ipcq's
//! own, straight into an `io::Write`.
//!
//! [`Bincode`](crate::Bincode) decodes with bincode itself but encodes here.
//! The bytes are the same as bincode's `serde::encode_*` functions write with
//! `config::standard()` (tests compare the two on generated values of every
//! shape of serde's data model, and on varint boundaries); what differs is
//! the work per value. bincode reaches its writer through an encoder, a
//! per-type `Encode` impl and an out-of-line varint function for every
//! integer and length; here a value's writes inline into the caller, all but
//! integers of more than one byte, which makes a send of a small typed
//! message about 115 instructions shorter (176 down to 61, in
//! `docs/BENCHMARKS.md`), on the path whose length sets the pace of a
//! stream.
//!
//! The format (bincode's `docs/spec.md`, standard configuration):
//! - `u8`, `i8` and `bool` are one byte;
//! - other integers are varints: a value up to 250 is one byte; beyond that,
//!   a marker byte (251, 252, 253, 254) then the value as a little-endian
//!   `u16`, `u32`, `u64` or `u128`; signed integers are zigzagged first;
//! - floats are little-endian; a `char` is its UTF-8 bytes;
//! - strings, byte strings, sequences and maps are a varint length, then
//!   their bytes, elements or entries;
//! - `None` is 0, `Some` is 1 then the value; an enum variant is its index as
//!   a varint, then its fields; structs and tuples are their fields in order,
//!   and units are nothing.

use std::fmt;
use std::io;

use serde::Serialize;
use serde::ser;

use crate::error::counted;

/// Writes `value` in bincode 2's standard encoding to `out`.
#[inline(always)]
pub(crate) fn encode<T, W>(value: &T, out: W) -> Result<(), EncodeFailure>
where
    T: Serialize + ?Sized,
    W: io::Write,
{
    let mut serializer = Serializer { out, written: 0 };
    value.serialize(&mut serializer)
}

/// Why a value could not be encoded.
#[derive(Debug)]
pub(crate) enum EncodeFailure {
    /// The output failed after `written` bytes, the bytes of the writes that
    /// completed (a failing write may have taken part of its bytes).
    Write { written: usize, source: io::Error },
    /// A sequence or map that does not know its length: bincode writes the
    /// length first.
    UnknownLength(&'static str),
    /// The value's `Serialize` implementation reported an error.
    Custom(String),
}

impl fmt::Display for EncodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeFailure::Write { written, source } => {
                let written = counted(*written, "byte");
                write!(f, "writing the body failed after {written}: {source}")
            }
            EncodeFailure::UnknownLength(what) => write!(
                f,
                "a {what} whose length is not known in advance cannot be encoded: \
                 bincode writes the length first"
            ),
            EncodeFailure::Custom(text) => f.write_str(text),
        }
    }
}

/// No `source`: the text carries the output's error, as the failure reaches
/// callers as text ([`CodecError`](crate::CodecError)).
impl std::error::Error for EncodeFailure {}

impl ser::Error for EncodeFailure {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        EncodeFailure::Custom(msg.to_string())
    }
}

/// The serializer: the output, and how much of it is written, for errors.
struct Serializer<W> {
    out: W,
    written: usize,
}

/// The largest integer a varint writes as one byte.
const MAX_ONE_BYTE: u8 = 250;
// The byte before a varint that does not fit in one byte, by the width of
// the little-endian integer that follows it.
const U16_MARKER: u8 = 251;
const U32_MARKER: u8 = 252;
const U64_MARKER: u8 = 253;
const U128_MARKER: u8 = 254;

impl<W: io::Write> Serializer<W> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) -> Result<(), EncodeFailure> {
        match self.out.write_all(bytes) {
            Ok(()) => {
                self.written += bytes.len();
                Ok(())
            }
            Err(source) => Err(self.failed(source)),
        }
    }

    #[cold]
    #[inline(never)]
    fn failed(&self, source: io::Error) -> EncodeFailure {
        EncodeFailure::Write {
            written: self.written,
            source,
        }
    }

    #[inline(always)]
    fn put_marked(&mut self, marker: u8, bytes: &[u8]) -> Result<(), EncodeFailure> {
        self.put(&[marker])?;
        self.put(bytes)
    }

    /// Any unsigned integer but `u8` and `u128`: one byte inline, more out
    /// of line.
    #[inline(always)]
    fn put_varint(&mut self, v: u64) -> Result<(), EncodeFailure> {
        if v <= u64::from(MAX_ONE_BYTE) {
            self.put(&[v as u8])
        } else {
            self.put_long_varint(v)
        }
    }

    /// The marker and the bytes in one write each: one look at the room
    /// left instead of two.
    #[inline(never)]
    fn put_long_varint(&mut self, v: u64) -> Result<(), EncodeFailure> {
        if let Ok(v) = u16::try_from(v) {
            let [a, b] = v.to_le_bytes();
            self.put(&[U16_MARKER, a, b])
        } else if let Ok(v) = u32::try_from(v) {
            let [a, b, c, d] = v.to_le_bytes();
            self.put(&[U32_MARKER, a, b, c, d])
        } else {
            let [a, b, c, d, e, f, g, h] = v.to_le_bytes();
            self.put(&[U64_MARKER, a, b, c, d, e, f, g, h])
        }
    }

    fn put_varint_u128(&mut self, v: u128) -> Result<(), EncodeFailure> {
        match u64::try_from(v) {
            Ok(v) => self.put_varint(v),
            Err(_) => self.put_marked(U128_MARKER, &v.to_le_bytes()),
        }
    }

    /// A length, as bincode writes it: a `u64` varint.
    #[inline(always)]
    fn put_len(&mut self, len: usize) -> Result<(), EncodeFailure> {
        self.put_varint(len as u64)
    }

    /// An enum variant's index.
    #[inline(always)]
    fn put_variant(&mut self, index: u32) -> Result<(), EncodeFailure> {
        self.put_varint(u64::from(index))
    }
}

/// Zigzag: 0, -1, 1, -2, 2… become 0, 1, 2, 3, 4…
#[inline(always)]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn zigzag128(v: i128) -> u128 {
    ((v << 1) ^ (v >> 127)) as u128
}

impl<W: io::Write> ser::Serializer for &mut Serializer<W> {
    type Ok = ();
    type Error = EncodeFailure;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), EncodeFailure> {
        self.put(&[u8::from(v)])
    }

    #[inline]
    fn serialize_i8(self, v: i8) -> Result<(), EncodeFailure> {
        self.put(&[v as u8])
    }

    #[inline]
    fn serialize_i16(self, v: i16) -> Result<(), EncodeFailure> {
        self.put_varint(zigzag(v.into()))
    }

    #[inline]
    fn serialize_i32(self, v: i32) -> Result<(), EncodeFailure> {
        self.put_varint(zigzag(v.into()))
    }

    #[inline]
    fn serialize_i64(self, v: i64) -> Result<(), EncodeFailure> {
        self.put_varint(zigzag(v))
    }

    fn serialize_i128(self, v: i128) -> Result<(), EncodeFailure> {
        self.put_varint_u128(zigzag128(v))
    }

    #[inline]
    fn serialize_u8(self, v: u8) -> Result<(), EncodeFailure> {
        self.put(&[v])
    }

    #[inline]
    fn serialize_u16(self, v: u16) -> Result<(), EncodeFailure> {
        self.put_varint(v.into())
    }

    #[inline]
    fn serialize_u32(self, v: u32) -> Result<(), EncodeFailure> {
        self.put_varint(v.into())
    }

    #[inline]
    fn serialize_u64(self, v: u64) -> Result<(), EncodeFailure> {
        self.put_varint(v)
    }

    fn serialize_u128(self, v: u128) -> Result<(), EncodeFailure> {
        self.put_varint_u128(v)
    }

    #[inline]
    fn serialize_f32(self, v: f32) -> Result<(), EncodeFailure> {
        self.put(&v.to_le_bytes())
    }

    #[inline]
    fn serialize_f64(self, v: f64) -> Result<(), EncodeFailure> {
        self.put(&v.to_le_bytes())
    }

    #[inline]
    fn serialize_char(self, v: char) -> Result<(), EncodeFailure> {
        self.put(v.encode_utf8(&mut [0; 4]).as_bytes())
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), EncodeFailure> {
        self.serialize_bytes(v.as_bytes())
    }

    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeFailure> {
        self.put_len(v.len())?;
        self.put(v)
    }

    #[inline]
    fn serialize_none(self) -> Result<(), EncodeFailure> {
        self.put(&[0])
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), EncodeFailure> {
        self.put(&[1])?;
        value.serialize(self)
    }

    #[inline]
    fn serialize_unit(self) -> Result<(), EncodeFailure> {
        Ok(())
    }

    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), EncodeFailure> {
        Ok(())
    }

    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
    ) -> Result<(), EncodeFailure> {
        self.put_variant(index)
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), EncodeFailure> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<(), EncodeFailure> {
        self.put_variant(index)?;
        value.serialize(self)
    }

    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, EncodeFailure> {
        self.put_len(len.ok_or(EncodeFailure::UnknownLength("sequence"))?)?;
        Ok(self)
    }

    #[inline]
    fn serialize_tuple(self, _len: usize) -> Result<Self, EncodeFailure> {
        Ok(self)
    }

    #[inline]
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self, EncodeFailure> {
        Ok(self)
    }

    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, EncodeFailure> {
        self.put_variant(index)?;
        Ok(self)
    }

    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Self, EncodeFailure> {
        self.put_len(len.ok_or(EncodeFailure::UnknownLength("map"))?)?;
        Ok(self)
    }

    #[inline]
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self, EncodeFailure> {
        Ok(self)
    }

    #[inline]
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, EncodeFailure> {
        self.put_variant(index)?;
        Ok(self)
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// Elements, fields and entries are written one after another, with nothing
/// between them and nothing at the end.
macro_rules! compound {
    ($($trait:ident :: $method:ident ($($key:ty)?)),* $(,)?) => {$(
        impl<W: io::Write> ser::$trait for &mut Serializer<W> {
            type Ok = ();
            type Error = EncodeFailure;

            #[inline]
            fn $method<T: Serialize + ?Sized>(
                &mut self,
                $(_key: $key,)?
                value: &T,
            ) -> Result<(), EncodeFailure> {
                value.serialize(&mut **self)
            }

            #[inline]
            fn end(self) -> Result<(), EncodeFailure> {
                Ok(())
            }
        }
    )*};
}

compound! {
    SerializeSeq::serialize_element(),
    SerializeTuple::serialize_element(),
    SerializeTupleStruct::serialize_field(),
    SerializeTupleVariant::serialize_field(),
    SerializeStruct::serialize_field(&'static str),
    SerializeStructVariant::serialize_field(&'static str),
}

impl<W: io::Write> ser::SerializeMap for &mut Serializer<W> {
    type Ok = ();
    type Error = EncodeFailure;

    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EncodeFailure> {
        key.serialize(&mut **self)
    }

    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeFailure> {
        value.serialize(&mut **self)
    }

    #[inline]
    fn end(self) -> Result<(), EncodeFailure> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::{IpAddr, SocketAddr};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use proptest::prelude::*;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::*;

    /// Every shape of serde's data model, and std types whose encoding
    /// depends on `is_human_readable`.
    #[derive(Serialize, Deserialize, Debug, Clone)]
    struct Everything {
        flags: (bool, u8, i8),
        unsigned: (u16, u32, u64, u128, usize),
        signed: (i16, i32, i64, i128, isize),
        floats: (f32, f64),
        text: (char, String),
        #[serde(with = "byte_string")]
        bytes: Vec<u8>,
        optional: Option<Option<u32>>,
        units: ((), Unit),
        newtype: Newtype,
        tuple_struct: Pair,
        seq: Vec<i32>,
        map: BTreeMap<String, u64>,
        variants: Vec<Variant>,
        addrs: (IpAddr, SocketAddr),
        times: (Duration, SystemTime),
        #[serde(serialize_with = "shown", deserialize_with = "parsed")]
        shown: u64,
    }

    /// Through `collect_str`, as types that serialize their `Display` do.
    fn shown<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(n)
    }

    fn parsed<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }

    #[derive(Serialize, Deserialize, Debug, Clone)]
    struct Unit;

    #[derive(Serialize, Deserialize, Debug, Clone)]
    struct Newtype(i64);

    #[derive(Serialize, Deserialize, Debug, Clone)]
    struct Pair(u32, String);

    #[derive(Serialize, Deserialize, Debug, Clone)]
    enum Variant {
        Unit,
        Newtype(i16),
        Tuple(u8, char),
        Struct { a: u64, b: Option<String> },
    }

    /// A `Vec<u8>` that serde sees as one byte string, not a sequence.
    mod byte_string {
        use serde::{Deserialize, Deserializer, Serializer};

        pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }

        pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            // bincode reads a byte string the way it reads a `Vec<u8>`.
            Vec::deserialize(d)
        }
    }

    /// Integers anywhere in the range, and near every varint boundary: as
    /// they are (for the unsigned types), and halved with either sign (which
    /// zigzag puts back on the boundaries, for the signed types).
    fn int() -> impl Strategy<Value = u128> {
        let edges = [251u128, 1 << 16, 1 << 32, 1 << 64];
        let near = move |halved: bool, negated: bool| {
            (0..edges.len(), -3i64..=3).prop_map(move |(i, d)| {
                let edge = if halved { edges[i] / 2 } else { edges[i] };
                let v = edge.wrapping_add_signed(d.into());
                if negated { v.wrapping_neg() } else { v }
            })
        };
        prop_oneof![
            0..600u128,
            near(false, false),
            near(true, false),
            near(true, true),
            any::<u128>(),
            any::<u64>().prop_map(u128::from),
        ]
    }

    fn everything() -> impl Strategy<Value = Everything> {
        let ints = prop::array::uniform10(int());
        let variant = prop_oneof![
            Just(Variant::Unit),
            int().prop_map(|v| Variant::Newtype(v as i16)),
            (any::<u8>(), any::<char>()).prop_map(|(a, c)| Variant::Tuple(a, c)),
            (int(), prop::option::of(".{0,5}"))
                .prop_map(|(a, b)| Variant::Struct { a: a as u64, b }),
        ];
        (
            (any::<bool>(), any::<u8>(), any::<i8>(), ints),
            (any::<f32>(), any::<f64>(), any::<char>(), ".{0,300}"),
            prop::collection::vec(any::<u8>(), 0..300),
            any::<Option<Option<u32>>>(),
            (int(), ".{0,8}"),
            prop::collection::vec(any::<i32>(), 0..300),
            prop::collection::btree_map(".{0,4}", any::<u64>(), 0..8),
            prop::collection::vec(variant, 0..6),
            (any::<IpAddr>(), any::<SocketAddr>(), any::<Duration>()),
            (any::<u64>(), any::<u64>()),
        )
            .prop_map(
                |(
                    (flag, byte, small, ints),
                    (f, d, c, string),
                    bytes,
                    optional,
                    (n, name),
                    seq,
                    map,
                    variants,
                    (ip, socket, duration),
                    (since_epoch, shown),
                )| Everything {
                    flags: (flag, byte, small),
                    unsigned: (
                        ints[0] as u16,
                        ints[1] as u32,
                        ints[2] as u64,
                        ints[3],
                        ints[4] as usize,
                    ),
                    signed: (
                        ints[5] as i16,
                        ints[6] as i32,
                        ints[7] as i64,
                        ints[8] as i128,
                        ints[9] as isize,
                    ),
                    floats: (f, d),
                    text: (c, string),
                    bytes,
                    optional,
                    units: ((), Unit),
                    newtype: Newtype(n as i64),
                    tuple_struct: Pair(n as u32, name),
                    seq,
                    map,
                    variants,
                    addrs: (ip, socket),
                    times: (duration, UNIX_EPOCH + Duration::from_nanos(since_epoch)),
                    shown,
                },
            )
    }

    fn our_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeFailure> {
        let mut out = Vec::new();
        encode(value, &mut out)?;
        Ok(out)
    }

    fn bincode_bytes<T: Serialize>(value: &T) -> Vec<u8> {
        bincode::serde::encode_to_vec(value, bincode::config::standard()).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn writes_the_bytes_bincode_writes(value in everything()) {
            let bytes = our_bytes(&value).unwrap();
            prop_assert_eq!(&bytes, &bincode_bytes(&value));
            // And bincode reads them back as the same value (compared by
            // encoding, as NaN is not equal to itself).
            let (back, read): (Everything, usize) =
                bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
            prop_assert_eq!(read, bytes.len());
            prop_assert_eq!(our_bytes(&back).unwrap(), bytes);
        }

        #[test]
        fn integers_match_at_every_width(v in int()) {
            prop_assert_eq!(our_bytes(&(v as u16)).unwrap(), bincode_bytes(&(v as u16)));
            prop_assert_eq!(our_bytes(&(v as i16)).unwrap(), bincode_bytes(&(v as i16)));
            prop_assert_eq!(our_bytes(&(v as u32)).unwrap(), bincode_bytes(&(v as u32)));
            prop_assert_eq!(our_bytes(&(v as i32)).unwrap(), bincode_bytes(&(v as i32)));
            prop_assert_eq!(our_bytes(&(v as u64)).unwrap(), bincode_bytes(&(v as u64)));
            prop_assert_eq!(our_bytes(&(v as i64)).unwrap(), bincode_bytes(&(v as i64)));
            prop_assert_eq!(our_bytes(&v).unwrap(), bincode_bytes(&v));
            prop_assert_eq!(our_bytes(&(v as i128)).unwrap(), bincode_bytes(&(v as i128)));
        }
    }

    #[test]
    fn varints_by_hand() {
        // From bincode's specification: the marker, then little-endian bytes.
        assert_eq!(our_bytes(&250u64).unwrap(), [250]);
        assert_eq!(our_bytes(&251u64).unwrap(), [251, 251, 0]);
        assert_eq!(our_bytes(&65_536u32).unwrap(), [252, 0, 0, 1, 0]);
        assert_eq!(
            our_bytes(&(1u64 << 32)).unwrap(),
            [253, 0, 0, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(our_bytes(&-1i32).unwrap(), [1]);
        assert_eq!(our_bytes(&i16::MIN).unwrap(), [251, 0xff, 0xff]);
        let mut long = vec![254];
        long.extend_from_slice(&(1u128 << 64).to_le_bytes());
        assert_eq!(our_bytes(&(1u128 << 64)).unwrap(), long);
        assert_eq!(our_bytes("hé").unwrap(), [3, b'h', 0xc3, 0xa9]);
    }

    /// A sequence, or a map, that does not say how long it is.
    enum Unsized {
        Seq,
        Map,
    }

    impl Serialize for Unsized {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::{SerializeMap, SerializeSeq};
            match self {
                Unsized::Seq => {
                    let mut seq = s.serialize_seq(None)?;
                    seq.serialize_element(&1u8)?;
                    seq.end()
                }
                Unsized::Map => {
                    let mut map = s.serialize_map(None)?;
                    map.serialize_entry(&1u8, &2u8)?;
                    map.end()
                }
            }
        }
    }

    #[test]
    fn a_collection_without_a_length_is_refused_as_bincode_refuses_it() {
        for (value, what) in [(Unsized::Seq, "sequence"), (Unsized::Map, "map")] {
            let err = our_bytes(&value).unwrap_err();
            assert!(matches!(err, EncodeFailure::UnknownLength(w) if w == what));
            assert!(
                err.to_string().contains("bincode writes the length first"),
                "{err}"
            );
            assert!(
                bincode::serde::encode_to_vec(value, bincode::config::standard()).is_err(),
                "bincode refuses the {what} too"
            );
        }
    }

    /// An enum variant of any index, in each of serde's four variant shapes.
    struct Indexed {
        index: u32,
        shape: u8,
    }

    impl Serialize for Indexed {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::{SerializeStructVariant, SerializeTupleVariant};
            let (name, index, variant) = ("E", self.index, "V");
            match self.shape {
                0 => s.serialize_unit_variant(name, index, variant),
                1 => s.serialize_newtype_variant(name, index, variant, &300u16),
                2 => {
                    let mut t = s.serialize_tuple_variant(name, index, variant, 2)?;
                    t.serialize_field(&-1i8)?;
                    t.serialize_field("x")?;
                    t.end()
                }
                _ => {
                    let mut t = s.serialize_struct_variant(name, index, variant, 1)?;
                    t.serialize_field("a", &Some(7u64))?;
                    t.end()
                }
            }
        }
    }

    proptest! {
        #[test]
        fn variant_indices_match_at_every_width(
            index in prop_oneof![
                prop::sample::select(vec![0, 250, 251, 65_535, 65_536, u32::MAX]),
                any::<u32>(),
            ],
            shape in 0u8..4,
        ) {
            let value = Indexed { index, shape };
            prop_assert_eq!(our_bytes(&value).unwrap(), bincode_bytes(&value));
        }
    }

    #[test]
    fn lengths_past_a_one_byte_varint_match() {
        for len in [250, 251, 65_535, 65_536, 70_000] {
            let text = "a".repeat(len);
            assert_eq!(our_bytes(&text).unwrap(), bincode_bytes(&text));
            let seq = vec![1u16; len];
            assert_eq!(our_bytes(&seq).unwrap(), bincode_bytes(&seq));
        }
    }

    /// serde's other enum representations, which serialize through structs
    /// (bincode cannot decode them: they need `deserialize_any`, but a sender
    /// can encode them), and flattening, which serializes through a map of
    /// unknown length.
    #[test]
    fn tagged_and_untagged_shapes_match_and_flattening_is_refused() {
        #[derive(Serialize)]
        #[serde(tag = "t")]
        enum Internal {
            A { n: u32 },
        }
        #[derive(Serialize)]
        #[serde(tag = "t", content = "c")]
        enum Adjacent {
            A(i64),
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Untagged {
            A(String),
        }
        #[derive(Serialize)]
        struct Flat {
            a: u8,
            #[serde(flatten)]
            rest: BTreeMap<String, u8>,
        }
        fn same<T: Serialize>(value: &T) {
            assert_eq!(our_bytes(value).unwrap(), bincode_bytes(value));
        }
        same(&Internal::A { n: 300 });
        same(&Adjacent::A(-300));
        same(&Untagged::A("x".into()));
        // Flattening serializes a map of unknown length: refused by both.
        let flat = Flat {
            a: 1,
            rest: BTreeMap::from([("b".to_string(), 2)]),
        };
        assert!(matches!(
            our_bytes(&flat),
            Err(EncodeFailure::UnknownLength("map"))
        ));
        assert!(bincode::serde::encode_to_vec(&flat, bincode::config::standard()).is_err());
    }

    /// A value whose `Serialize` fails.
    struct Refuses;

    impl Serialize for Refuses {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("the lock is poisoned"))
        }
    }

    #[test]
    fn a_serialize_error_keeps_its_text() {
        let err = our_bytes(&(1u8, Refuses)).unwrap_err();
        assert!(matches!(&err, EncodeFailure::Custom(text) if text == "the lock is poisoned"));
        assert_eq!(err.to_string(), "the lock is poisoned");
    }
}
