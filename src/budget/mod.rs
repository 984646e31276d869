//! Bounded work per message: every message's parse gets a time budget and a
//! memory ceiling, and a message over either is given up on (outcome `failed`,
//! moved aside) while the next one goes on.
//!
//! Three layers, cheapest first:
//!
//! 1. **Cooperative.** [`run`] sets a per-thread deadline (in the thread's CPU
//!    time) and memory ceiling around a parse; loops that can run long call
//!    [`check`] (cheap: the clock is read once every 64 calls) and stop early
//!    when it says so. The parse's result is then discarded and [`run`] reports
//!    [`Exceeded`]; a parse that ends over its time without noticing fails too.
//! 2. **Memory, counted.** A counting global allocator ([`alloc`]) keeps each
//!    thread's live bytes; an allocation that takes a budgeted thread over its
//!    ceiling marks the budget exceeded (it never fails the allocation), so the
//!    next [`check`] stops the parse and the message fails even if no loop checks.
//! 3. **Watchdog.** The parser pool ([`pool::Parsers`]) gives up on a message
//!    whose parse ignores its budget for longer than [`Limits::watchdog`] of wall
//!    time: the message fails, a fresh thread takes over the queue, and the stuck
//!    thread is left to finish on its own (at most [`MAX_ABANDONED`] at once).

pub mod alloc;
pub mod pool;

use std::cell::Cell;
use std::time::Duration;

/// Threads given up on by a watchdog that may still be running, process-wide;
/// beyond this the pool waits for a stuck parse instead of starting another thread.
pub const MAX_ABANDONED: usize = 4;

/// The budget of one message (`[limits]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time one message's parse may take before it is stopped. Default 2 s.
    pub message_time: Duration,
    /// Memory one message's parse may hold at once, besides the raw message. Default 64 MiB.
    pub message_memory: u64,
    /// Wall time after which a parse that has not stopped is abandoned. Default 10 s.
    pub watchdog: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            message_time: Duration::from_secs(2),
            message_memory: 64 << 20,
            watchdog: Duration::from_secs(10),
        }
    }
}

/// Why a message was given up on; its `Display` is the recorded reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Exceeded {
    #[error("processing this message took longer than its budget of {:?} (limits.message_time); set aside", .0)]
    Time(Duration),
    #[error("processing this message needed more than its memory ceiling of {} MiB (limits.message_memory); set aside", .0 >> 20)]
    Memory(u64),
    #[error("processing this message did not stop within {:?} (limits.watchdog); given up and set aside", .0)]
    Watchdog(Duration),
}

/// CPU time this thread has used.
///
/// NOTE: CPU time, not wall time: on a loaded machine a message waiting for a
/// core must not fail for it; a busy loop is caught all the same.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if r != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

thread_local! {
    /// The deadline (in this thread's CPU time) and limits of the message this
    /// thread is working on.
    static ACTIVE: Cell<Option<(Duration, Limits)>> = const { Cell::new(None) };
    /// [`check`] calls since the clock was last read.
    static CALLS: Cell<u32> = const { Cell::new(0) };
    static EXCEEDED: Cell<Option<Exceeded>> = const { Cell::new(None) };
}

/// Runs `f` (one message's work) under `limits` on this thread: `Err` when the
/// budget ran out, in which case whatever `f` returned is dropped.
pub fn run<T>(limits: &Limits, f: impl FnOnce() -> T) -> Result<T, Exceeded> {
    /// Puts the thread back as it was, also when `f` panics.
    struct Restore(Option<(Duration, Limits)>, i64);
    impl Drop for Restore {
        fn drop(&mut self) {
            alloc::unlimit_thread(self.1);
            ACTIVE.with(|a| a.set(self.0));
        }
    }
    let deadline = thread_cpu() + limits.message_time;
    let outer = ACTIVE.with(|a| a.replace(Some((deadline, *limits))));
    EXCEEDED.with(|e| e.set(None));
    let restore = Restore(outer, alloc::limit_thread(limits.message_memory));
    let out = f();
    let over = alloc::exceeded().then_some(Exceeded::Memory(limits.message_memory));
    // Also when no check saw it: a budget is a budget, whatever did the work.
    let late = (thread_cpu() > deadline).then_some(Exceeded::Time(limits.message_time));
    let exceeded = EXCEEDED.with(Cell::take).or(over).or(late);
    drop(restore);
    match exceeded {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Whether the current message may go on: `false` once its time or memory ran
/// out (and from then on). Always `true` outside [`run`]. Cheap enough for inner
/// loops: the clock is read every 64 calls.
pub fn check() -> bool {
    checked(false)
}

/// [`check`], reading the clock now: for the few places between long steps.
pub fn check_now() -> bool {
    checked(true)
}

fn checked(now: bool) -> bool {
    let Some((deadline, limits)) = ACTIVE.with(Cell::get) else {
        return true;
    };
    if EXCEEDED.with(Cell::get).is_some() {
        return false;
    }
    if alloc::exceeded() {
        EXCEEDED.with(|e| e.set(Some(Exceeded::Memory(limits.message_memory))));
        return false;
    }
    let n = CALLS.with(|c| {
        let n = c.get().wrapping_add(1);
        c.set(n);
        n
    });
    if !now && !n.is_multiple_of(64) {
        return true;
    }
    if thread_cpu() > deadline {
        EXCEEDED.with(|e| e.set(Some(Exceeded::Time(limits.message_time))));
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn limits(time_ms: u64, memory: u64) -> Limits {
        Limits {
            message_time: Duration::from_millis(time_ms),
            message_memory: memory,
            watchdog: Duration::from_secs(60),
        }
    }

    #[test]
    fn work_within_budget_returns_its_result() {
        assert_eq!(run(&limits(10_000, 1 << 30), || 42), Ok(42));
        assert!(check(), "no budget outside run");
    }

    #[test]
    fn a_loop_that_checks_stops_at_its_deadline() {
        let t = Instant::now();
        let mut spins = 0u64;
        let r = run(&limits(50, 1 << 30), || {
            while check() {
                spins += 1;
            }
        });
        assert_eq!(r, Err(Exceeded::Time(Duration::from_millis(50))));
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(spins > 0);
        // The next message starts afresh.
        assert_eq!(run(&limits(10_000, 1 << 30), check), Ok(true));
    }

    #[test]
    fn memory_over_the_ceiling_fails_the_message_even_without_checks() {
        let r = run(&limits(10_000, 8 << 20), || vec![1u8; 16 << 20].len());
        assert_eq!(r, Err(Exceeded::Memory(8 << 20)));
        // Allocation freed inside counts down again: a loop of small buffers is fine.
        let r = run(&limits(10_000, 8 << 20), || {
            (0..64).map(|_| vec![1u8; 1 << 20].len()).sum::<usize>()
        });
        assert_eq!(r, Ok(64 << 20));
        let r = run(&limits(10_000, 8 << 20), || {
            let _big = vec![1u8; 9 << 20];
            check()
        });
        assert_eq!(r, Err(Exceeded::Memory(8 << 20)));
    }

    #[test]
    fn reasons_name_the_setting() {
        let r = Exceeded::Time(Duration::from_secs(2)).to_string();
        assert!(r.contains("limits.message_time") && r.contains("2s"), "{r}");
        let r = Exceeded::Memory(64 << 20).to_string();
        assert!(r.contains("64 MiB"), "{r}");
    }
}
