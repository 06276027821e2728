//! A second codec, to show the seam: postcard instead of bincode. It runs the
//! seed ipcq hands it on postcard's deserializer, and so decodes within the
//! same bounds as ipcq's own.

use ipcq::{Codec, CodecError};
use serde::Serialize;
use serde::de::DeserializeSeed;

/// postcard 1, with the wire id 0x81, as in `ipcq::Codec`'s docs (codecs
/// defined outside ipcq use 0x80 and up).
pub struct Postcard;

impl Codec for Postcard {
    const ID: u8 = 0x81;
    const NAME: &'static str = "postcard";

    fn encode<T, W>(value: &T, out: W) -> Result<(), CodecError>
    where
        T: Serialize + ?Sized,
        W: std::io::Write,
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
            rest => Err(CodecError::new(format!("{} bytes left over", rest.len()))),
        }
    }
}
