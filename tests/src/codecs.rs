//! A second codec, to show the seam: postcard instead of bincode, decoding
//! within the same bounds as ipcq's own (`ipcq::deserialize_bounded`).

use ipcq::{Codec, CodecError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// postcard 1, with the wire id 0x80 (codecs defined outside ipcq use 0x80
/// and up).
pub struct Postcard;

impl Codec for Postcard {
    const ID: u8 = 0x80;
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

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
        let mut deserializer = postcard::Deserializer::from_bytes(bytes);
        let value =
            ipcq::deserialize_bounded(&mut deserializer, bytes.len()).map_err(CodecError::new)?;
        match deserializer.finalize().map_err(CodecError::new)? {
            [] => Ok(value),
            rest => Err(CodecError::new(format!("{} bytes left over", rest.len()))),
        }
    }
}
