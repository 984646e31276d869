//! Group commit: parsed messages are committed in groups, one store
//! transaction each, while the reader goes on fetching and parsing.

use super::{Batch, Category, Ctx, Prepared, GROUP_BYTES};
use crate::logging::Redacted;
use crate::store::{Incoming, Ingested, Origin, Outcome, StoreError};

/// Parsed messages waiting to be committed together, and the group before them
/// being committed meanwhile.
///
/// NOTE: at most one commit is in flight, and each starts only after the one
/// before it has finished, so groups commit in UID order and the checkpoint only
/// moves forward. While group N commits (its SQLite fsyncs, the PostgreSQL round
/// trips), group N+1 is fetched and parsed: a backlog then goes at the speed of
/// the slower of the two, not of their sum.
///
/// A group is sized by the commit before it (group commit): it is handed over as
/// soon as that commit is done, with whatever was parsed meanwhile, and waits
/// for it only when full (`batch_size` messages or [`GROUP_BYTES`]). A message
/// arriving alone is committed at once; a backlog commits in large groups, so a
/// transaction's fixed costs (BEGIN, the look-ups, the WAL fsync) are spread over
/// as many messages as the disk's speed calls for, up to that ceiling.
///
/// While more of a FETCH answer is still to come, a group also waits until it
/// holds half of `batch_size`: with commits fast enough to keep up, groups
/// otherwise shrank to 125–185 messages, and each commit rewrites every index
/// page its random keys (hashes, Message-IDs, travel documents) land on, so
/// small groups wrote the same pages again and again. In the ingest benchmark
/// (10,000 messages, five alternating rounds) this floor cut CPU per message
/// by about 12 % and raised throughput by about 13 %; a floor of the whole
/// `batch_size` was no better and held 1.3 MB more.
#[derive(Default)]
pub(super) struct Group {
    items: Vec<Prepared>,
    bytes: usize,
    inflight: Option<Committing>,
    /// Commits launched, for the per-batch debug line.
    pub(super) commits: u64,
    /// Time spent in the store, for the per-batch debug line.
    pub(super) spent: std::time::Duration,
    /// Time the reader waited for a commit to finish.
    pub(super) waited: std::time::Duration,
}

/// Largest group whose messages are each logged at info level. A bigger group
/// (a backlog) gets one info line with its count per outcome; its messages are
/// logged one by one at debug level, except those a person must look at
/// (`needs_review`, `failed`), which stay at info.
// NOTE: one line per message made a first start on 50,000 old messages write
// 50,000 lines to the journal, and writing them held up the reader: at the
// default level the ingest benchmark ran about 8 % slower than with `warn`.
// Every message's outcome is in the store (`leje messages list`) either way.
const LINES_PER_GROUP: usize = 20;

/// A group's commit, running as its own task.
type Committing = tokio::task::JoinHandle<(
    Vec<Prepared>,
    Result<Vec<Ingested>, StoreError>,
    std::time::Duration,
)>;

impl Group {
    pub(super) fn push(&mut self, p: Prepared) {
        self.bytes += p.size as usize;
        self.items.push(p);
    }

    /// Whether to hand the group over now: it holds at least `min` messages and
    /// the commit before it is done (or there is none), or it is full and must
    /// wait for that commit.
    pub(super) fn ready(&self, max: usize, min: usize) -> bool {
        let idle = self.inflight.as_ref().is_none_or(|t| t.is_finished());
        self.items.len() >= max || self.bytes >= GROUP_BYTES || (self.items.len() >= min && idle)
    }

    /// Starts committing the group behind the reader: waits for the commit before
    /// it, then lets this one run while more messages are fetched and parsed.
    pub(super) async fn commit_behind(
        &mut self,
        ctx: &Ctx,
        batch: &mut Batch,
        done: &mut Vec<(u32, Category)>,
    ) -> Result<(), StoreError> {
        self.finish(ctx, batch, done).await?;
        self.launch(ctx, batch, done).await
    }

    /// Commits everything parsed so far and waits for it: before a message that is
    /// recorded on its own (oversize, parser crash) and at the end of a batch.
    pub(super) async fn commit(
        &mut self,
        ctx: &Ctx,
        batch: &mut Batch,
        done: &mut Vec<(u32, Category)>,
    ) -> Result<(), StoreError> {
        self.commit_behind(ctx, batch, done).await?;
        self.finish(ctx, batch, done).await
    }

    /// Hands the group to a commit task (one store transaction, checkpoint
    /// included). After a UIDVALIDITY change, messages seen before are left alone
    /// instead, here, with the group before them already committed.
    async fn launch(
        &mut self,
        ctx: &Ctx,
        batch: &mut Batch,
        done: &mut Vec<(u32, Category)>,
    ) -> Result<(), StoreError> {
        debug_assert!(self.inflight.is_none());
        if self.items.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(&mut self.items);
        self.bytes = 0;
        let mut todo = Vec::with_capacity(items.len());
        for p in items {
            if batch.revalidate
                && ctx
                    .store
                    .already_processed(p.parsed.message_id.as_deref(), &p.sha)
                    .await?
            {
                batch.set_floor(ctx, p.uid).await?;
                tracing::info!(mailbox = %batch.mailbox, uid = p.uid, "already processed before the folder was recreated; left alone");
                ctx.health
                    .ingested(&batch.mailbox, Outcome::Duplicate.as_str());
                done.push((p.uid, Category::Untouched));
                continue;
            }
            todo.push(p);
        }
        if todo.is_empty() {
            return Ok(());
        }
        let staff: Vec<bool> = todo
            .iter()
            .map(|p| ctx.is_staff(p.parsed.forwarded_by.as_deref()))
            .collect();
        let store = ctx.store.clone();
        let (mailbox, uidvalidity) = (batch.mailbox.clone(), batch.uidvalidity);
        let fence = batch.fence.clone();
        self.commits += 1;
        self.inflight = Some(tokio::spawn(async move {
            let t = std::time::Instant::now();
            let incoming: Vec<Incoming<'_>> = todo
                .iter()
                .zip(staff)
                .map(|(p, forwarder_is_staff)| Incoming {
                    origin: Origin::Imap {
                        mailbox: &mailbox,
                        uidvalidity,
                        uid: p.uid,
                    },
                    raw_sha256: &p.sha,
                    size: p.size,
                    parsed: &p.parsed,
                    forwarder_is_staff,
                    trust: &p.verdict,
                })
                .collect();
            let results = store.ingest_batch_fenced(&incoming, fence.as_ref()).await;
            drop(incoming);
            (todo, results, t.elapsed())
        }));
        Ok(())
    }

    /// Waits for the commit in flight, if any, and records each of its messages'
    /// category in `done`.
    async fn finish(
        &mut self,
        ctx: &Ctx,
        batch: &mut Batch,
        done: &mut Vec<(u32, Category)>,
    ) -> Result<(), StoreError> {
        let Some(task) = self.inflight.take() else {
            return Ok(());
        };
        let t = std::time::Instant::now();
        let joined = task.await;
        self.waited += t.elapsed();
        let (todo, results, spent) =
            joined.map_err(|e| StoreError::Corrupt(format!("the commit task failed: {e}")))?;
        self.spent += spent;
        let results = results?;
        let mut kick = false;
        let one_by_one = todo.len() <= LINES_PER_GROUP;
        let mut counts = [0usize; Outcome::ALL.len()];
        for (p, r) in todo.iter().zip(&results) {
            ctx.health.ingested(&batch.mailbox, r.outcome.as_str());
            kick |= !r.outbox_ids.is_empty();
            if let Some(i) = Outcome::ALL.iter().position(|&o| o == r.outcome) {
                counts[i] += 1;
            }
            // NOTE: a macro, as `tracing::event!` takes its level as a constant.
            macro_rules! processed {
                ($level:expr) => {
                    tracing::event!(
                        $level,
                        mailbox = %batch.mailbox,
                        uid = p.uid,
                        kind = %crate::store::kind_str(p.parsed.kind),
                        outcome = %r.outcome.as_str(),
                        case = r.case_id,
                        doc = p.parsed.travel_document.as_deref().map(|d| tracing::field::display(Redacted(d))),
                        outbox = r.outbox_ids.len(),
                        "message processed"
                    )
                };
            }
            if one_by_one || matches!(r.outcome, Outcome::NeedsReview | Outcome::Failed) {
                processed!(tracing::Level::INFO);
            } else {
                processed!(tracing::Level::DEBUG);
            }
            done.push((p.uid, Category::of(r.outcome)));
        }
        if !one_by_one {
            let outcomes: Vec<String> = Outcome::ALL
                .iter()
                .zip(counts)
                .filter(|&(_, k)| k > 0)
                .map(|(o, k)| format!("{o}:{k}"))
                .collect();
            tracing::info!(
                mailbox = %batch.mailbox,
                messages = todo.len(),
                first_uid = todo.first().map(|p| p.uid),
                last_uid = todo.last().map(|p| p.uid),
                outcomes = %outcomes.join(","),
                "messages processed"
            );
        }
        batch.last_uid = todo.last().map(|p| p.uid);
        if kick {
            ctx.outbox_kick.notify_one();
        }
        Ok(())
    }
}
