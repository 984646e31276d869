//! The process's allocator: the system one, counting each thread's live bytes so
//! that a message's parse can have a memory ceiling ([`super::run`]).
//!
//! NOTE: per thread, not global: parser threads work on one message each, so a
//! thread's count while it parses is that message's cost. Memory allocated on
//! one thread and freed on another moves both counts; only the change since
//! `limit_thread` matters. The cost is a thread-local add per allocation;
//! going over the ceiling only sets a flag, since an allocator must not fail or
//! unwind for policy reasons.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting.
pub struct Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static LIMIT: Cell<i64> = const { Cell::new(i64::MAX) };
    static OVER: Cell<bool> = const { Cell::new(false) };
}

#[inline]
fn count(delta: i64) {
    // NOTE: const thread-locals without destructors: `try_with` never allocates
    // and only fails while the thread is being torn down.
    let _ = LIVE.try_with(|l| {
        let v = l.get().wrapping_add(delta);
        l.set(v);
        if delta > 0 && LIMIT.try_with(Cell::get).is_ok_and(|lim| v > lim) {
            let _ = OVER.try_with(|o| o.set(true));
        }
    });
}

// SAFETY: every call is passed straight to `System`; the bookkeeping around it
// touches only thread-local integers and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            count(layout.size() as i64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        count(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            count(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

/// Bytes this thread holds now (allocated here minus freed here).
pub fn live() -> i64 {
    LIVE.with(Cell::get)
}

/// Limits this thread to `max` more bytes than it holds now; returns the
/// previous limit, for [`unlimit_thread`].
pub(super) fn limit_thread(max: u64) -> i64 {
    OVER.with(|o| o.set(false));
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    LIMIT.with(|l| l.replace(live().saturating_add(max)))
}

/// Restores the limit [`limit_thread`] replaced.
pub(super) fn unlimit_thread(previous: i64) {
    LIMIT.with(|l| l.set(previous));
}

/// Whether this thread went over its limit since [`limit_thread`].
pub(super) fn exceeded() -> bool {
    OVER.with(Cell::get)
}

/// Makes glibc return big buffers to the system as soon as they are freed.
///
/// NOTE: glibc raises its mmap threshold to the size of each mmapped block
/// freed (up to 32 MiB), after which a 25 MB message buffer comes from the heap
/// and its pages may stay: peak memory of `import` over 40 messages of 25 MB
/// varied between 94 and 119 MB from run to run. A fixed 1 MiB threshold keeps
/// every buffer of a megabyte or more in its own mapping, returned on free.
pub fn return_big_buffers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only sets an allocator parameter; called once, early.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
    });
}
