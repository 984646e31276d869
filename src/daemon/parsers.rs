//! The parser threads of one batch: raw messages go in, in UID order; hash and
//! parse results come out in the same order.
//!
//! NOTE: a task per message (`spawn_blocking`) cost two thread wake-ups per
//! message (the pool thread, then the reader waiting on its handle), which on a
//! busy two-core machine was a visible share of a backlog's CPU. Here each
//! thread keeps going while its queue has work, and the reader is only woken
//! when it is actually waiting for a result. Messages are dealt out round-robin
//! and collected round-robin, so results come back in the order they went in
//! without any reordering buffer.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use std::sync::Arc;

use crate::parse::ParsedMessage;
use crate::trust::{Checker, Verdict};

/// A message's hash and parse result, or why the parser failed on it.
pub struct Parsed {
    /// Raw size in bytes.
    pub size: usize,
    /// `(sha256 hex of the raw bytes, parse result, trust verdict)`, or the panic message.
    pub result: Outcome,
}

/// What a parser thread sends back for one message.
type Outcome = Result<(String, ParsedMessage, Verdict), String>;

struct Thread {
    input: mpsc::UnboundedSender<Vec<u8>>,
    output: mpsc::UnboundedReceiver<Outcome>,
}

/// Parser threads for one batch; they end when this is dropped (each finishing
/// the message in hand).
pub struct Parsers {
    threads: Vec<Thread>,
    next_in: usize,
    next_out: usize,
    /// UID and size of each message submitted and not yet collected, oldest first.
    pending: VecDeque<(u32, usize)>,
}

impl Parsers {
    /// Starts `n` (at least one) parser threads, each judging who sent its
    /// messages with `trust` (DKIM lookups on the current runtime).
    pub fn start(n: usize, trust: Arc<Checker>) -> Parsers {
        let rt = tokio::runtime::Handle::current();
        let threads = (0..n.max(1))
            .map(|_| Thread::start(trust.clone(), rt.clone()))
            .collect();
        Parsers {
            threads,
            next_in: 0,
            next_out: 0,
            pending: VecDeque::new(),
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
        // NOTE: a thread only ends when its input closes (parse panics are caught),
        // but should the runtime drop it, the message is reported, not lost.
        let result = self.threads[i].output.recv().await;
        Some(Parsed {
            size,
            result: result.unwrap_or_else(|| Err("the parser thread stopped".to_owned())),
        })
    }
}

impl Thread {
    fn start(trust: Arc<Checker>, rt: tokio::runtime::Handle) -> Thread {
        let (input, rx) = mpsc::unbounded_channel();
        let (tx, output) = mpsc::unbounded_channel();
        // NOTE: a thread of its own, not tokio's blocking pool: it lives as long as
        // the batch, and several mailboxes' parser threads could otherwise fill the
        // pool's ceiling and hold up its short jobs (file I/O).
        let (t2, rt2) = (trust.clone(), rt.clone());
        let spawned = std::thread::Builder::new()
            .name("leje-parse".into())
            .spawn(move || work(rx, tx, &t2, &rt2));
        match spawned {
            Ok(_) => Thread { input, output },
            Err(e) => {
                tracing::warn!("cannot start a parser thread ({e}); using the blocking pool");
                let (input, rx) = mpsc::unbounded_channel();
                let (tx, output) = mpsc::unbounded_channel();
                tokio::task::spawn_blocking(move || work(rx, tx, &trust, &rt));
                Thread { input, output }
            }
        }
    }
}

/// A parser thread's loop: until its input closes or its output is dropped.
fn work(
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    tx: mpsc::UnboundedSender<Outcome>,
    trust: &Checker,
    rt: &tokio::runtime::Handle,
) {
    while let Some(raw) = rx.blocking_recv() {
        let result = hash_and_parse(&raw).and_then(|(sha, parsed)| {
            catch_unwind(AssertUnwindSafe(|| {
                trust.assess_blocking(rt, &raw, &parsed)
            }))
            .map(|v| (sha, parsed, v))
            .map_err(|p| panic_message(&*p))
        });
        drop(raw);
        if tx.send(result).is_err() {
            break;
        }
    }
}

/// The hash and the parse of one message; a panic in the parser (which promises
/// never to panic) becomes an error carrying its message.
fn hash_and_parse(raw: &[u8]) -> Result<(String, ParsedMessage), String> {
    catch_unwind(AssertUnwindSafe(|| {
        (hex::encode(Sha256::digest(raw)), crate::parse::parse(raw))
    }))
    .map_err(|p| panic_message(&*p))
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
        let trust = Arc::new(Checker::new(&crate::config::TrustSettings::default()));
        let mut p = Parsers::start(3, trust);
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
            assert!(!verdict.trusted, "not a notice: {verdict:?}");
            assert_eq!(*sha, hex::encode(Sha256::digest(&raw)));
            let id = format!("m{uid}@example.org");
            assert_eq!(parsed.message_id.as_deref(), Some(id.as_str()));
        }
        assert_eq!(p.pending(), 0);
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
    }
}
