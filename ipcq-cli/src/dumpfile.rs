//! The dump file format, version 1, as docs/DUMP.md specifies it.
//!
//! ```text
//! header   52 bytes   magic "IPCQDUMP", version u32, source key i32, mode u32,
//!                     capacity u64, dumped-at i64, message count u64, body bytes u64
//! records  count ×    mtype i64, length u32, body (length bytes)
//! trailer  12 bytes   end marker "IPCQ-END", CRC-32 u32 of every byte before it
//! ```
//!
//! All integers are little-endian. A reader checks the magic, the version, that
//! every record is whole, that the trailer follows the last record and ends the
//! file, the counts and the checksum, so a file cut anywhere, or with any byte
//! changed, is refused as a whole.

use std::fmt;

use ipcq::Message;

/// The first eight bytes of every dump file.
pub(crate) const MAGIC: [u8; 8] = *b"IPCQDUMP";
/// The format version this tool writes and reads.
pub(crate) const VERSION: u32 = 1;
/// The eight bytes between the last record and the checksum.
pub(crate) const END_MARKER: [u8; 8] = *b"IPCQ-END";
/// The length of the header.
pub(crate) const HEADER_LEN: usize = 52;
/// The length of a record before its body.
pub(crate) const RECORD_HEAD_LEN: usize = 12;
/// The length of the trailer: the end marker and the checksum.
pub(crate) const TRAILER_LEN: usize = 12;

/// What the header says about the queue the messages came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// The source queue's key (0 for a private queue).
    pub(crate) key: i32,
    /// The source queue's permission bits.
    pub(crate) mode: u32,
    /// The source queue's capacity in bytes (`msg_qbytes`).
    pub(crate) capacity: u64,
    /// When the dump was written, in seconds since the epoch.
    pub(crate) dumped_at: i64,
}

/// A decoded dump: the header and the messages in queue order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dump {
    pub(crate) header: Header,
    pub(crate) messages: Vec<Message>,
}

/// Why bytes are not a dump this tool can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FormatError {
    /// The file is empty.
    Empty,
    /// The file does not start with [`MAGIC`].
    NotADump,
    /// A format version other than [`VERSION`].
    Version(u32),
    /// The file ends before its end: inside the header, a record, or the trailer.
    Truncated {
        /// What was cut.
        inside: String,
        /// The file's length.
        len: usize,
    },
    /// A record is not what the format allows.
    BadRecord {
        /// Its index, from 1.
        number: u64,
        /// What is wrong.
        reason: String,
    },
    /// The end marker is not where the header's message count says.
    NoEndMarker {
        /// Its expected offset.
        offset: usize,
    },
    /// Bytes follow the trailer.
    TrailingBytes(usize),
    /// The header's byte total disagrees with the records.
    ByteCount {
        /// What the header says.
        header: u64,
        /// What the records add up to.
        records: u64,
    },
    /// The checksum does not match: some byte changed.
    Checksum {
        /// The checksum stored in the trailer.
        stored: u32,
        /// The checksum of the bytes.
        computed: u32,
    },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::Empty => f.write_str("it is empty, not an ipcq dump"),
            FormatError::NotADump => {
                f.write_str("it is not an ipcq dump (it does not start with IPCQDUMP)")
            }
            FormatError::Version(v) => write!(
                f,
                "it is in dump format version {v}, and this ipcq reads version {VERSION} only"
            ),
            FormatError::Truncated { inside, len } => write!(
                f,
                "it is truncated: it ends after {len} bytes, inside {inside}"
            ),
            FormatError::BadRecord { number, reason } => {
                write!(f, "it is corrupt: record {number} {reason}")
            }
            FormatError::NoEndMarker { offset } => write!(
                f,
                "it is corrupt: the end marker is not at byte {offset}, after the last record"
            ),
            FormatError::TrailingBytes(n) => write!(
                f,
                "it is corrupt: {n} unexpected bytes follow the end of the dump"
            ),
            FormatError::ByteCount { header, records } => write!(
                f,
                "it is corrupt: the header counts {header} body bytes, the records {records}"
            ),
            FormatError::Checksum { stored, computed } => write!(
                f,
                "it is corrupt: its checksum is {stored:08x} but its bytes sum to {computed:08x}"
            ),
        }
    }
}

/// Encodes a dump of `messages`.
///
/// # Panics
///
/// Never for messages a queue can hold: their bodies are below 4 GiB (the
/// kernel's msgmax is an `int`).
pub(crate) fn encode(header: &Header, messages: &[Message]) -> Vec<u8> {
    let bodies: usize = messages.iter().map(|m| m.body.len()).sum();
    let mut out =
        Vec::with_capacity(HEADER_LEN + messages.len() * RECORD_HEAD_LEN + bodies + TRAILER_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&header.key.to_le_bytes());
    out.extend_from_slice(&header.mode.to_le_bytes());
    out.extend_from_slice(&header.capacity.to_le_bytes());
    out.extend_from_slice(&header.dumped_at.to_le_bytes());
    out.extend_from_slice(&(messages.len() as u64).to_le_bytes());
    out.extend_from_slice(&(bodies as u64).to_le_bytes());
    debug_assert_eq!(out.len(), HEADER_LEN);
    for message in messages {
        let len = u32::try_from(message.body.len()).expect("a queue message is below 4 GiB");
        out.extend_from_slice(&message.mtype.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&message.body);
    }
    out.extend_from_slice(&END_MARKER);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes and checks a whole dump file.
///
/// # Errors
///
/// [`FormatError`] for anything but a complete, intact version-1 dump.
pub(crate) fn decode(bytes: &[u8]) -> Result<Dump, FormatError> {
    let mut r = Reader { bytes, pos: 0 };
    // A file that ends in a trailer whose checksum fails was changed, not
    // cut: a changed count or length reads as records running past the end.
    let changed = || {
        let (rest, stored) = bytes.split_last_chunk::<4>()?;
        if !rest.ends_with(&END_MARKER) {
            return None;
        }
        let (stored, computed) = (u32::from_le_bytes(*stored), crc32(rest));
        (stored != computed).then_some(FormatError::Checksum { stored, computed })
    };
    let truncated = |inside: &str| {
        changed().unwrap_or_else(|| FormatError::Truncated {
            inside: inside.to_owned(),
            len: bytes.len(),
        })
    };
    if bytes.is_empty() {
        return Err(FormatError::Empty);
    }
    if bytes.len() < MAGIC.len() {
        return Err(if MAGIC.starts_with(bytes) {
            truncated("the header")
        } else {
            FormatError::NotADump
        });
    }
    if r.take(MAGIC.len()) != Some(&MAGIC[..]) {
        return Err(FormatError::NotADump);
    }
    let version = r.u32().ok_or_else(|| truncated("the header"))?;
    if version != VERSION {
        return Err(FormatError::Version(version));
    }
    let header = (|| {
        Some(Header {
            key: r.i32()?,
            mode: r.u32()?,
            capacity: r.u64()?,
            dumped_at: r.i64()?,
        })
    })()
    .ok_or_else(|| truncated("the header"))?;
    let count = r.u64().ok_or_else(|| truncated("the header"))?;
    let total = r.u64().ok_or_else(|| truncated("the header"))?;

    // The count comes from the file: allocate no more than its bytes can hold.
    let most = bytes.len() / RECORD_HEAD_LEN;
    let mut messages = Vec::with_capacity(usize::try_from(count).unwrap_or(most).min(most));
    let mut sum: u64 = 0;
    for number in 1..=count {
        let inside = || truncated(&format!("record {number} of {count}"));
        let mtype = r.i64().ok_or_else(inside)?;
        let len = r.u32().ok_or_else(inside)?;
        let body = r.take(len as usize).ok_or_else(inside)?;
        if mtype < 1 {
            return Err(FormatError::BadRecord {
                number,
                reason: format!("has mtype {mtype}, and mtypes start at 1"),
            });
        }
        sum += u64::from(len);
        messages.push(Message {
            mtype,
            body: body.to_vec(),
        });
    }
    let end = r.pos;
    match r.take(END_MARKER.len()) {
        Some(marker) if marker == END_MARKER => {}
        Some(_) => return Err(FormatError::NoEndMarker { offset: end }),
        None if END_MARKER.starts_with(&bytes[end..]) => return Err(truncated("the trailer")),
        None => return Err(FormatError::NoEndMarker { offset: end }),
    }
    let stored = r.u32().ok_or_else(|| truncated("the trailer"))?;
    if r.pos != bytes.len() {
        return Err(FormatError::TrailingBytes(bytes.len() - r.pos));
    }
    if sum != total {
        return Err(FormatError::ByteCount {
            header: total,
            records: sum,
        });
    }
    let computed = crc32(&bytes[..bytes.len() - 4]);
    if stored != computed {
        return Err(FormatError::Checksum { stored, computed });
    }
    Ok(Dump { header, messages })
}

/// Reads little-endian fields off a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn i32(&mut self) -> Option<i32> {
        self.array().map(i32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_le_bytes)
    }
}

/// CRC-32 as zlib, PNG and Python's `zlib.crc32` compute it (reflected
/// polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF), so that any
/// language can check a dump.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |c, &b| {
        TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            key: 0x5150,
            mode: 0o640,
            capacity: 16384,
            dumped_at: 1_700_000_000,
        }
    }

    fn messages() -> Vec<Message> {
        vec![
            Message {
                mtype: 7,
                body: b"hello".to_vec(),
            },
            Message {
                mtype: 1,
                body: Vec::new(),
            },
            Message {
                mtype: i64::MAX,
                body: (0..=255).collect(),
            },
            Message {
                mtype: 7,
                body: vec![0xAB; 8192],
            },
        ]
    }

    #[test]
    fn crc32_matches_zlib() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn round_trips() {
        let bytes = encode(&header(), &messages());
        let dump = decode(&bytes).unwrap();
        assert_eq!(dump.header, header());
        assert_eq!(dump.messages, messages());
        let empty = encode(&header(), &[]);
        assert_eq!(empty.len(), HEADER_LEN + TRAILER_LEN);
        assert_eq!(decode(&empty).unwrap().messages, vec![]);
    }

    #[test]
    fn lays_out_bytes_as_documented() {
        let bytes = encode(
            &header(),
            &[Message {
                mtype: 2,
                body: b"ab".to_vec(),
            }],
        );
        assert_eq!(&bytes[..8], b"IPCQDUMP");
        assert_eq!(bytes[8..12], [1, 0, 0, 0]);
        assert_eq!(bytes[12..16], [0x50, 0x51, 0, 0]);
        assert_eq!(bytes[16..20], 0o640u32.to_le_bytes());
        assert_eq!(bytes[20..28], 16384u64.to_le_bytes());
        assert_eq!(bytes[28..36], 1_700_000_000i64.to_le_bytes());
        assert_eq!(bytes[36..44], 1u64.to_le_bytes());
        assert_eq!(bytes[44..52], 2u64.to_le_bytes());
        assert_eq!(bytes[52..60], 2i64.to_le_bytes());
        assert_eq!(bytes[60..64], 2u32.to_le_bytes());
        assert_eq!(&bytes[64..66], b"ab");
        assert_eq!(&bytes[66..74], b"IPCQ-END");
        assert_eq!(bytes[74..78], crc32(&bytes[..74]).to_le_bytes());
        assert_eq!(bytes.len(), 78);
    }

    #[test]
    fn refuses_every_truncation() {
        let bytes = encode(&header(), &messages());
        for len in 0..bytes.len() {
            let err = decode(&bytes[..len]).unwrap_err();
            match (len, &err) {
                (0, FormatError::Empty) | (_, FormatError::Truncated { .. }) => {}
                _ => panic!("cut at {len} of {}: {err:?}", bytes.len()),
            }
        }
    }

    #[test]
    fn names_what_a_cut_file_lost() {
        let bytes = encode(&header(), &messages());
        let err = decode(&bytes[..HEADER_LEN + 3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "it is truncated: it ends after {} bytes, inside record 1 of 4",
                HEADER_LEN + 3
            )
        );
        let err = decode(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(err.to_string().contains("inside the trailer"), "{err}");
    }

    #[test]
    fn refuses_every_changed_byte() {
        let bytes = encode(&header(), &messages()[..2]);
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 0x01;
            assert!(decode(&changed).is_err(), "flipped a bit of byte {i}");
        }
    }

    #[test]
    fn refuses_trailing_bytes_other_versions_and_other_files() {
        let mut bytes = encode(&header(), &messages());
        bytes.push(0);
        assert_eq!(decode(&bytes), Err(FormatError::TrailingBytes(1)));
        let mut v2 = encode(&header(), &messages());
        v2[8] = 2;
        assert_eq!(decode(&v2), Err(FormatError::Version(2)));
        assert_eq!(
            decode(b"hello world, a text file"),
            Err(FormatError::NotADump)
        );
    }

    #[test]
    fn refuses_a_huge_count_without_allocating_it() {
        let mut bytes = encode(&header(), &[]);
        bytes[36..44].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(decode(&bytes), Err(FormatError::Checksum { .. })));
        let cut = &bytes[..bytes.len() - 1];
        assert!(matches!(decode(cut), Err(FormatError::Truncated { .. })));
    }

    #[test]
    fn a_whole_file_with_a_changed_count_or_length_is_changed_not_cut() {
        let bytes = encode(&header(), &messages()[..2]);
        // The header's message count, and the first record's body length.
        for (at, value) in [(36, 3), (60, 200)] {
            let mut changed = bytes.clone();
            changed[at] = value;
            let err = decode(&changed).unwrap_err();
            assert!(
                matches!(err, FormatError::Checksum { .. }),
                "byte {at}: {err}"
            );
        }
    }
}
