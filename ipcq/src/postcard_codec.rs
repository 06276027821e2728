//! [`Postcard`]: a maintained serde format behind the [`Codec`] seam.

use std::io;

use serde::Serialize;
use serde::de::DeserializeSeed;

use crate::codec::{Codec, CodecError};

/// [postcard](https://crates.io/crates/postcard) 1, with wire id 2: a
/// compact, non-self-describing serde format with a stable, documented wire
/// format and an active maintainer, for queues that move off bincode
/// (RUSTSEC-2025-0141). Behind the `postcard` feature.
///
/// Switching a queue changes its type, not its message enums; both ends
/// must switch together, and a body of the other codec is reported as
/// [`DecodeReason::Codec`](crate::DecodeReason::Codec), never decoded:
///
/// ```
/// use ipcq::{Key, Postcard, QueueMessage, TypedQueue};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
/// enum Cmd {
///     Job { id: u64, path: String },
/// }
///
/// let q = TypedQueue::<Cmd, Postcard>::create(Key::private())?;
/// q.send(Cmd::Job { id: 7, path: "/srv/in/7".into() })?;
/// assert_eq!(q.recv()?, Cmd::Job { id: 7, path: "/srv/in/7".into() });
/// q.remove()?;
/// # Ok::<(), ipcq::Error>(())
/// ```
///
/// Decoding runs within the bounds every codec decodes within ([`Codec`]).
/// postcard words every error raised through serde's custom errors as "Serde
/// Deserialization Error"; a body refused by those bounds is reported in
/// ipcq's words instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Postcard;

impl Codec for Postcard {
    const ID: u8 = 2;
    const NAME: &'static str = "postcard 1";

    fn encode<T, W>(value: &T, out: W) -> Result<(), CodecError>
    where
        T: Serialize + ?Sized,
        W: io::Write,
    {
        postcard::to_io(value, out)
            .map(drop)
            .map_err(CodecError::new)
    }

    fn decode_seed<'de, S: DeserializeSeed<'de>>(
        bytes: &'de [u8],
        seed: S,
    ) -> Result<S::Value, CodecError> {
        let mut deserializer = postcard::Deserializer::from_bytes(bytes);
        let value = seed
            .deserialize(&mut deserializer)
            .map_err(CodecError::new)?;
        match deserializer.finalize().map_err(CodecError::new)? {
            [] => Ok(value),
            rest => Err(CodecError::left_over(rest.len())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postcard_round_trips_and_refuses_leftovers() {
        let mut out = Vec::new();
        Postcard::encode(&(300u32, "hi"), &mut out).unwrap();
        // A varint, then the string behind its length.
        assert_eq!(out, [0xac, 0x02, 2, b'h', b'i']);
        assert_eq!(
            Postcard::decode::<(u32, String)>(&out).unwrap(),
            (300, "hi".to_string())
        );
        out.push(0);
        assert_eq!(
            Postcard::decode::<(u32, String)>(&out)
                .unwrap_err()
                .to_string(),
            "1 byte left over after the value"
        );
    }
}
