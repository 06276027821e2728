//! Counts heap allocations per message with a counting global allocator:
//! none on send, none on receive of a variant without heap fields.
//!
//! A test binary of its own (harness = false) so that no other test's
//! threads allocate while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ipcq::TypedQueue;
use tests::TestQueue;
use tests::messages::{Work, WorkKind};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged, only counting calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds alloc's contract, which System shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for alloc and dealloc.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

const ROUNDS: usize = 20;
const PER_ROUND: usize = 25;
const N: usize = ROUNDS * PER_ROUND;

fn main() {
    let raw = TestQueue::new();
    let q = TypedQueue::<Work>::from_queue((*raw).clone());
    let job = Work::Job {
        id: 1,
        payload: "x".repeat(100),
    };
    // Warm up the per-thread buffers.
    q.send(&job).unwrap();
    q.recv().unwrap();
    q.send(Work::Urgent(0)).unwrap();
    q.recv().unwrap();

    // In rounds, so that the queue never fills up and blocks the sender.
    let (mut sends, mut urgent_recvs, mut job_recvs) = (0, 0, 0);
    for _ in 0..ROUNDS {
        sends += allocations_during(|| {
            for _ in 0..PER_ROUND {
                q.send(Work::Urgent(7)).unwrap();
                q.send(&job).unwrap();
            }
        });
        urgent_recvs += allocations_during(|| {
            for _ in 0..PER_ROUND {
                q.recv_kind(WorkKind::Urgent).unwrap();
            }
        });
        job_recvs += allocations_during(|| {
            for _ in 0..PER_ROUND {
                q.recv().unwrap();
            }
        });
    }
    println!(
        "allocations: {sends} for {} sends, {urgent_recvs} for {N} receives of Urgent(u32), {job_recvs} for {N} receives of Job {{ id, payload: String }}",
        2 * N
    );
    assert_eq!(sends, 0, "sending allocates");
    assert_eq!(
        urgent_recvs, 0,
        "receiving a variant without heap fields allocates"
    );
    // One allocation per message: the payload String itself.
    assert_eq!(
        job_recvs, N,
        "receiving allocates more than the message's own String"
    );
    drop(raw);
    println!("1 passed, 0 failed");
}
