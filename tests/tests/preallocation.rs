//! A length prefix that lies cannot make a receiver preallocate much more
//! than the body it sent: serde's collections reserve room for at most as
//! many elements as the body has bytes, and strings and byte buffers are read
//! borrowed from the body before anything is allocated for them
//! (`ipcq/src/capped.rs`). For ipcq's own bincode codec, and for a postcard
//! codec, which gets the same bounds through the seed ipcq hands it.
//!
//! A test binary of its own (harness = false) so that no other test's
//! threads allocate while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use ipcq::{Bincode, Codec, Postcard};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use tests::messages::ByteBuf;

struct Measuring;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);

fn record(size: usize) {
    LARGEST.fetch_max(size, Ordering::Relaxed);
    TOTAL.fetch_add(size, Ordering::Relaxed);
}

// SAFETY: forwards to the system allocator unchanged, only recording sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Measuring {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller upholds alloc's contract, which System shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: as for alloc.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: as for alloc and dealloc.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Measuring = Measuring;

/// A length prefix claiming 2^30: bincode's 9-byte varint.
const BINCODE_CLAIM: [u8; 9] = [0xfd, 0, 0, 0, 0x40, 0, 0, 0, 0];

/// The same claim in postcard's 5-byte varint.
const POSTCARD_CLAIM: [u8; 5] = [0x80, 0x80, 0x80, 0x80, 0x04];

/// A 16-byte body: `claim`, then `elements`, then as many bytes of `fill`
/// as it takes.
fn lying_body(claim: &[u8], elements: &[u8], fill: u8) -> Vec<u8> {
    let mut body = [claim, elements].concat();
    body.resize(16, fill);
    body
}

/// A type that contains itself: each level's length prefix can lie.
#[derive(Deserialize)]
#[allow(dead_code)] // never decoded whole: every body here is refused
struct Node {
    kids: Vec<Node>,
}

/// Levels of [`Node`] nested in the body, each claiming 2^30 kids: within
/// the depth limit (a `Node` and its `Vec` are two levels).
const NESTED: usize = 40;

/// A body of `len` bytes: [`NESTED`] levels of `claim`, then empty nodes
/// (each a 0 byte) until the body runs out.
fn nested_body(claim: &[u8], len: usize) -> Vec<u8> {
    let mut body = claim.repeat(NESTED);
    body.resize(len, 0);
    body
}

/// The largest allocation and the bytes allocated in all while decoding
/// `body` as a `T` with `C`, which must fail with an error saying the body
/// ran out.
fn measure<C: Codec, T: DeserializeOwned>(body: &[u8]) -> (usize, usize) {
    LARGEST.store(0, Ordering::SeqCst);
    TOTAL.store(0, Ordering::SeqCst);
    let result = C::decode::<T>(body);
    let measured = (LARGEST.load(Ordering::SeqCst), TOTAL.load(Ordering::SeqCst));
    let error = result.err().expect("a lying body is refused").to_string();
    // bincode's and postcard's words for a body that ran out.
    let short = [
        "the body ends before the value does",
        "Hit the end of buffer",
    ];
    assert!(
        short.iter().any(|s| error.contains(s)),
        "{}: {error}",
        C::NAME
    );
    measured
}

/// Every case, for codec `C` whose length prefix claiming 2^30 is `claim`:
/// its name, the length of its body, and what decoding it allocated.
fn cases<C: Codec>(claim: &[u8]) -> Vec<(String, usize, (usize, usize))> {
    let body = |elements: &[u8], fill: u8| lying_body(claim, elements, fill);
    // A sequence of strings whose first string claims 2^30 bytes.
    let strings = body(claim, 1);
    let nested = nested_body(claim, 4096);
    let mut all: Vec<_> = vec![
        ("String", measure::<C, String>(&body(b"abc", b'x'))),
        ("ByteBuf", measure::<C, ByteBuf>(&body(&[], 1))),
        ("Vec<String>", measure::<C, Vec<String>>(&strings)),
        ("Vec<u8>", measure::<C, Vec<u8>>(&body(&[], 1))),
        ("Vec<u32>", measure::<C, Vec<u32>>(&body(&[], 1))),
        (
            "HashMap<String, u32>",
            measure::<C, HashMap<String, u32>>(&body(&[], 0)),
        ),
        (
            "HashSet<u8>",
            measure::<C, HashSet<u8>>(&body(&[1, 2, 3, 4, 5, 6, 7], 8)),
        ),
        ("Vec<Vec<u16>>", measure::<C, Vec<Vec<u16>>>(&strings)),
    ]
    .into_iter()
    .map(|(name, measured)| (name.to_string(), 16, measured))
    .collect();
    // Open collections keep what they reserved while the next one is read.
    let name = format!("{NESTED} nested Vec<Node>");
    all.push((name, nested.len(), measure::<C, Node>(&nested)));
    all.into_iter()
        .map(|(name, len, measured)| (format!("{}, {name}", C::NAME), len, measured))
        .collect()
}

/// How many bytes of heap a failing decode may take per byte of body: room
/// for one element per byte, and a hash table's rounding up of that (under
/// 16/7 buckets per entry: 75 bytes per byte for `HashMap<String, u32>`).
const PER_BODY_BYTE: usize = 80;

/// Besides: a hash table's 16 trailing control bytes and alignment, and the
/// error message.
const SLACK: usize = 128;

fn main() {
    let mut all = cases::<Bincode>(&BINCODE_CLAIM);
    all.extend(cases::<Postcard>(&POSTCARD_CLAIM));
    let mut failed = false;
    for (name, len, (largest, total)) in all {
        let bound = PER_BODY_BYTE * len + SLACK;
        println!("{name}: {len}-byte body: largest allocation {largest} bytes, {total} in all");
        if total > bound {
            println!("  over the bound of {bound} bytes");
            failed = true;
        }
    }
    assert!(
        !failed,
        "a lying length prefix allocated more than {PER_BODY_BYTE} bytes per byte of body"
    );
}
