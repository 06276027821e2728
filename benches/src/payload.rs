//! What the benchmarks send: an N-byte payload, raw or inside typed messages.
//!
//! The typed messages carry the payload as [`Bytes<N>`], a `[u8; N]` that
//! serde sees as a byte string: bincode writes its length (a varint, 1 byte
//! for 16, 3 bytes for 256 and 4096) and then the bytes in one copy, and reads
//! them back without allocating. A plain `[u8; N]` field would not do: serde
//! implements arrays only up to 32 elements, and encodes them element by
//! element. `Vec<u8>` is measured too ([`VecMsg`]): serde encodes it as a
//! sequence, one `u8` at a time, and decoding allocates the vector.
//!
//! The record messages ([`Rec16`] and its siblings) carry the payload as a
//! `#[ipcq(bytes)]` `[u8; N]` field: the body is the N bytes alone, with
//! neither header nor length prefix, as raw `msgsnd` sends them.

use std::fmt;

use ipcq::{Key, MsgQueue, QueueMessage, TypedQueue};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::cleanup::Guard;
use crate::endpoints::Res;

/// The payload sizes measured, in bytes.
pub(crate) const SIZES: [usize; 3] = [16, 256, 4096];

/// N bytes that serde encodes as one byte string.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bytes<const N: usize>(pub [u8; N]);

impl<const N: usize> Bytes<N> {
    /// A payload whose first byte is `seq` (the receiver sums them as a check).
    pub(crate) fn numbered(seq: u64) -> Self {
        let mut bytes = [0xA5; N];
        bytes[0] = seq as u8;
        Bytes(bytes)
    }
}

impl<const N: usize> fmt::Debug for Bytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes<{N}>([{:#04x}, …])", self.0[0])
    }
}

impl<const N: usize> Serialize for Bytes<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de, const N: usize> Deserialize<'de> for Bytes<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor<const N: usize>;

        impl<'de, const N: usize> Visitor<'de> for BytesVisitor<N> {
            type Value = Bytes<N>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{N} bytes")
            }

            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes<N>, E> {
                v.try_into()
                    .map(Bytes)
                    .map_err(|_| E::invalid_length(v.len(), &self))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes<N>, A::Error> {
                let mut out = [0; N];
                for (i, byte) in out.iter_mut().enumerate() {
                    *byte = seq
                        .next_element()?
                        .ok_or_else(|| de::Error::invalid_length(i, &self))?;
                }
                Ok(Bytes(out))
            }
        }

        deserializer.deserialize_bytes(BytesVisitor::<N>)
    }
}

/// A payload field of the typed messages: [`Bytes<N>`] in a typed variant,
/// or `[u8; N]` in a `#[ipcq(bytes)]` variant, whose body is the array alone.
pub(crate) trait Payload<const N: usize> {
    fn from_array(bytes: [u8; N]) -> Self;
    fn array_mut(&mut self) -> &mut [u8; N];
    fn first(&self) -> u8;
}

impl<const N: usize> Payload<N> for Bytes<N> {
    fn from_array(bytes: [u8; N]) -> Self {
        Bytes(bytes)
    }
    fn array_mut(&mut self) -> &mut [u8; N] {
        &mut self.0
    }
    fn first(&self) -> u8 {
        self.0[0]
    }
}

impl<const N: usize> Payload<N> for [u8; N] {
    fn from_array(bytes: [u8; N]) -> Self {
        bytes
    }
    fn array_mut(&mut self) -> &mut [u8; N] {
        self
    }
    fn first(&self) -> u8 {
        self[0]
    }
}

/// A typed message enum with an N-byte payload, one per size and payload
/// field: the derive takes no generic enums, and a single enum holding all
/// three sizes would be 4 KiB in memory, copied with every 16-byte message.
pub(crate) trait BenchMsg<const N: usize>: QueueMessage + Send + 'static {
    /// A message towards the parent process (mtype 1).
    fn up(payload: Bytes<N>) -> Self;
    /// A message towards the child process (mtype 2).
    fn down(payload: Bytes<N>) -> Self;
    /// The end of a stream (mtype 3).
    fn stop() -> Self;
    /// The payload's first byte, `None` for a stop.
    fn first_byte(&self) -> Option<u8>;
    /// The payload, to change in place; `None` for a stop.
    fn payload_mut(&mut self) -> Option<&mut [u8; N]>;
    /// The mtypes of the variants, in declaration order.
    fn mtypes() -> Vec<i64>;
    /// The kind of [`up`](Self::up) messages.
    fn up_kind() -> Self::Kind;
    /// The kind of [`down`](Self::down) messages.
    fn down_kind() -> Self::Kind;
}

macro_rules! bench_msg {
    ($name:ident, $kind:ident, $n:literal, $payload:ty $(, #[$encoding:meta])?) => {
        #[doc = concat!("Typed messages with a ", stringify!($n), "-byte `", stringify!($payload), "` payload.")]
        #[derive(QueueMessage, Debug, PartialEq)]
        pub(crate) enum $name {
            /// Towards the parent.
            $(#[$encoding])?
            Up($payload),
            /// Towards the child.
            $(#[$encoding])?
            Down($payload),
            /// End of a stream.
            Stop,
        }

        impl BenchMsg<$n> for $name {
            fn up(payload: Bytes<$n>) -> Self {
                $name::Up(Payload::from_array(payload.0))
            }
            fn down(payload: Bytes<$n>) -> Self {
                $name::Down(Payload::from_array(payload.0))
            }
            fn stop() -> Self {
                $name::Stop
            }
            fn first_byte(&self) -> Option<u8> {
                match self {
                    $name::Up(b) | $name::Down(b) => Some(Payload::<$n>::first(b)),
                    $name::Stop => None,
                }
            }
            fn payload_mut(&mut self) -> Option<&mut [u8; $n]> {
                match self {
                    $name::Up(b) | $name::Down(b) => Some(b.array_mut()),
                    $name::Stop => None,
                }
            }
            fn mtypes() -> Vec<i64> {
                $kind::ALL.iter().map(|k| k.mtype()).collect()
            }
            fn up_kind() -> $kind {
                $kind::Up
            }
            fn down_kind() -> $kind {
                $kind::Down
            }
        }
    };
}

/// Checks that the typed messages use the mtypes the raw transport uses: up
/// 1, down 2, stop 3.
pub(crate) fn check_mtypes() -> Result<(), String> {
    for (n, mtypes) in [
        (16, Msg16::mtypes()),
        (256, Msg256::mtypes()),
        (4096, Msg4096::mtypes()),
        (16, Rec16::mtypes()),
        (256, Rec256::mtypes()),
        (4096, Rec4096::mtypes()),
    ] {
        if mtypes != [1, 2, 3] {
            return Err(format!("the {n}-byte messages have mtypes {mtypes:?}"));
        }
    }
    Ok(())
}

/// How many bytes TypedQueue puts on the queue for an N-byte payload: its
/// header, the payload's length prefix and the payload, as the kernel counts
/// them (the queue's used bytes after one send).
pub(crate) fn typed_body_len(n: usize) -> Res<usize> {
    match n {
        16 => queued_len::<16, Msg16>(),
        256 => queued_len::<256, Msg256>(),
        4096 => queued_len::<4096, Msg4096>(),
        _ => Err(format!("no typed message with a {n}-byte payload").into()),
    }
}

/// The bytes one `M` with an N-byte payload takes on a queue, as the kernel
/// counts them (a fresh private queue's used bytes after one send).
fn queued_len<const N: usize, M: BenchMsg<N>>() -> Res<usize> {
    let q = MsgQueue::options().create_new(true).open(Key::private())?;
    let _guard = Guard::sysv(q.id().get());
    TypedQueue::<M>::from_queue(q.clone()).send(M::up(Bytes::numbered(0)))?;
    Ok(usize::try_from(q.stat()?.bytes)?)
}

bench_msg!(Msg16, Msg16Kind, 16, Bytes<16>);
bench_msg!(Msg256, Msg256Kind, 256, Bytes<256>);
bench_msg!(Msg4096, Msg4096Kind, 4096, Bytes<4096>);
bench_msg!(Rec16, Rec16Kind, 16, [u8; 16], #[ipcq(bytes)]);
bench_msg!(Rec256, Rec256Kind, 256, [u8; 256], #[ipcq(bytes)]);
bench_msg!(Rec4096, Rec4096Kind, 4096, [u8; 4096], #[ipcq(bytes)]);

/// Typed messages whose payload is a `Vec<u8>`, encoded by serde as a
/// sequence (a length, then each byte through the serializer).
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
pub(crate) enum VecMsg {
    /// Towards the parent.
    Up(Vec<u8>),
    /// Towards the child.
    Down(Vec<u8>),
    /// End of a stream.
    Stop,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_one_byte_string_in_bincode_and_postcard() {
        let b = Bytes::<16>::numbered(7);
        let mut out = [0u8; 64];
        let n =
            bincode::serde::encode_into_slice(b, &mut out, bincode::config::standard()).unwrap();
        assert_eq!(n, 17);
        assert_eq!(out[0], 16);
        let (back, used): (Bytes<16>, usize) =
            bincode::serde::decode_from_slice(&out[..n], bincode::config::standard()).unwrap();
        assert_eq!((back, used), (b, n));
    }

    #[test]
    fn records_put_the_bare_payload_on_the_queue() {
        assert_eq!(queued_len::<16, Rec16>().unwrap(), 16);
        assert_eq!(queued_len::<4096, Rec4096>().unwrap(), 4096);
        assert_eq!(queued_len::<16, Msg16>().unwrap(), 16 + 6 + 1);
        assert_eq!(typed_body_len(4096).unwrap(), 4096 + 6 + 3);
    }

    #[test]
    fn every_message_has_its_mtype() {
        assert_eq!(Msg256::up_kind().mtype(), 1);
        assert_eq!(Msg256::down_kind().mtype(), 2);
        assert_eq!(Msg4096::stop().mtype(), 3);
        assert_eq!(Msg16::up(Bytes::numbered(3)).first_byte(), Some(3));
    }
}
