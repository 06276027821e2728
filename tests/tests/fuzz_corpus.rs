//! Replays the corpus of the `decode` fuzz target (`fuzz/corpus/decode/`) on
//! stable: every input is split and decoded exactly as the fuzz target does
//! (the shared `fuzz/common.rs`), and must neither panic nor allocate beyond
//! the bound that file states. `fuzz/README.md` runs the fuzzer itself.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

#[path = "../../fuzz/common.rs"]
mod common;

use common::{Decoded, Fuzz};
use ipcq::{Bincode, Codec, DecodeReason, Postcard, QueueMessage};

#[global_allocator]
static ALLOC: common::Counting = common::Counting;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/decode")
}

fn corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus_dir();
    let mut files: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_decodes_without_panics_within_the_allocation_bound() {
    let files = corpus();
    assert!(!files.is_empty(), "{} is empty", corpus_dir().display());
    let (mut ok, mut err, mut failures) = (0, 0, Vec::new());
    for (path, bytes) in &files {
        match panic::catch_unwind(|| common::check(bytes)) {
            Ok(Some(Decoded { result: Ok(_), .. })) => ok += 1,
            // The error is a DecodeReason by its type; check() has matched it
            // against the variant of the mtype.
            Ok(Some(Decoded { result: Err(_), .. })) | Ok(None) => err += 1,
            Err(_) => failures.push(path.display().to_string()),
        }
    }
    assert!(failures.is_empty(), "panicked on {failures:?}");
    println!("{} inputs: {ok} decoded, {err} refused", files.len());
    // Real messages of every variant were seeded; some must have stayed.
    assert!(ok > 0, "no input of the corpus decodes ({err} errors)");
}

/// The corpus through `ipcq::Postcard`: each typed body's codec id is set to
/// postcard's, so that its fields reach postcard's decoder. The bytes were
/// made for bincode, and most are refused; none may panic or allocate past
/// the bound, which holds for every codec (the seed ipcq hands a codec
/// bounds the decode, not the codec).
#[test]
fn corpus_decodes_through_postcard_without_panics_within_the_allocation_bound() {
    let files = corpus();
    let mut failures = Vec::new();
    let mut reached = 0;
    for (path, bytes) in &files {
        let mut input = bytes.clone();
        // Selector byte, then the header: version, codec id.
        if input.len() >= 3 && input[1] == ipcq::WIRE_VERSION && input[2] == Bincode::ID {
            input[2] = Postcard::ID;
            reached += 1;
        }
        if panic::catch_unwind(|| common::check_with::<Postcard>(&input)).is_err() {
            failures.push(path.display().to_string());
        }
    }
    assert!(failures.is_empty(), "panicked on {failures:?}");
    assert!(reached > 0, "no input reached postcard's decoder");
}

#[test]
fn seeds_decode_to_their_messages() {
    for (name, msg, input) in common::seeds() {
        let decoded = common::check(&input).expect("not empty");
        assert_eq!(decoded.result.as_ref(), Ok(&msg), "seed {name}");
        assert_eq!(decoded.mtype, msg.mtype(), "seed {name}");
    }
}

/// A body of `mtype` whose fields start with `prefix`.
fn typed(mtype: i64, prefix: &[u8]) -> Vec<u8> {
    let mut input = vec![common::selector(mtype)];
    input.extend(common::header(mtype));
    input.extend_from_slice(prefix);
    input
}

/// bincode's varint of a u64 in its 9-byte form (`docs/WIRE.md` section 4.1).
fn varint(n: u64) -> Vec<u8> {
    let mut out = vec![0xfd];
    out.extend(n.to_le_bytes());
    out
}

/// Length prefixes that claim far more than the body holds, the worst case
/// of each kind of preallocation: each stays within the bound of
/// `fuzz/common.rs` (`--nocapture` prints what each allocated).
#[test]
fn lying_length_prefixes_stay_within_the_bound() {
    // Job(u64, String): a string claiming 2^30 bytes of a 16-byte body
    // (header, u64, length prefix): read borrowed, it is refused before
    // anything is allocated (bincode alone would allocate 1 GiB, zeroed).
    let string = typed(2, &[&[7][..], &varint(1 << 30)].concat());
    // Upload: a name claiming 2^30 bytes, likewise.
    let name = typed(3, &varint(1 << 30));
    // Upload { name: "", data: Vec<u8> of 2^30 }: serde's preallocation,
    // capped at the body's length (1 MiB without the cap).
    let bytes = typed(3, &[&[0][..], &varint(1 << 30)].concat());
    // Config: an empty Meta, then env: HashMap<String, u32> of 2^30 entries.
    let map = typed(4, &[&[0, 0, 0, 0][..], &varint(1 << 30)].concat());
    // Extras: the set of u8 claiming 2^30 entries, after valid earlier fields.
    let set = typed(6, &[&[5, 0, 1, 1, 2, 3, 4][..], &varint(1 << 30)].concat());
    // Extras: an empty set, an empty levels, then grid: Vec<Vec<u16>> of
    // 2^30 claiming vectors of 2^30: two preallocations, one in the other.
    let grid = typed(
        6,
        &[
            &[5, 0, 1, 1, 2, 3, 4, 0, 0][..],
            &varint(1 << 30),
            &varint(1 << 30),
        ]
        .concat(),
    );
    for (name, input, zeroed, other) in [
        ("String", string, 0, 0),
        ("String, first field", name, 0, 0),
        ("Vec<u8>", bytes, 0, 16),
        // 13 bytes after the header: 16 buckets of an entry and a control byte.
        ("HashMap<String, u32>", map, 0, 16 * 33 + 16),
        ("HashSet<u8>", set, 0, 32 * 2 + 16),
        // 27 bytes after the header: 27 elements of 24 bytes.
        ("Vec<Vec<u16>>", grid, 0, 27 * 24),
    ] {
        let decoded = common::check(&input).expect("not empty");
        let a = decoded.allocs;
        println!(
            "{name}: {}-byte body: {a:?}: {:?}",
            decoded.body_len, decoded.result
        );
        // Refused: the body ends before what the prefix claims.
        assert!(
            matches!(&decoded.result, Err(DecodeReason::Body { error, .. })
                if error.to_string().contains("the body ends before the value does")),
            "{name}: {:?}",
            decoded.result
        );
        assert!(
            a.max_zeroed <= decoded.body_len
                && a.max_other <= common::max_prealloc(decoded.body_len)
        );
        // What bincode and serde allocate today for this case (besides up to
        // 128 bytes for the error); only the bound above is a promise.
        assert!(
            a.max_zeroed <= zeroed && a.max_other <= other.max(128),
            "{name}: {a:?}"
        );
    }
}

/// Not a test: writes the seed inputs into the corpus, named after their
/// variant (`cargo test -p tests --test fuzz_corpus -- --ignored write_seed_corpus`).
#[test]
#[ignore = "writes fuzz/corpus/decode/seed-*; run by hand before fuzzing"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    fs::create_dir_all(&dir).expect("the corpus directory");
    for (name, _, input) in common::seeds() {
        fs::write(dir.join(format!("seed-{name}")), input).expect("a seed file");
    }
}

#[test]
fn unknown_mtypes_are_refused() {
    for mtype in [0, 12, i64::MAX] {
        assert_eq!(
            Fuzz::decode_body::<Bincode>(mtype, &[]),
            Err(DecodeReason::UnknownType)
        );
    }
}
