//! Keeps a lying length prefix from costing more than the body it came in:
//! caps the length hints that serde's collections preallocate from, bounds
//! the items a decode may yield, and reads strings in place.
//!
//! serde's `Deserialize` impls for `Vec`, `VecDeque`, `HashMap`, `HashSet`
//! and the like reserve `size_hint::cautious(access.size_hint())` elements
//! before reading any: up to 1 MiB of elements, whatever a length prefix
//! claims, and a hash table rounds that up further. [`Capped`] wraps a
//! deserializer so that the size hints of every `SeqAccess` and `MapAccess`
//! it hands out, at any depth, are drawn from one reservation per decode:
//! each hint is at most what is left of it, and is taken out of it. With the
//! reservation set to the length of the body in bytes, lying prefixes can
//! make the collections of one decode, nested ones and open ones together,
//! reserve no more elements than the body has bytes: as many as an honest
//! body of 1-byte elements would fill, whose hints all stay exact. (Capping
//! each hint on its own would not do: a type that contains itself nests a
//! collection in a collection, and each open one would keep its reservation
//! while the next one is read.)
//!
//! Elements that take no byte of body (`()`, unit structs, structs whose
//! fields are all skipped) would let a prefix claiming 2^60 of them loop for
//! ever, or allocate per element. The sequence elements and map entries of
//! one decode, at every depth together, are therefore counted against a
//! budget of the body's length, and the decode fails past it: an honest body
//! of elements that take a byte each never reaches it. The fields of tuples
//! and structs, whose number the type fixes, do not count.
//!
//! Values nested in values (structs, tuples, sequences, maps, enums,
//! options, newtype structs) may be at most [`MAX_DEPTH`] deep. A type that
//! contains itself (`struct Node { kids: Vec<Node> }`) would otherwise let a
//! crafted body recurse once per byte of body, and a few thousand bytes
//! would overflow the receiving thread's stack, which aborts the process.
//!
//! Owned strings and byte buffers are asked of the wrapped deserializer as
//! borrowed ones (`deserialize_str` for `deserialize_string`,
//! `deserialize_bytes` for `deserialize_byte_buf`), and the visitor is handed
//! an owned copy (`visit_string`, `visit_byte_buf`), which is what it asked
//! for. A deserializer reading from a slice then checks the length against
//! the bytes it has before anything is allocated, where bincode's owned
//! decoders allocate the claimed length first.
//!
//! Besides that, every value, error and byte read is the wrapped
//! deserializer's. The wrapping follows values down through every way serde
//! hands one on: visitors, seeds of elements, keys and values, `Option`'s
//! `visit_some`, newtype structs, and enum variants.

use std::cell::Cell;
use std::fmt;

use crate::codec::CodecError;

use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// How deep values may nest in one another: serde_json's default recursion
/// limit. A decode this deep took under 48 KiB of stack in a release build
/// and under 384 KiB in a debug build (measured with a self-containing enum
/// and struct), well within a spawned thread's default 2 MiB.
pub(crate) const MAX_DEPTH: usize = 128;

/// What one decode may still reserve and yield, shared by every wrapper of
/// the decode.
pub(crate) struct DecodeLimits {
    /// Elements the size hints of its collections may still add up to.
    pub(crate) reserve: Cell<usize>,
    /// Sequence elements and map entries it may still yield.
    pub(crate) items: Cell<usize>,
    /// The bound the body crossed, if it crossed one: the decode failed
    /// there, in whatever words the format gives a custom error.
    pub(crate) crossed: Cell<Option<Bound>>,
}

/// A bound of [`DecodeLimits`] that a body can cross.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bound {
    /// Values nest more than [`MAX_DEPTH`] deep.
    Depth,
    /// More items than the budget.
    Items,
}

impl Bound {
    /// What crossing the bound means, for the decode's error.
    pub(crate) fn sentence(self) -> &'static str {
        // The sentence names the limit.
        const _: () = assert!(MAX_DEPTH == 128);
        match self {
            Bound::Depth => {
                "values nest more than 128 levels deep: a message type that contains itself \
                 was sent a body nested deeper than ipcq decodes"
            }
            Bound::Items => {
                "more sequence elements and map entries than the body has bytes: a length \
                 prefix claims more than the body holds, or the value has more elements that \
                 take no bytes (`()`, unit structs) than ipcq decodes, which is one per byte \
                 of body"
            }
        }
    }
}

impl DecodeLimits {
    /// The limits of a decode from a body of `len` bytes: `len` elements
    /// reserved and `len` items yielded.
    pub(crate) fn of_body(len: usize) -> Self {
        DecodeLimits {
            reserve: Cell::new(len),
            items: Cell::new(len),
            crossed: Cell::new(None),
        }
    }

    /// The codec's `error` for a decode within these limits: the bound the
    /// body crossed, if it crossed one, since a format may word the custom
    /// error it was handed its own way (postcard: "Serde Deserialization
    /// Error").
    #[cold]
    pub(crate) fn explain(&self, error: CodecError) -> CodecError {
        match self.crossed.get() {
            Some(bound) => CodecError::new(bound.sentence()),
            None => error,
        }
    }

    /// Records that the body crossed `bound`, and the error that stops the
    /// decode there.
    #[cold]
    #[inline(never)]
    fn cross<E: serde::de::Error>(&self, bound: Bound) -> E {
        self.crossed.set(Some(bound));
        E::custom(bound.sentence())
    }
}

/// A deserializer, visitor, seed or access whose collections draw their size
/// hints from, and count their items against, the [`DecodeLimits`] of one decode.
pub(crate) struct Capped<'b, T> {
    inner: T,
    limits: &'b DecodeLimits,
    /// How many values this one is inside. It is handed down, never back
    /// up: values side by side are at the same depth, and nothing needs
    /// doing after a nested value is decoded.
    depth: usize,
    /// Whether this visitor or access is for a sequence or map whose length
    /// came from the body, whose items then count against the budget. The
    /// fields of tuples and structs, fixed by the type, do not.
    counted: bool,
}

impl<'b, T> Capped<'b, T> {
    /// Wraps `inner`, drawing the size hints it hands out from `limits`,
    /// counting the sequence elements and map entries of the whole decode
    /// against them, and capping the nesting of its values at [`MAX_DEPTH`].
    pub(crate) fn new(inner: T, limits: &'b DecodeLimits) -> Self {
        Capped {
            inner,
            limits,
            depth: 0,
            counted: false,
        }
    }

    #[inline]
    fn wrap<U>(&self, inner: U) -> Capped<'b, U> {
        Capped {
            inner,
            limits: self.limits,
            depth: self.depth,
            counted: false,
        }
    }

    /// As [`wrap`](Self::wrap), for what a visitor hands on to decode the
    /// values inside its own (a sequence, a map, an enum's variant, an
    /// option's or newtype's content): one level deeper, once
    /// [`within_depth`](Self::within_depth) has allowed it.
    ///
    /// Counted where the values inside are handed on, whichever
    /// `deserialize_*` asked for the value: a format may answer any of them
    /// with a sequence or map (an ignored value forwarded to
    /// `deserialize_any`, bytes given as a sequence). And counted in the
    /// visitor rather than in `deserialize_*`, whose result then needs no
    /// second path out, which would cost large values a move.
    /// (The check and the wrapping are two calls: one returning the
    /// wrapper in a `Result` cost a typed receive an extra 4 KiB move.)
    #[inline]
    fn nest<U>(&self, inner: U) -> Capped<'b, U> {
        Capped {
            depth: self.depth + 1,
            ..self.wrap(inner)
        }
    }

    /// Fails if the values inside this visitor's would be deeper than
    /// [`MAX_DEPTH`]; see [`nest`](Self::nest).
    #[inline]
    fn within_depth<E: serde::de::Error>(&self) -> Result<(), E> {
        if self.depth >= MAX_DEPTH {
            return Err(self.limits.cross(Bound::Depth));
        }
        Ok(())
    }

    /// As [`wrap`](Self::wrap), counting the items of what `inner` hands on
    /// if `counted`.
    #[inline]
    fn wrap_counted<U>(&self, inner: U, counted: bool) -> Capped<'b, U> {
        Capped {
            counted,
            ..self.wrap(inner)
        }
    }

    /// Before asking a counted access for its next item: counts it, failing
    /// once there are more than the budget allows. `remaining` is the
    /// access's size hint; bincode's is exact, so an access that says none
    /// is left costs nothing. (Counting before the read, not after, lets the
    /// item be returned without being moved again.)
    #[inline]
    fn count_next<E: serde::de::Error>(&self, remaining: Option<usize>) -> Result<(), E> {
        if !self.counted || remaining == Some(0) {
            return Ok(());
        }
        match self.limits.items.get().checked_sub(1) {
            Some(left) => {
                self.limits.items.set(left);
                Ok(())
            }
            None => Err(self.limits.cross(Bound::Items)),
        }
    }

    /// `hint`, cut to what is left of the decode's reservation and taken out
    /// of it. serde's collections ask once, before reading; a visitor that
    /// asks again only gets smaller hints, which are advice, not limits.
    #[inline]
    fn hint(&self, hint: Option<usize>) -> Option<usize> {
        hint.map(|n| {
            let left = self.limits.reserve.get();
            let n = n.min(left);
            self.limits.reserve.set(left - n);
            n
        })
    }
}

impl<'b, 'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Capped<'b, S> {
    type Value = S::Value;

    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        let deserializer = self.wrap(deserializer);
        self.inner.deserialize(deserializer)
    }
}

/// Forwards `deserialize_*` methods, wrapping the visitor.
macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(
            self,
            $($arg: $ty,)*
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            let visitor = self.wrap(visitor);
            self.inner.$method($($arg,)* visitor)
        }
    )*};
}

impl<'b, 'de, D: Deserializer<'de>> Deserializer<'de> for Capped<'b, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any();
        deserialize_option();
        deserialize_newtype_struct(name: &'static str);
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_bytes();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    /// A collection whose length the body gives: its items count.
    #[inline]
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let visitor = self.wrap_counted(visitor, true);
        self.inner.deserialize_seq(visitor)
    }

    /// As [`deserialize_seq`](Self::deserialize_seq).
    #[inline]
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let visitor = self.wrap_counted(visitor, true);
        self.inner.deserialize_map(visitor)
    }

    /// Asks for a borrowed string instead, and hands the visitor an owned
    /// copy of it: the deserializer then checks the length against the body
    /// before anything is allocated, and the visitor gets the `String` it
    /// asked for, allocated once, as bincode would have.
    ///
    /// The visitor is wrapped as a sequence's would be: a self-describing
    /// format may answer with a sequence (serde_json gives bytes as an
    /// array), whose items count and whose length hint is capped.
    #[inline]
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let inner = self.wrap_counted(visitor, true);
        self.inner.deserialize_str(Owned { inner })
    }

    /// As [`deserialize_string`](Self::deserialize_string), for bytes.
    #[inline]
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let inner = self.wrap_counted(visitor, true);
        self.inner.deserialize_bytes(Owned { inner })
    }

    #[inline]
    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Forwards `visit_*` methods that take a plain value.
macro_rules! forward_visit {
    ($($method:ident($ty:ty);)*) => {$(
        #[inline]
        fn $method<E: serde::de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

/// Forwards the `visit_*` methods of numbers, `bool`, `char`, `None` and
/// `()`, which every wrapping visitor here passes on as they are.
macro_rules! forward_visit_scalars {
    () => {
        #[inline]
        fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
            self.inner.visit_none()
        }

        #[inline]
        fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
            self.inner.visit_unit()
        }

        forward_visit! {
            visit_bool(bool);
            visit_i8(i8);
            visit_i16(i16);
            visit_i32(i32);
            visit_i64(i64);
            visit_i128(i128);
            visit_u8(u8);
            visit_u16(u16);
            visit_u32(u32);
            visit_u64(u64);
            visit_u128(u128);
            visit_f32(f32);
            visit_f64(f64);
            visit_char(char);
        }
    };
}

impl<'b, 'de, V: Visitor<'de>> Visitor<'de> for Capped<'b, V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(formatter)
    }

    forward_visit_scalars!();

    forward_visit! {
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }

    #[inline]
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.within_depth()?;
        let deserializer = self.nest(deserializer);
        self.inner.visit_some(deserializer)
    }

    #[inline]
    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.within_depth()?;
        let deserializer = self.nest(deserializer);
        self.inner.visit_newtype_struct(deserializer)
    }

    #[inline]
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.within_depth()?;
        // Its items count if this visitor was asked for a length-prefixed sequence.
        let seq = Capped {
            counted: self.counted,
            ..self.nest(seq)
        };
        self.inner.visit_seq(seq)
    }

    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.within_depth()?;
        let map = Capped {
            counted: self.counted,
            ..self.nest(map)
        };
        self.inner.visit_map(map)
    }

    #[inline]
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.within_depth()?;
        let data = self.nest(data);
        self.inner.visit_enum(data)
    }
}

impl<'b, 'de, A: SeqAccess<'de>> SeqAccess<'de> for Capped<'b, A> {
    type Error = A::Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.count_next(self.inner.size_hint())?;
        let seed = self.wrap(seed);
        self.inner.next_element_seed(seed)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.hint(self.inner.size_hint())
    }
}

impl<'b, 'de, A: MapAccess<'de>> MapAccess<'de> for Capped<'b, A> {
    type Error = A::Error;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.count_next(self.inner.size_hint())?;
        let seed = self.wrap(seed);
        self.inner.next_key_seed(seed)
    }

    #[inline]
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_value_seed(seed)
    }

    #[inline]
    fn next_entry_seed<K: DeserializeSeed<'de>, T: DeserializeSeed<'de>>(
        &mut self,
        kseed: K,
        vseed: T,
    ) -> Result<Option<(K::Value, T::Value)>, A::Error> {
        self.count_next(self.inner.size_hint())?;
        let (kseed, vseed) = (self.wrap(kseed), self.wrap(vseed));
        self.inner.next_entry_seed(kseed, vseed)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.hint(self.inner.size_hint())
    }
}

impl<'b, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Capped<'b, A> {
    type Error = A::Error;
    type Variant = Capped<'b, A::Variant>;

    #[inline]
    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Capped<'b, A::Variant>), A::Error> {
        let seed = self.wrap(seed);
        let (value, variant) = self.inner.variant_seed(seed)?;
        let variant = Capped {
            inner: variant,
            limits: self.limits,
            depth: self.depth,
            counted: false,
        };
        Ok((value, variant))
    }
}

impl<'b, 'de, A: VariantAccess<'de>> VariantAccess<'de> for Capped<'b, A> {
    type Error = A::Error;

    #[inline]
    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    #[inline]
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.newtype_variant_seed(seed)
    }

    #[inline]
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = self.wrap(visitor);
        self.inner.tuple_variant(len, visitor)
    }

    #[inline]
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = self.wrap(visitor);
        self.inner.struct_variant(fields, visitor)
    }
}

/// A visitor that asked for an owned string or byte buffer, given a borrowed
/// one: it gets an owned copy. Whatever else the format hands it (a
/// self-describing format may give bytes as a sequence) goes on to the
/// visitor unchanged.
struct Owned<V> {
    inner: V,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Owned<V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(formatter)
    }

    #[inline]
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.inner.visit_string(v.to_owned())
    }

    #[inline]
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<V::Value, E> {
        self.inner.visit_byte_buf(v.to_vec())
    }

    forward_visit_scalars!();

    forward_visit! {
        visit_string(String);
        visit_byte_buf(Vec<u8>);
    }

    #[inline]
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(deserializer)
    }

    #[inline]
    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(deserializer)
    }

    #[inline]
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(seq)
    }

    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(map)
    }

    #[inline]
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(data)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};
    use std::marker::PhantomData;

    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Serialize};

    use super::*;

    /// Decodes with bincode's standard configuration, hints drawn from a
    /// reservation of `cap`, as many items as the body has bytes.
    fn decode<T: DeserializeOwned>(bytes: &[u8], cap: usize) -> Result<(T, usize), String> {
        decode_with(bytes, cap, bytes.len())
    }

    /// As [`decode`], with a budget of `items`.
    fn decode_with<T: DeserializeOwned>(
        bytes: &[u8],
        cap: usize,
        items: usize,
    ) -> Result<(T, usize), String> {
        let limits = DecodeLimits {
            reserve: Cell::new(cap),
            items: Cell::new(items),
            crossed: Cell::new(None),
        };
        let seed = Capped::new(PhantomData::<T>, &limits);
        bincode::serde::seed_decode_from_slice(seed, bytes, bincode::config::standard())
            .map_err(|e| e.to_string())
    }

    /// Deserializes as a sequence or map and keeps the hint it was given,
    /// without reading an element.
    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct Hint(Option<usize>);

    impl<'de> Deserialize<'de> for Hint {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Hint;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a sequence")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Hint, A::Error> {
                    Ok(Hint(seq.size_hint()))
                }
            }
            deserializer.deserialize_seq(V)
        }
    }

    #[derive(Debug, PartialEq)]
    struct MapHint(Option<usize>);

    impl<'de> Deserialize<'de> for MapHint {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = MapHint;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a map")
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MapHint, A::Error> {
                    Ok(MapHint(map.size_hint()))
                }
            }
            deserializer.deserialize_map(V)
        }
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Newtype(Hint);

    #[derive(Deserialize, Debug, PartialEq)]
    enum Shapes {
        Newtype(Hint),
        Tuple(u8, Hint),
        Struct { a: u8, b: Hint },
    }

    /// bincode's varint of a u64 in its 9-byte form.
    fn claim(n: u64) -> Vec<u8> {
        let mut out = vec![0xfd];
        out.extend(n.to_le_bytes());
        out
    }

    const LIE: u64 = 1 << 30;

    #[test]
    fn hints_are_capped_at_every_depth() {
        let lie = claim(LIE);
        let cap = 16;
        let at = |prefix: &[u8]| [prefix, &lie].concat();
        let capped = Some(cap);
        assert_eq!(decode::<Hint>(&lie, cap).unwrap().0, Hint(capped));
        assert_eq!(decode::<MapHint>(&lie, cap).unwrap().0, MapHint(capped));
        assert_eq!(
            decode::<Hint>(&lie, usize::MAX).unwrap().0,
            Hint(Some(1 << 30))
        );
        // Option's visit_some, a newtype struct, a tuple's element.
        let some = decode::<Option<Hint>>(&at(&[1]), cap).unwrap().0;
        assert_eq!(some, Some(Hint(capped)));
        assert_eq!(
            decode::<Newtype>(&lie, cap).unwrap().0,
            Newtype(Hint(capped))
        );
        assert_eq!(
            decode::<(u8, Hint)>(&at(&[7]), cap).unwrap().0,
            (7, Hint(capped))
        );
        // A sequence's element and a map's key and value.
        // (The vector itself took one element of the reservation.)
        let vec = decode::<Vec<Hint>>(&at(&[1]), cap).unwrap().0;
        assert_eq!(vec, [Hint(Some(cap - 1))]);
        let value = decode::<BTreeMap<u8, Hint>>(&at(&[1, 3]), cap).unwrap().0;
        assert_eq!(value, BTreeMap::from([(3, Hint(capped))]));
        let key = decode::<BTreeMap<Hint, u8>>(&[&at(&[1])[..], &[5]].concat(), cap);
        assert_eq!(key.unwrap().0, BTreeMap::from([(Hint(capped), 5)]));
        // Enum variants: newtype, tuple and struct.
        let newtype = decode::<Shapes>(&at(&[0]), cap).unwrap().0;
        assert_eq!(newtype, Shapes::Newtype(Hint(capped)));
        let tuple = decode::<Shapes>(&at(&[1, 9]), cap).unwrap().0;
        assert_eq!(tuple, Shapes::Tuple(9, Hint(capped)));
        let fields = decode::<Shapes>(&at(&[2, 9]), cap).unwrap().0;
        assert_eq!(
            fields,
            Shapes::Struct {
                a: 9,
                b: Hint(capped)
            }
        );
    }

    #[test]
    fn the_collections_of_one_decode_share_one_reservation() {
        let lie = claim(LIE);
        let cap = 16;
        let two = decode::<(Hint, MapHint)>(&[&lie[..], &lie].concat(), cap);
        assert_eq!(two.unwrap().0, (Hint(Some(cap)), MapHint(Some(0))));
        // Honest lengths that add up to the reservation keep exact hints.
        let honest = decode::<(Hint, Hint)>(&[10, 6], cap).unwrap().0;
        assert_eq!(honest, (Hint(Some(10)), Hint(Some(6))));
        // Nested lies: each open collection keeps what it reserved, and the
        // next one in it gets what is left.
        let nested = decode::<Vec<Vec<Hint>>>(&[&[1, 1][..], &lie].concat(), cap).unwrap();
        assert_eq!(nested.0, [[Hint(Some(cap - 2))]]);
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Everything {
        Unit,
        Newtype(Option<Vec<u32>>),
        Tuple(u128, i64, char, String),
        Struct {
            bytes: Vec<u8>,
            map: HashMap<String, Vec<(u16, bool)>>,
            set: HashSet<i8>,
            nested: Vec<Vec<Option<f64>>>,
            unit: (),
        },
    }

    #[test]
    fn honest_values_round_trip_unchanged() {
        let values = vec![
            Everything::Unit,
            Everything::Newtype(None),
            Everything::Newtype(Some((0..1000).collect())),
            Everything::Tuple(u128::MAX, -5, 'é', "text".into()),
            Everything::Struct {
                bytes: vec![0; 300],
                map: HashMap::from([("a".into(), vec![(1, true); 50]), (String::new(), vec![])]),
                set: (-100..100).collect(),
                nested: vec![vec![Some(1.5), None]; 40],
                unit: (),
            },
        ];
        let config = bincode::config::standard();
        let bytes = bincode::serde::encode_to_vec(&values, config).unwrap();
        // The tightest cap that still lets every element take a byte.
        let (decoded, read) = decode::<Vec<Everything>>(&bytes, bytes.len()).unwrap();
        assert_eq!(read, bytes.len());
        assert_eq!(decoded, values);
        // Even a cap of 0 only changes the hints, never the value.
        assert_eq!(decode::<Vec<Everything>>(&bytes, 0).unwrap().0, values);
    }

    /// A string whose visitor takes only owned strings, as some hand-written
    /// `Deserialize` impls do.
    #[derive(Debug, PartialEq)]
    struct OwnedText(String);

    impl<'de> Deserialize<'de> for OwnedText {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct V;
            // The misuse clippy warns of is the point: such impls exist.
            #[allow(clippy::serde_api_misuse)]
            impl Visitor<'_> for V {
                type Value = OwnedText;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an owned string")
                }
                fn visit_string<E>(self, v: String) -> Result<OwnedText, E> {
                    Ok(OwnedText(v))
                }
            }
            deserializer.deserialize_string(V)
        }
    }

    /// Bytes whose visitor takes only an owned buffer.
    #[derive(Debug, PartialEq)]
    struct OwnedBytes(Vec<u8>);

    impl<'de> Deserialize<'de> for OwnedBytes {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = OwnedBytes;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an owned byte buffer")
                }
                fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<OwnedBytes, E> {
                    Ok(OwnedBytes(v))
                }
            }
            deserializer.deserialize_byte_buf(V)
        }
    }

    #[test]
    fn visitors_that_take_only_owned_strings_get_them() {
        let body = [3, b'a', b'b', b'c', 2, 7, 8];
        let (value, read) = decode::<(OwnedText, OwnedBytes)>(&body, body.len()).unwrap();
        assert_eq!(read, body.len());
        assert_eq!(value, (OwnedText("abc".into()), OwnedBytes(vec![7, 8])));
    }

    /// Zero bytes on the wire, and no bytes of the body spent per element.
    #[derive(Deserialize, Debug, PartialEq)]
    struct Skipped {
        #[serde(skip)]
        _pad: [u64; 4],
    }

    #[test]
    fn elements_that_take_no_body_cannot_outnumber_its_bytes() {
        // A 9-byte body claiming 2^20 elements of nothing: without a budget
        // they decode (2^60 would loop for ever, and allocate 32 bytes each).
        let body = claim(1 << 20);
        let err = decode::<Vec<()>>(&body, body.len()).unwrap_err();
        assert!(err.contains("more sequence elements"), "{err}");
        let err = decode::<Vec<Skipped>>(&body, body.len()).unwrap_err();
        assert!(err.contains("more sequence elements"), "{err}");
        let err = decode::<HashMap<(), ()>>(&body, body.len()).unwrap_err();
        assert!(err.contains("more sequence elements"), "{err}");
        // As many as the body has bytes still decode, at any depth: the
        // budget is the decode's, not each collection's.
        let body = [1, 3];
        let (value, _) = decode_with::<Vec<Vec<()>>>(&body, 2, 4).unwrap();
        assert_eq!(value, [vec![(); 3]]);
        assert!(decode_with::<Vec<Vec<()>>>(&body, 2, 3).is_err());
    }

    /// A type that contains itself, one level of nesting per link: a link
    /// is the byte 1, the end the byte 0.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Chain {
        End,
        Link(Box<Chain>),
    }

    impl Chain {
        fn of(links: usize) -> Chain {
            (0..links).fold(Chain::End, |chain, _| Chain::Link(Box::new(chain)))
        }

        fn body(links: usize) -> Vec<u8> {
            let mut body = vec![1; links];
            body.push(0);
            body
        }
    }

    #[test]
    fn values_nest_up_to_the_depth_limit_and_no_deeper() {
        // The end is one level too: MAX_DEPTH - 1 links fill the limit.
        let deepest = Chain::body(MAX_DEPTH - 1);
        let (value, read) = decode::<Chain>(&deepest, deepest.len()).unwrap();
        assert_eq!((value, read), (Chain::of(MAX_DEPTH - 1), deepest.len()));
        let err = decode::<Chain>(&Chain::body(MAX_DEPTH), MAX_DEPTH + 1).unwrap_err();
        assert!(err.contains("more than 128 levels deep"), "{err}");
        // Every kind of nesting counts: a struct, its sequence, an option.
        #[derive(Deserialize, Debug)]
        struct Node {
            _kids: Vec<Node>,
        }
        let err = decode::<Node>(&[1; 100], 100).unwrap_err();
        assert!(err.contains("levels deep"), "{err}");
        #[derive(Deserialize, Debug)]
        struct Linked {
            _next: Option<Box<Linked>>,
        }
        let err = decode::<Linked>(&[1; 100], 100).unwrap_err();
        assert!(err.contains("levels deep"), "{err}");
    }

    #[test]
    fn the_depth_limit_is_per_path_not_per_decode() {
        // Three chains side by side, each near the limit: siblings are at
        // the same depth, not one below the other.
        let links = MAX_DEPTH - 2;
        let body = [&[3][..], &Chain::body(links).repeat(3)].concat();
        let (value, _) = decode::<Vec<Chain>>(&body, body.len()).unwrap();
        assert_eq!(
            value,
            [Chain::of(links), Chain::of(links), Chain::of(links)]
        );
        // And after an error, a new decode starts from the top again.
        assert!(decode::<Chain>(&Chain::body(MAX_DEPTH), 200).is_err());
        assert!(decode::<Chain>(&Chain::body(links), 200).is_ok());
    }

    /// A format that describes itself, as JSON does, one byte a value: 1 is
    /// a sequence of one value, 0 the unit. Like many such formats it
    /// answers every `deserialize_*`, `ignored_any` among them, from what
    /// the bytes say.
    struct SelfDescribing<'a>(&'a [u8]);

    impl<'de> Deserializer<'de> for &mut SelfDescribing<'_> {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match self.0.split_first() {
                Some((1, rest)) => {
                    self.0 = rest;
                    visitor.visit_seq(OneValue(Some(self)))
                }
                Some((0, rest)) => {
                    self.0 = rest;
                    visitor.visit_unit()
                }
                _ => Err(serde::de::Error::custom("not 0 or 1")),
            }
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map struct enum identifier ignored_any
        }
    }

    struct OneValue<'x, 'a>(Option<&'x mut SelfDescribing<'a>>);

    impl<'de> SeqAccess<'de> for OneValue<'_, '_> {
        type Error = serde::de::value::Error;

        fn next_element_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<Option<T::Value>, Self::Error> {
            self.0.take().map(|de| seed.deserialize(de)).transpose()
        }
    }

    /// Owned bytes, as `serde_bytes::ByteBuf` or `CString` take them: given
    /// as bytes, or, by a self-describing format, as a sequence.
    #[derive(Debug, PartialEq)]
    struct Buf(usize);

    impl<'de> Deserialize<'de> for Buf {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Buf;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Buf, E> {
                    Ok(Buf(v.len()))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Buf, A::Error> {
                    let mut n = 0;
                    while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                        n += 1;
                    }
                    Ok(Buf(n))
                }
            }
            deserializer.deserialize_byte_buf(V)
        }
    }

    #[test]
    fn owned_bytes_a_format_gives_as_a_sequence_reach_the_visitor() {
        let limits = DecodeLimits::of_body(2);
        let seed = Capped::new(PhantomData::<Buf>, &limits);
        let buf = seed.deserialize(&mut SelfDescribing(&[1, 0])).unwrap();
        assert_eq!(buf, Buf(1));
        // The sequence's asks counted against the decode's budget: its item,
        // and the ask that found its end, as the format gives no length.
        assert_eq!(limits.items.get(), 0);
        assert_eq!(decode::<Buf>(&[2, 7, 8], 16).unwrap().0, Buf(2));
    }

    #[test]
    fn values_a_type_ignores_count_too() {
        // Ignored values (unknown fields, `#[serde(other)]`) are decoded as
        // IgnoredAny, whatever the body nests: no self-containing type needed.
        let decode = |body: Vec<u8>| {
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || {
                    let limits = DecodeLimits::of_body(body.len());
                    let seed = Capped::new(PhantomData::<serde::de::IgnoredAny>, &limits);
                    seed.deserialize(&mut SelfDescribing(&body))
                        .map_err(|e| e.to_string())
                })
                .unwrap()
                .join()
                .unwrap()
        };
        assert!(decode(vec![1, 1, 0]).is_ok());
        let deep = [vec![1; 100_000], vec![0]].concat();
        let err = decode(deep).unwrap_err();
        assert!(err.contains("more than 128 levels deep"), "{err}");
    }

    #[test]
    fn a_body_nested_a_byte_per_level_fails_instead_of_overflowing_the_stack() {
        // 8,000 levels in a body under the default msgmax: without the limit
        // this recursion overflows a 2 MiB stack (a spawned thread's default,
        // and this test's), which aborts the process.
        let body = Chain::body(8000);
        let err = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || decode::<Chain>(&body, body.len()).unwrap_err())
            .unwrap()
            .join()
            .unwrap();
        assert!(err.contains("levels deep"), "{err}");
    }
}
