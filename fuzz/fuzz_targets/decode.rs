//! Decodes arbitrary (mtype, body) pairs as a receiver does, into a message
//! enum with every variant shape and field type: no input may panic, name the
//! wrong variant, or allocate beyond the bound of `common.rs`.
//!
//! The input's first byte selects the mtype (`common::MTYPES`), the rest is
//! the body. `fuzz/README.md` has the commands.

#![no_main]

use std::sync::atomic::{AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;

#[path = "../common.rs"]
mod common;

#[global_allocator]
static ALLOC: common::Counting = common::Counting;

/// The largest single allocation and total seen so far, reported when they grow.
static MAX_SINGLE: AtomicUsize = AtomicUsize::new(0);
static MAX_TOTAL: AtomicUsize = AtomicUsize::new(0);

fuzz_target!(|data: &[u8]| {
    let Some(decoded) = common::check(data) else {
        return;
    };
    let a = decoded.allocs;
    let single = a.max_single();
    if single > MAX_SINGLE.fetch_max(single, Ordering::Relaxed)
        || a.total > MAX_TOTAL.fetch_max(a.total, Ordering::Relaxed)
    {
        eprintln!(
            "largest so far: mtype {} body {} bytes: {} allocations, {} bytes in all, largest zero-filled {}, largest other {} ({})",
            decoded.mtype,
            decoded.body_len,
            a.count,
            a.total,
            a.max_zeroed,
            a.max_other,
            match &decoded.result {
                Ok(_) => "decoded".to_string(),
                Err(reason) => reason.to_string(),
            }
        );
    }
});
