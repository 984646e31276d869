//! The parser threads of one batch: raw messages go in, in UID order; hash and
//! parse results come out in the same order, each parse under its budget
//! ([`super::run`]) and watched: a parse that runs past [`Limits::watchdog`] is
//! given up on, so one message can never stall the ones after it.
//!
//! NOTE: a task per message (`spawn_blocking`) cost two thread wake-ups per
//! message (the pool thread, then the reader waiting on its handle), which on a
//! busy two-core machine was a visible share of a backlog's CPU. Here each
//! thread keeps going while its queue has work, and the reader is only woken
//! when it is actually waiting for a result. Messages are dealt out round-robin
//! and collected round-robin, so results come back in the order they went in
//! without any reordering buffer.
//!
//! NOTE: the watchdog. While the reader waits for a thread's result it knows
//! when that thread started the message; past the watchdog it takes the
//! thread's queue (the messages behind the stuck one) and hands it to a fresh
//! thread, reports the stuck message as failed, and leaves the old thread to
//! finish on its own: its result goes nowhere and it then ends. At most
//! [`super::MAX_ABANDONED`] such threads run at once in the process; past that the
//! reader waits for the stuck one (and says so in the log).

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::{Exceeded, Limits, MAX_ABANDONED};
use crate::parse::ParsedMessage;
use crate::trust::Verdict;

/// Why a message has no parse result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The parser panicked (it promises not to): the panic's message.
    Panic(String),
    /// Over its time or memory budget, or abandoned by the watchdog.
    Exceeded(Exceeded),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Panic(m) => write!(
                f,
                "the parser crashed on this message ({m}); please report it"
            ),
            Failure::Exceeded(e) => e.fmt(f),
        }
    }
}

/// A message's hash and parse result, or why there is none.
pub struct Parsed {
    /// Raw size in bytes.
    pub size: usize,
    /// `(sha256 hex of the raw bytes, parse result, who sent it)`.
    pub result: Outcome,
}

/// What a parser thread sends back for one message.
type Outcome = Result<(String, ParsedMessage, Verdict), Failure>;

/// The parse function (the real one but in tests of the watchdog).
pub type ParseFn = fn(&[u8]) -> ParsedMessage;

/// Judges who sent a parsed message (the daemon's and `import`'s [`crate::trust::Checker`]).
/// It runs on the parser thread after the parse, outside the parse's budget and the
/// watchdog: its own work is bounded by `trust.dns_timeout` and the DKIM limits.
pub type Judge = Arc<dyn Fn(&[u8], &ParsedMessage) -> Verdict + Send + Sync>;

/// A [`Judge`] that runs `checker` on the current tokio runtime (DKIM lookups).
pub fn judge_with(checker: Arc<crate::trust::Checker>) -> Judge {
    let rt = tokio::runtime::Handle::current();
    Arc::new(move |raw, parsed| checker.assess_blocking(&rt, raw, parsed))
}

/// Threads given up on and maybe still running, process-wide.
static ABANDONED: AtomicUsize = AtomicUsize::new(0);

const RUNNING: u8 = 0;
const GIVEN_UP: u8 = 1;
const ENDED: u8 = 2;

/// Threads given up on by a watchdog that are still running, process-wide.
pub fn abandoned() -> usize {
    ABANDONED.load(Ordering::SeqCst)
}

/// What the reader and one parser thread share.
struct Shared {
    queue: Mutex<mpsc::UnboundedReceiver<Vec<u8>>>,
    /// When the thread took the message it is on: nanoseconds since the pool's
    /// epoch, plus one; 0 while it has none.
    started: AtomicU64,
    /// [`RUNNING`], [`GIVEN_UP`] or [`ENDED`].
    state: AtomicU8,
}

struct Thread {
    input: mpsc::UnboundedSender<Vec<u8>>,
    output: mpsc::UnboundedReceiver<Outcome>,
    shared: Arc<Shared>,
}

/// Parser threads for one batch; they end when this is dropped (each finishing
/// the message in hand).
pub struct Parsers {
    threads: Vec<Thread>,
    next_in: usize,
    next_out: usize,
    /// UID and size of each message submitted and not yet collected, oldest first.
    pending: VecDeque<(u32, usize)>,
    limits: Limits,
    parse: ParseFn,
    judge: Judge,
    epoch: Instant,
}

impl Parsers {
    /// Starts `n` (at least one) parser threads, each message under `limits`, each
    /// parsed message then judged by `judge`.
    pub fn start(n: usize, limits: Limits, judge: Judge) -> Parsers {
        Parsers::with_parser(n, limits, crate::parse::parse, judge)
    }

    /// [`Parsers::start`] with another parse function (tests of the watchdog).
    pub fn with_parser(n: usize, limits: Limits, parse: ParseFn, judge: Judge) -> Parsers {
        super::alloc::return_big_buffers();
        let epoch = Instant::now();
        let threads = (0..n.max(1))
            .map(|_| Thread::start(epoch, limits, parse, judge.clone()))
            .collect();
        Parsers {
            threads,
            next_in: 0,
            next_out: 0,
            pending: VecDeque::new(),
            limits,
            parse,
            judge,
            epoch,
        }
    }

    /// Hands a message to the next thread. Never waits: the caller bounds what
    /// is in flight ([`Parsers::pending`]).
    pub fn submit(&mut self, uid: u32, raw: Vec<u8>) {
        let i = self.next_in;
        self.next_in = (i + 1) % self.threads.len();
        self.pending.push_back((uid, raw.len()));
        // A send fails only if the thread is gone; `next` then reports it.
        let _ = self.threads[i].input.send(raw);
    }

    /// Messages submitted and not yet collected.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The UID of the oldest message submitted and not yet collected.
    pub fn oldest(&self) -> Option<u32> {
        self.pending.front().map(|&(uid, _)| uid)
    }

    /// The oldest submitted message's result; `None` when nothing is pending.
    pub async fn next(&mut self) -> Option<Parsed> {
        let (_, size) = self.pending.pop_front()?;
        let i = self.next_out;
        self.next_out = (i + 1) % self.threads.len();
        let mut warned = false;
        loop {
            let wait = self.time_left(i);
            // NOTE: a thread only ends when its input closes (parse panics are caught),
            // but should the runtime drop it, the message is reported, not lost.
            if let Ok(r) = tokio::time::timeout(wait, self.threads[i].output.recv()).await {
                let result = r
                    .unwrap_or_else(|| Err(Failure::Panic("the parser thread stopped".to_owned())));
                return Some(Parsed { size, result });
            }
            if let Some(result) = self.watchdog(i, &mut warned) {
                return Some(Parsed { size, result });
            }
        }
    }

    /// How long to wait for thread `i` before looking again: until its message's
    /// watchdog runs out, or a moment when it has not started it yet.
    fn time_left(&self, i: usize) -> Duration {
        let started = self.threads[i].shared.started.load(Ordering::SeqCst);
        if started == 0 {
            return Duration::from_millis(50);
        }
        let elapsed = self
            .epoch
            .elapsed()
            .saturating_sub(Duration::from_nanos(started - 1));
        self.limits
            .watchdog
            .saturating_sub(elapsed)
            .max(Duration::from_millis(1))
    }

    /// Gives up on thread `i`'s message if it ran past the watchdog: its queue
    /// goes to a fresh thread and the message fails. `None`: not (yet) stuck, or
    /// too many threads already abandoned; wait on.
    fn watchdog(&mut self, i: usize, warned: &mut bool) -> Option<Outcome> {
        let started = self.threads[i].shared.started.load(Ordering::SeqCst);
        let over = started != 0
            && self
                .epoch
                .elapsed()
                .saturating_sub(Duration::from_nanos(started - 1))
                >= self.limits.watchdog;
        if !over {
            return None;
        }
        if ABANDONED.load(Ordering::SeqCst) >= MAX_ABANDONED {
            if !*warned {
                *warned = true;
                tracing::error!(
                    abandoned = MAX_ABANDONED,
                    "a message's parse is stuck past the watchdog and as many stuck parses are still running: waiting for one to end"
                );
            }
            return None;
        }
        let old = &mut self.threads[i];
        // NOTE: the thread holds its queue's lock only while waiting for input;
        // busy, it does not, and nothing can take from the queue while we hold it.
        let Ok(mut queue) = old.shared.queue.try_lock() else {
            return None;
        };
        let mut behind = Vec::new();
        while let Ok(raw) = queue.try_recv() {
            behind.push(raw);
        }
        drop(queue);
        if let Ok(r) = old.output.try_recv() {
            // It finished after all: give its queue back, in order.
            for raw in behind {
                let _ = old.input.send(raw);
            }
            return Some(r);
        }
        ABANDONED.fetch_add(1, Ordering::SeqCst);
        if old.shared.state.swap(GIVEN_UP, Ordering::SeqCst) == ENDED {
            ABANDONED.fetch_sub(1, Ordering::SeqCst);
        }
        let fresh = Thread::start(self.epoch, self.limits, self.parse, self.judge.clone());
        for raw in behind {
            let _ = fresh.input.send(raw);
        }
        // Dropping the old ends: its input (it ends after the message in hand)
        // and its output (that result goes nowhere).
        drop(std::mem::replace(&mut self.threads[i], fresh));
        tracing::error!(
            watchdog = ?self.limits.watchdog,
            "a message's parse ran past the watchdog: given up on, its thread left to finish alone"
        );
        Some(Err(Failure::Exceeded(Exceeded::Watchdog(
            self.limits.watchdog,
        ))))
    }
}

impl Thread {
    fn start(epoch: Instant, limits: Limits, parse: ParseFn, judge: Judge) -> Thread {
        let (thread, tx) = Thread::ends();
        let s = thread.shared.clone();
        // NOTE: a thread of its own, not tokio's blocking pool: it lives as long as
        // the batch, and several mailboxes' parser threads could otherwise fill the
        // pool's ceiling and hold up its short jobs (file I/O).
        let spawned = std::thread::Builder::new()
            .name("leje-parse".into())
            .spawn({
                let judge = judge.clone();
                move || work(&s, tx, epoch, limits, parse, &judge)
            });
        match spawned {
            Ok(_) => thread,
            Err(e) => {
                tracing::warn!("cannot start a parser thread ({e}); using the blocking pool");
                // The failed spawn dropped the first ends' sender: new ones.
                let (thread, tx) = Thread::ends();
                let s = thread.shared.clone();
                tokio::task::spawn_blocking(move || work(&s, tx, epoch, limits, parse, &judge));
                thread
            }
        }
    }

    /// What the reader keeps of a new thread, and the sender its worker takes.
    fn ends() -> (Thread, mpsc::UnboundedSender<Outcome>) {
        let (input, rx) = mpsc::unbounded_channel();
        let (tx, output) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: Mutex::new(rx),
            started: AtomicU64::new(0),
            state: AtomicU8::new(RUNNING),
        });
        (
            Thread {
                input,
                output,
                shared,
            },
            tx,
        )
    }
}

/// A parser thread's loop: until its input closes or its output is dropped.
fn work(
    shared: &Shared,
    tx: mpsc::UnboundedSender<Outcome>,
    epoch: Instant,
    limits: Limits,
    parse: ParseFn,
    judge: &Judge,
) {
    loop {
        let next = shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let Some(raw) = next else { break };
        let now = epoch.elapsed().as_nanos() as u64;
        shared.started.store(now + 1, Ordering::SeqCst);
        let parsed = hash_and_parse(&raw, &limits, parse);
        shared.started.store(0, Ordering::SeqCst);
        let result = parsed.and_then(|(sha, p)| {
            catch_unwind(AssertUnwindSafe(|| judge(&raw, &p)))
                .map(|v| (sha, p, v))
                .map_err(|e| Failure::Panic(panic_message(&*e)))
        });
        drop(raw);
        if tx.send(result).is_err() {
            break;
        }
    }
    if shared.state.swap(ENDED, Ordering::SeqCst) == GIVEN_UP {
        ABANDONED.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The hash and the parse of one message under its budget; a panic in the
/// parser (which promises never to panic) becomes a failure carrying its message.
pub fn hash_and_parse(
    raw: &[u8],
    limits: &Limits,
    parse: ParseFn,
) -> Result<(String, ParsedMessage), Failure> {
    catch_unwind(AssertUnwindSafe(|| {
        let sha = hex::encode(Sha256::digest(raw));
        super::run(limits, || parse(raw))
            .map(|p| (sha, p))
            .map_err(Failure::Exceeded)
    }))
    .unwrap_or_else(|p| Err(Failure::Panic(panic_message(&*p))))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-text payload".to_owned())
}

#[cfg(test)]
mod tests {

    /// A judge that trusts nothing (these tests are about parsing).
    fn unjudged() -> Judge {
        Arc::new(|_, _| crate::trust::Verdict {
            forwarder_verified: false,
            original_verified: false,
            staff: false,
            trusted: false,
            reason: "not checked".into(),
        })
    }

    use super::*;

    fn mail(i: u32) -> Vec<u8> {
        // Sizes differ so that threads finish out of order.
        let pad = "x".repeat((i as usize * 7919) % 20_000);
        format!("Message-ID: <m{i}@example.org>\r\nSubject: s\r\n\r\nbody {i} {pad}\r\n")
            .into_bytes()
    }

    async fn next(p: &mut Parsers) -> Option<Parsed> {
        tokio::time::timeout(std::time::Duration::from_secs(10), p.next())
            .await
            .expect("a result within 10 s")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn results_come_back_in_submission_order() {
        let mut p = Parsers::start(3, Limits::default(), unjudged());
        assert!(next(&mut p).await.is_none());
        let uids: Vec<u32> = (1..=200).map(|i| i * 3).collect();
        let mut got = Vec::new();
        for (k, &uid) in uids.iter().enumerate() {
            p.submit(uid, mail(uid));
            assert_eq!(p.oldest(), Some(uids[got.len()]));
            // Keep a few in flight, as the reader does.
            if k % 5 == 4 {
                while p.pending() > 1 {
                    got.push(next(&mut p).await.expect("pending"));
                }
            }
        }
        while let Some(r) = next(&mut p).await {
            got.push(r);
        }
        // Each result is that of the message submitted in its place.
        assert_eq!(got.len(), uids.len());
        for (uid, r) in uids.iter().zip(&got) {
            let raw = mail(*uid);
            assert_eq!(r.size, raw.len());
            let (sha, parsed, verdict) = r.result.as_ref().expect("parsed");
            assert!(!verdict.trusted, "{verdict:?}");
            assert_eq!(*sha, hex::encode(Sha256::digest(&raw)));
            let id = format!("m{uid}@example.org");
            assert_eq!(parsed.message_id.as_deref(), Some(id.as_str()));
        }
        assert_eq!(p.pending(), 0);
    }

    /// Holds a "stuck" parse until the test lets it go.
    static GATE: (Mutex<bool>, std::sync::Condvar) = (Mutex::new(false), std::sync::Condvar::new());

    /// A parse that ignores its budget on `STUCK` (until [`GATE`] opens), that
    /// checks it on `SPIN`, that allocates 256 MiB on `HUGE`, and parses for real otherwise.
    fn hostile(raw: &[u8]) -> ParsedMessage {
        if raw.starts_with(b"STUCK") {
            let mut open = GATE.0.lock().unwrap();
            while !*open {
                open = GATE.1.wait(open).unwrap();
            }
        } else if raw.starts_with(b"SPIN") {
            while crate::budget::check() {
                std::hint::spin_loop();
            }
        } else if raw.starts_with(b"HUGE") {
            let v = vec![7u8; 256 << 20];
            assert_eq!(v[v.len() - 1], 7);
        }
        crate::parse::parse(raw)
    }

    fn tight(time_ms: u64, watchdog_ms: u64) -> Limits {
        Limits {
            message_time: Duration::from_millis(time_ms),
            message_memory: 32 << 20,
            watchdog: Duration::from_millis(watchdog_ms),
        }
    }

    fn failure(p: Parsed) -> Failure {
        p.result.expect_err("a failure")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_parse_that_ignores_its_budget_is_abandoned_and_the_queue_goes_on() {
        let mut p = Parsers::with_parser(2, tight(50, 400), hostile, unjudged());
        p.submit(1, mail(1));
        p.submit(2, b"STUCK".to_vec()); // thread 2, with 4 and 6 queued behind it
        for uid in 3..=8 {
            p.submit(uid, mail(uid));
        }
        let t = Instant::now();
        assert!(next(&mut p).await.unwrap().result.is_ok());
        let stuck = failure(next(&mut p).await.unwrap());
        assert_eq!(
            stuck,
            Failure::Exceeded(Exceeded::Watchdog(Duration::from_millis(400)))
        );
        assert!(
            t.elapsed() >= Duration::from_millis(400),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(abandoned(), 1);
        // Those queued behind the stuck one came through, in order.
        for uid in 3..=8 {
            let r = next(&mut p).await.unwrap();
            let (_, parsed, _) = r.result.expect("parsed");
            let id = format!("m{uid}@example.org");
            assert_eq!(parsed.message_id.as_deref(), Some(id.as_str()));
        }
        assert!(next(&mut p).await.is_none());
        // Let the stuck parse end: its thread then ends too.
        *GATE.0.lock().unwrap() = true;
        GATE.1.notify_all();
        let t = Instant::now();
        while abandoned() > 0 {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "the abandoned thread ended"
            );
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn over_time_or_memory_fails_the_message_not_the_next() {
        let mut p = Parsers::with_parser(1, tight(50, 60_000), hostile, unjudged());
        p.submit(1, b"SPIN".to_vec());
        p.submit(2, b"HUGE".to_vec());
        p.submit(3, mail(3));
        let t = Instant::now();
        let spin = failure(next(&mut p).await.unwrap());
        assert_eq!(
            spin,
            Failure::Exceeded(Exceeded::Time(Duration::from_millis(50)))
        );
        assert!(spin.to_string().contains("limits.message_time"), "{spin}");
        let huge = failure(next(&mut p).await.unwrap());
        assert_eq!(huge, Failure::Exceeded(Exceeded::Memory(32 << 20)));
        assert!(next(&mut p).await.unwrap().result.is_ok());
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }

    #[test]
    fn a_huge_body_parses_within_the_default_budget() {
        // 25 MB on one line, the size limit's default: once 318 MB of peak memory.
        let mut raw = b"From: a@example.org\r\nSubject: big\r\n\r\n".to_vec();
        raw.extend(b"abcdefgh ij".repeat((25 << 20) / 11));
        let before = crate::budget::alloc::live();
        let r = hash_and_parse(&raw, &Limits::default(), crate::parse::parse);
        let (_, parsed) = r.expect("within 2 s and 64 MiB");
        assert_eq!(parsed.kind, crate::parse::Kind::Unrelated);
        assert!(crate::budget::alloc::live() - before < 1 << 20);
    }

    #[test]
    fn panics_become_messages() {
        let s = catch_unwind(|| panic!("static text")).unwrap_err();
        assert_eq!(panic_message(&*s), "static text");
        let n = 7;
        let s = catch_unwind(|| panic!("formatted {n}")).unwrap_err();
        assert_eq!(panic_message(&*s), "formatted 7");
        let s = catch_unwind(|| std::panic::panic_any(42u8)).unwrap_err();
        assert_eq!(panic_message(&*s), "panic with a non-text payload");
        fn boom(_: &[u8]) -> ParsedMessage {
            panic!("boom")
        }
        let r = hash_and_parse(b"x", &Limits::default(), boom);
        let e = r.expect_err("a failure");
        assert_eq!(e, Failure::Panic("boom".into()));
        assert!(e.to_string().contains("crashed"), "{e}");
    }
}
