//! What the fuzz target and the corpus replay test share: the message enum,
//! how an input is split into an mtype and a body, and the checks run on one
//! decode, allocation bound included.
//!
//! A plain module file, not a crate: `fuzz/fuzz_targets/decode.rs` and
//! `tests/tests/fuzz_corpus.rs` both include it with `#[path]`, so that the
//! main workspace replays the corpus on stable, without libFuzzer.
//!
//! Both binaries must install [`Counting`] as their global allocator.

// Each includer uses a different part of this file.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use ipcq::{Bincode, Codec, DecodeReason, QueueMessage};
use serde::{Deserialize, Serialize};

/// The message enum the fuzzer decodes into: every variant shape (unit,
/// tuple, struct), typed, text and bytes variants, and the field types a
/// receiver meets (strings, bytes, lists, options, nested structs and enums,
/// maps, sets, and the std types whose deserializers validate).
#[derive(QueueMessage, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) enum Fuzz {
    /// mtype 1.
    Ping,
    /// mtype 2.
    Job(u64, String),
    /// mtype 3.
    Upload {
        name: String,
        data: Vec<u8>,
        tags: Vec<String>,
        parent: Option<u64>,
    },
    /// mtype 4.
    Config {
        meta: Meta,
        env: HashMap<String, u32>,
        level: Level,
    },
    /// mtype 5.
    Scalars(i8, i16, i32, i64, i128, u128, f32, f64, char, bool),
    /// mtype 6.
    Extras {
        wait: Duration,
        pair: (u16, [u8; 4]),
        set: HashSet<u8>,
        levels: Vec<Level>,
        grid: Vec<Vec<u16>>,
        maybe: Option<Option<String>>,
        addr: Option<SocketAddr>,
        count: NonZeroU32,
        path: PathBuf,
    },
    /// mtype 7: a text variant with a numeric field.
    #[ipcq(text)]
    Count(i64),
    /// mtype 8.
    #[ipcq(text)]
    Note(String),
    /// mtype 9: a bytes variant with a `String` field.
    #[ipcq(bytes)]
    Blob(String),
    /// mtype 10.
    #[ipcq(bytes)]
    Raw(Vec<u8>),
    /// mtype 11.
    Tagged(Level),
    /// mtype 100.
    #[ipcq(mtype = 100)]
    Shutdown,
    /// mtype 101: counting goes on after an explicit mtype.
    #[ipcq(text)]
    Ratio(f64),
}

/// A struct nested in a variant.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct Meta {
    pub(crate) id: u32,
    pub(crate) name: String,
    pub(crate) labels: Vec<String>,
    pub(crate) owner: Option<String>,
}

/// An enum nested in a variant.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) enum Level {
    Off,
    Low(u8),
    High { limit: u64, note: String },
}

/// What the first byte of an input selects, modulo 16: the mtype of every
/// variant, and three that no variant has (0, 12 right after the counted
/// ones, and the largest mtype).
pub(crate) const MTYPES: [i64; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 100, 101, 0, 12, i64::MAX];

/// Splits a fuzz input into the mtype its first byte selects and the body
/// (the rest). `None` for the empty input.
pub(crate) fn split(data: &[u8]) -> Option<(i64, &[u8])> {
    let (&first, body) = data.split_first()?;
    Some((MTYPES[usize::from(first) % MTYPES.len()], body))
}

/// The first byte of an input that selects `mtype`.
pub(crate) fn selector(mtype: i64) -> u8 {
    let index = MTYPES.iter().position(|&m| m == mtype);
    u8::try_from(index.expect("an mtype of MTYPES")).expect("16 entries")
}

// The allocation bound.
//
// A decode allocates what the decoded value holds, which the body's length
// bounds, and, for a length prefix that claims more than the body holds,
// whatever is allocated for that claim before the decoder finds the body too
// short. Two layers keep those claims from allocating:
//
// - Strings and byte buffers (`String`, `PathBuf`, `ByteBuf`) are read
//   borrowed from the body (`Capped` in ipcq/src/capped.rs turns serde's
//   `deserialize_string` and `deserialize_byte_buf` into `deserialize_str`
//   and `deserialize_bytes`), so a claim beyond the body fails as a short body
//   before anything is allocated, and the string allocated is one the body
//   holds. bincode's own string decoder, which allocates the claimed length
//   zero-filled before reading, is never reached: nothing is allocated
//   zero-filled for more than the body's length.
// - serde, for sequences and maps (`Vec<T>`, `HashMap`, `HashSet`): it
//   preallocates `min(hint, 1 MiB / size_of::<T>())` elements. ipcq caps
//   every hint at the body's length in bytes (`Capped` again), so a lying
//   prefix gets room for at most `len` elements: `len x size_of::<T>()` bytes
//   for a `Vec`, at most 32 bytes per byte of body in `Fuzz`. A hash map or
//   set rounds that capacity up (capacity x 8/7, then the next power of two
//   of buckets, at least 4, each with one control byte, plus 16): under
//   16/7 x len buckets, so at most 16/7 x 33 < 76 bytes per byte of body for
//   `HashMap<String, u32>`, plus the 16 control bytes and alignment; 4
//   buckets (148 bytes) for a capacity under 4. serde's own cap still holds
//   for long bodies: at most 1 MiB for a `Vec`, 4 MiB + 16 for a
//   `HashSet<u8>`. A failing decode can stack one such allocation per level
//   of nesting on the path to the lie (`Vec<Vec<u16>>`: two).

/// The most serde preallocates for one sequence or map of a body of `len`
/// bytes, hash table included (see above): 80 bytes per byte of body plus 128
/// for a table's smallest size, control bytes and alignment, and never more
/// than serde's own cap.
pub(crate) fn max_prealloc(len: usize) -> usize {
    len.saturating_mul(80)
        .saturating_add(128)
        .min((4 << 20) + 64)
}

/// How deep collections nest in [`Fuzz`] (`Vec<Vec<u16>>`, `Vec<String>`,
/// `HashMap<String, u32>`, `Vec<Level>` whose `High` holds a `String`).
pub(crate) const NESTING: usize = 2;

/// The most heap a decoded value (or an error message) takes per byte of
/// body, when nothing lies: a `Vec<Level>` of `Level::Off` is 32 bytes of
/// vector per byte of body, a `HashMap<String, u32>` of empty keys about 40.
pub(crate) const PER_BODY_BYTE: usize = 64;

/// Allocations made while [`measure`] ran, on its thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AllocStats {
    /// Number of allocations and reallocations.
    pub(crate) count: usize,
    /// Sum of the bytes of every allocation, and of every reallocation's growth.
    pub(crate) total: usize,
    /// Largest zero-filled allocation (`alloc_zeroed`): none is expected;
    /// bincode makes one for a string it decodes itself, which ipcq avoids.
    pub(crate) max_zeroed: usize,
    /// Largest other allocation or reallocation: serde's preallocations, and
    /// the decoded value's own.
    pub(crate) max_other: usize,
}

impl AllocStats {
    const ZERO: AllocStats = AllocStats {
        count: 0,
        total: 0,
        max_zeroed: 0,
        max_other: 0,
    };

    /// The largest single allocation of any kind.
    pub(crate) fn max_single(&self) -> usize {
        self.max_zeroed.max(self.max_other)
    }

    /// Panics unless these allocations, made by decoding a body of `len`
    /// bytes, are within the bound described above.
    pub(crate) fn assert_bounded(&self, len: usize) {
        let honest = PER_BODY_BYTE.saturating_mul(len);
        let prealloc = max_prealloc(len);
        assert!(
            self.max_zeroed <= len,
            "{len}-byte body: a zero-filled allocation of {} bytes, longer than the body",
            self.max_zeroed
        );
        assert!(
            self.max_other <= prealloc.max(honest),
            "{len}-byte body: an allocation of {} bytes, over serde's {prealloc}-byte preallocation and {PER_BODY_BYTE} bytes per byte of body",
            self.max_other
        );
        let total_bound = len + NESTING * prealloc + 2 * honest;
        assert!(
            self.total <= total_bound,
            "{len}-byte body: {} bytes allocated in all, over the bound of {total_bound}",
            self.total
        );
    }

    fn record(&mut self, size: usize, zeroed: bool, growth: usize) {
        self.count += 1;
        self.total = self.total.saturating_add(growth);
        if zeroed {
            self.max_zeroed = self.max_zeroed.max(size);
        } else {
            self.max_other = self.max_other.max(size);
        }
    }
}

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static STATS: Cell<AllocStats> = const { Cell::new(AllocStats::ZERO) };
}

fn record(size: usize, zeroed: bool, growth: usize) {
    // try_with: the allocator also runs while thread locals are torn down.
    let counting = COUNTING.try_with(Cell::get).unwrap_or(false);
    if counting {
        let _ = STATS.try_with(|s| {
            let mut stats = s.get();
            stats.record(size, zeroed, growth);
            s.set(stats);
        });
    }
}

/// A global allocator that forwards to the system allocator and, while
/// [`measure`] runs on a thread, records that thread's allocations.
pub(crate) struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments; the
// bookkeeping touches only const-initialized thread locals, which never
// allocate.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size(), false, layout.size());
        // SAFETY: the caller upholds `alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size(), true, layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size, false, new_size.saturating_sub(layout.size()));
        // SAFETY: `ptr` was allocated by `System` with `layout`, and the
        // caller upholds `realloc`'s contract on `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f`, recording the allocations it makes on this thread.
pub(crate) fn measure<R>(f: impl FnOnce() -> R) -> (R, AllocStats) {
    struct Stop;
    impl Drop for Stop {
        fn drop(&mut self) {
            COUNTING.with(|c| c.set(false));
        }
    }
    STATS.with(|s| s.set(AllocStats::ZERO));
    COUNTING.with(|c| c.set(true));
    let stop = Stop;
    let result = f();
    drop(stop);
    (result, STATS.with(Cell::get))
}

/// One input, decoded.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) mtype: i64,
    pub(crate) body_len: usize,
    pub(crate) result: Result<Fuzz, DecodeReason>,
    pub(crate) allocs: AllocStats,
}

/// Splits `data`, decodes it as a receiver does, and panics if anything is
/// wrong: a decoded message of another mtype, an error that names another
/// variant or does not fit the variant's encoding, an allocation out of
/// bounds. `None` for the empty input. A panic inside the decode itself
/// propagates, which is what the fuzzer looks for.
pub(crate) fn check(data: &[u8]) -> Option<Decoded> {
    check_with::<Bincode>(data)
}

/// [`check`] with codec `C`: what a `TypedQueue<Fuzz, C>` receiver does.
pub(crate) fn check_with<C: Codec>(data: &[u8]) -> Option<Decoded> {
    let (mtype, body) = split(data)?;
    let (result, allocs) = measure(|| Fuzz::decode_body::<C>(mtype, body));
    allocs.assert_bounded(body.len());
    let kind = FuzzKind::from_mtype(mtype);
    match &result {
        Ok(msg) => {
            assert_eq!(msg.mtype(), mtype, "decoded {msg:?} from mtype {mtype}");
            assert_eq!(Some(msg.kind()), kind);
            // Text, bytes and unit bodies map to one value each.
            match msg {
                Fuzz::Note(s) | Fuzz::Blob(s) => assert_eq!(s.as_bytes(), body),
                Fuzz::Raw(bytes) => assert_eq!(bytes, body),
                Fuzz::Ping | Fuzz::Shutdown => {
                    assert_eq!(body, header_with::<C>(mtype).as_slice());
                }
                _ => {}
            }
        }
        Err(reason) => check_reason(mtype, kind, reason),
    }
    Some(Decoded {
        mtype,
        body_len: body.len(),
        result,
        allocs,
    })
}

/// How a variant's body is encoded.
#[derive(Debug, PartialEq)]
enum Encoding {
    Typed,
    Text,
    Bytes,
}

fn encoding(kind: FuzzKind) -> Encoding {
    match kind {
        FuzzKind::Count | FuzzKind::Note | FuzzKind::Ratio => Encoding::Text,
        FuzzKind::Blob | FuzzKind::Raw => Encoding::Bytes,
        _ => Encoding::Typed,
    }
}

fn check_reason(mtype: i64, kind: Option<FuzzKind>, reason: &DecodeReason) {
    // Formatting an error must not panic either.
    let text = reason.to_string();
    let Some(kind) = kind else {
        assert_eq!(*reason, DecodeReason::UnknownType, "mtype {mtype}: {text}");
        return;
    };
    let (variant, reason_encoding) = match *reason {
        DecodeReason::MissingHeader { variant, .. }
        | DecodeReason::WireVersion { variant, .. }
        | DecodeReason::Codec { variant, .. }
        | DecodeReason::SchemaMismatch { variant, .. }
        | DecodeReason::Body { variant, .. } => (variant, Encoding::Typed),
        DecodeReason::Text { variant, .. } => (variant, Encoding::Text),
        DecodeReason::Bytes { variant, .. } => (variant, Encoding::Bytes),
        // Batches are unpacked by the queue, never by decode_body.
        DecodeReason::UnknownType | DecodeReason::Batch { .. } => {
            panic!("mtype {mtype} is {kind:?}'s, but the reason is {reason:?}")
        }
        // A reason added to ipcq after this check was written.
        _ => return,
    };
    assert_eq!(variant, kind.name(), "mtype {mtype}: {text}");
    assert_eq!(reason_encoding, encoding(kind), "mtype {mtype}: {text}");
}

/// The 6-byte header of a typed body of the variant of `mtype`, as
/// `docs/WIRE.md` section 3 lays it out.
pub(crate) fn header(mtype: i64) -> Vec<u8> {
    header_with::<Bincode>(mtype)
}

/// [`header`] for codec `C`.
pub(crate) fn header_with<C: Codec>(mtype: i64) -> Vec<u8> {
    let kind = FuzzKind::from_mtype(mtype).expect("a variant's mtype");
    let mut out = vec![ipcq::WIRE_VERSION, C::ID];
    out.extend(ipcq::fingerprint(signature(kind)).to_le_bytes());
    out
}

/// A typed variant's signature, as the derive computes it (`docs/WIRE.md`
/// section 3): the name, then the field types as written, without whitespace.
fn signature(kind: FuzzKind) -> &'static str {
    match kind {
        FuzzKind::Ping => "Ping",
        FuzzKind::Job => "Job(u64,String)",
        FuzzKind::Upload => "Upload{name:String,data:Vec<u8>,tags:Vec<String>,parent:Option<u64>}",
        FuzzKind::Config => "Config{meta:Meta,env:HashMap<String,u32>,level:Level}",
        FuzzKind::Scalars => "Scalars(i8,i16,i32,i64,i128,u128,f32,f64,char,bool)",
        FuzzKind::Extras => {
            "Extras{wait:Duration,pair:(u16,[u8;4]),set:HashSet<u8>,levels:Vec<Level>,\
             grid:Vec<Vec<u16>>,maybe:Option<Option<String>>,addr:Option<SocketAddr>,\
             count:NonZeroU32,path:PathBuf}"
        }
        FuzzKind::Tagged => "Tagged(Level)",
        FuzzKind::Shutdown => "Shutdown",
        other => panic!("{other:?} is not a typed variant"),
    }
}

/// A whole fuzz input (selector byte, then body) for a typed variant whose
/// fields, as one tuple, are `fields`.
fn typed_input<T: Serialize>(mtype: i64, fields: &T) -> Vec<u8> {
    let mut out = vec![selector(mtype)];
    out.extend(header(mtype));
    Bincode::encode(fields, &mut out).expect("the seed encodes");
    out
}

/// A whole fuzz input for a text or bytes variant.
fn raw_input(mtype: i64, body: &[u8]) -> Vec<u8> {
    let mut out = vec![selector(mtype)];
    out.extend_from_slice(body);
    out
}

/// Real encoded messages, at least one per variant: the inputs the corpus
/// was seeded with, each with its name and the message it decodes to.
pub(crate) fn seeds() -> Vec<(&'static str, Fuzz, Vec<u8>)> {
    let meta = Meta {
        id: 7,
        name: "worker".into(),
        labels: vec!["a".into(), "bé".into()],
        owner: Some("root".into()),
    };
    let high = Level::High {
        limit: 1 << 40,
        note: "hot".into(),
    };
    // Encoded from the ordered maps, which serialize as the hashed ones do,
    // so that the seed files do not change from one run to the next.
    let env_sorted = BTreeMap::from([("PATH".to_string(), 1), ("HOME".to_string(), 300)]);
    let env: HashMap<String, u32> = env_sorted.clone().into_iter().collect();
    let set_sorted = BTreeSet::from([0u8, 9, 255]);
    let set: HashSet<u8> = set_sorted.iter().copied().collect();
    let addr: SocketAddr = "127.0.0.1:5150".parse().expect("an address");
    let addr6: SocketAddr = "[::1]:80".parse().expect("an address");
    let count = NonZeroU32::new(3).expect("not zero");
    let wait = Duration::new(5, 999_999_999);
    let scalars = (
        -8i8,
        -300i16,
        70_000i32,
        i64::MIN,
        i128::MIN,
        u128::MAX,
        1.5f32,
        -0.25f64,
        'é',
        true,
    );
    let (a, b, c, d, e, f, g, h, i, j) = scalars;
    let levels = vec![Level::Off, Level::Low(3), high.clone()];
    let grid = vec![vec![], vec![1, 2, 65535]];
    let path = PathBuf::from("/srv/in/7.csv");
    vec![
        ("ping", Fuzz::Ping, typed_input(1, &())),
        (
            "job",
            Fuzz::Job(7, "/srv/in/7.csv".into()),
            typed_input(2, &(7u64, "/srv/in/7.csv")),
        ),
        (
            "upload",
            Fuzz::Upload {
                name: "x.bin".into(),
                data: vec![0, 1, 255],
                tags: vec!["t1".into(), String::new()],
                parent: Some(9),
            },
            typed_input(3, &("x.bin", vec![0u8, 1, 255], vec!["t1", ""], Some(9u64))),
        ),
        (
            "upload-empty",
            Fuzz::Upload {
                name: String::new(),
                data: vec![],
                tags: vec![],
                parent: None,
            },
            typed_input(
                3,
                &("", Vec::<u8>::new(), Vec::<String>::new(), None::<u64>),
            ),
        ),
        (
            "config",
            Fuzz::Config {
                meta: meta.clone(),
                env: env.clone(),
                level: high.clone(),
            },
            typed_input(4, &(&meta, &env_sorted, &high)),
        ),
        (
            "scalars",
            Fuzz::Scalars(a, b, c, d, e, f, g, h, i, j),
            typed_input(5, &scalars),
        ),
        (
            "extras",
            Fuzz::Extras {
                wait,
                pair: (513, [1, 2, 3, 4]),
                set: set.clone(),
                levels: levels.clone(),
                grid: grid.clone(),
                maybe: Some(None),
                addr: Some(addr),
                count,
                path: path.clone(),
            },
            typed_input(
                6,
                &(
                    wait,
                    (513u16, [1u8, 2, 3, 4]),
                    &set_sorted,
                    &levels,
                    &grid,
                    Some(None::<String>),
                    Some(addr),
                    count,
                    &path,
                ),
            ),
        ),
        (
            "extras-v6",
            Fuzz::Extras {
                wait: Duration::ZERO,
                pair: (0, [0; 4]),
                set: HashSet::new(),
                levels: vec![],
                grid: vec![],
                maybe: Some(Some("m".into())),
                addr: Some(addr6),
                count: NonZeroU32::MAX,
                path: PathBuf::new(),
            },
            typed_input(
                6,
                &(
                    Duration::ZERO,
                    (0u16, [0u8; 4]),
                    HashSet::<u8>::new(),
                    Vec::<Level>::new(),
                    Vec::<Vec<u16>>::new(),
                    Some(Some("m")),
                    Some(addr6),
                    NonZeroU32::MAX,
                    PathBuf::new(),
                ),
            ),
        ),
        ("count", Fuzz::Count(-42), raw_input(7, b"-42")),
        (
            "note",
            Fuzz::Note("héllo".into()),
            raw_input(8, "héllo".as_bytes()),
        ),
        (
            "blob",
            Fuzz::Blob("ünï".into()),
            raw_input(9, "ünï".as_bytes()),
        ),
        (
            "raw",
            Fuzz::Raw(vec![0, 0x81, 255]),
            raw_input(10, &[0, 0x81, 255]),
        ),
        (
            "tagged",
            Fuzz::Tagged(Level::Low(4)),
            typed_input(11, &(Level::Low(4),)),
        ),
        (
            "tagged-off",
            Fuzz::Tagged(Level::Off),
            typed_input(11, &(Level::Off,)),
        ),
        ("shutdown", Fuzz::Shutdown, typed_input(100, &())),
        ("ratio", Fuzz::Ratio(0.5), raw_input(101, b"0.5")),
    ]
}
