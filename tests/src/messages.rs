//! Message enums shared by the tests and the peer process.

use std::fmt;

use ipcq::QueueMessage;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Work for a pool of workers.
#[derive(QueueMessage, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Work {
    /// mtype 1: handled before anything else by priority receivers.
    Urgent(u32),
    /// mtype 2.
    Job { id: u64, payload: String },
    /// mtype 3.
    #[ipcq(text)]
    Log(String),
    /// mtype 10.
    #[ipcq(mtype = 10)]
    Stop,
}

/// Load-test traffic: two types, so that order can be checked per type.
#[derive(QueueMessage, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// Even sequence numbers.
    Even { producer: u32, seq: u32 },
    /// Odd sequence numbers.
    Odd { producer: u32, seq: u32 },
    /// The end of the traffic, one per consumer.
    End,
}

/// Bytes that serde sees as one owned byte buffer: serialized with
/// `serialize_bytes`, deserialized with `deserialize_byte_buf`, as
/// `serde_bytes::ByteBuf` is.
#[derive(Debug, Clone, PartialEq)]
pub struct ByteBuf(pub Vec<u8>);

impl Serialize for ByteBuf {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = ByteBuf;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }

            fn visit_bytes<E>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }

            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
        }

        deserializer.deserialize_byte_buf(Visitor)
    }
}

/// The message enum of docs/WIRE.md, whose examples and worked bytes the
/// tests check.
#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
pub enum Cmd {
    /// mtype 1.
    Reload,
    /// mtype 10.
    #[ipcq(mtype = 10)]
    Job { id: u64, path: String },
    /// mtype 11.
    Shutdown,
    /// mtype 12.
    #[ipcq(text)]
    Note(String),
    /// mtype 13.
    #[ipcq(text)]
    Count(i64),
    /// mtype 14.
    #[ipcq(bytes)]
    Blob(Vec<u8>),
}
