//! A length prefix that lies cannot make a receiver preallocate much more
//! than the body it sent: serde's collections reserve room for at most as
//! many elements as the body has bytes, and strings and byte buffers are read
//! borrowed from the body before anything is allocated for them
//! (`ipcq/src/capped.rs`).
//!
//! A test binary of its own (harness = false) so that no other test's
//! threads allocate while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use ipcq::{Bincode, Codec};
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

/// The body's length prefix claims 2^30 elements: bincode's 9-byte varint.
fn lying_body(elements: &[u8]) -> Vec<u8> {
    let mut body = vec![0xfd];
    body.extend((1u64 << 30).to_le_bytes());
    body.extend_from_slice(elements);
    body
}

/// The largest allocation and the bytes allocated in all while decoding
/// `body` as a `T`, which must fail.
fn measure<T: DeserializeOwned>(body: &[u8]) -> (usize, usize) {
    LARGEST.store(0, Ordering::SeqCst);
    TOTAL.store(0, Ordering::SeqCst);
    let result = Bincode::decode::<T>(body);
    let measured = (LARGEST.load(Ordering::SeqCst), TOTAL.load(Ordering::SeqCst));
    let error = result.err().expect("a lying body is refused");
    assert!(error.to_string().contains("UnexpectedEnd"), "{error}");
    measured
}

/// How many bytes of heap a failing decode may take per byte of body: room
/// for one element per byte, and a hash table's rounding up of that (under
/// 16/7 buckets per entry: 75 bytes per byte for `HashMap<String, u32>`).
const PER_BODY_BYTE: usize = 80;

/// Besides: a hash table's 16 trailing control bytes and alignment, and the
/// error message.
const SLACK: usize = 128;

fn main() {
    // 16-byte bodies: the 9-byte claim and 7 bytes of honest elements.
    let cases = [
        ("String", measure::<String>(&lying_body(b"abcdefg"))),
        ("ByteBuf", measure::<ByteBuf>(&lying_body(&[1; 7]))),
        (
            "Vec<String>",
            measure::<Vec<String>>(&lying_body(&[0xfc, 0, 0, 0, 64, 1, 1])),
        ),
        ("Vec<u8>", measure::<Vec<u8>>(&lying_body(&[1; 7]))),
        ("Vec<u32>", measure::<Vec<u32>>(&lying_body(&[1; 7]))),
        (
            "HashMap<String, u32>",
            measure::<HashMap<String, u32>>(&lying_body(&[0; 7])),
        ),
        (
            "HashSet<u8>",
            measure::<HashSet<u8>>(&lying_body(&[1, 2, 3, 4, 5, 6, 7])),
        ),
        (
            "Vec<Vec<u16>>",
            measure::<Vec<Vec<u16>>>(&lying_body(&[0xfc, 0, 0, 0, 64, 1, 1])),
        ),
    ];
    let bound = PER_BODY_BYTE * 16 + SLACK;
    let mut failed = false;
    for (name, (largest, total)) in cases {
        println!("{name}: 16-byte body: largest allocation {largest} bytes, {total} in all");
        if total > bound {
            println!("  over the bound of {bound} bytes");
            failed = true;
        }
    }
    assert!(
        !failed,
        "a lying length prefix allocated more than {bound} bytes"
    );
}
