//! One batch of messages: the oversize ones found first, the other bodies streamed
//! one at a time, each parsed and committed to the store (with the checkpoint, in the
//! same transaction), then the after-processing actions grouped by outcome.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::watch;

use super::health::Health;
use super::pending::Pending;
use super::worker::SessionError;
use crate::budget::pool::{Failure, Parsers};
use crate::config::{Action, MailboxSettings};
use crate::imap::Session;
use crate::store::{Checkpoint, Origin, Outcome, Store, StoreError};

/// What every mailbox worker shares.
pub struct Ctx {
    pub store: Store,
    pub health: Arc<Health>,
    /// Lease holder id (`Settings::instance`).
    pub instance: String,
    /// Lower-case addresses and domains of staff (`NotifySettings`), for `forwarder_is_staff`.
    pub staff_addresses: Vec<String>,
    pub staff_domains: Vec<String>,
    /// Woken when a message enqueued outgoing mail, so the outbox sender need not poll.
    pub outbox_kick: Arc<tokio::sync::Notify>,
    /// Judges who sent each message (`[trust]`).
    pub trust: Arc<crate::trust::Checker>,
    /// The work one message may cost (`[limits]`; taken at start, not on reload).
    pub limits: crate::budget::Limits,
}

impl Ctx {
    /// Whether `forwarded_by` belongs to the agency's own staff.
    pub fn is_staff(&self, forwarded_by: Option<&str>) -> bool {
        let Some(addr) = forwarded_by else {
            return false;
        };
        let addr = addr.to_ascii_lowercase();
        if self.staff_addresses.contains(&addr) {
            return true;
        }
        addr.rsplit_once('@')
            .is_some_and(|(_, d)| self.staff_domains.iter().any(|s| s == d))
    }
}

/// Which after-processing action a message gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    Processed,
    Ignored,
    Review,
    Failed,
    Oversize,
    /// Already processed before a UIDVALIDITY change: left where it is.
    Untouched,
}

impl Category {
    pub fn of(outcome: Outcome) -> Category {
        match outcome {
            Outcome::CaseCreated | Outcome::CaseUpdated | Outcome::Duplicate => Category::Processed,
            Outcome::NeedsReview => Category::Review,
            Outcome::Ignored => Category::Ignored,
            Outcome::Failed => Category::Failed,
            Outcome::Skipped => Category::Oversize,
        }
    }

    pub(crate) fn action(self, mb: &MailboxSettings) -> &Action {
        match self {
            Category::Processed => &mb.actions.processed,
            Category::Ignored => &mb.actions.ignored,
            Category::Review => &mb.actions.review,
            Category::Failed => &mb.actions.failed,
            Category::Oversize => &mb.actions.oversize,
            Category::Untouched => &Action::Leave,
        }
    }
}

/// Where a mailbox stands: the folder's UIDVALIDITY and the last UID committed.
#[derive(Debug)]
pub struct Batch {
    mailbox: String,
    uidvalidity: u32,
    last_uid: Option<u32>,
    /// The folder was recreated: check each message against what was processed before.
    revalidate: bool,
    /// The mailbox lease this session works under: every commit checks it.
    pub(crate) fence: Option<crate::store::Fence>,
}

impl Batch {
    pub fn new(mb: &MailboxSettings, uidvalidity: u32, cp: Option<Checkpoint>) -> Batch {
        let (last_uid, revalidate) = match cp {
            Some(c) if c.uidvalidity == uidvalidity => (Some(c.last_uid), false),
            Some(_) => (None, true),
            None => (None, false),
        };
        Batch {
            mailbox: mb.name.clone(),
            uidvalidity,
            last_uid,
            revalidate,
            fence: None,
        }
    }

    pub fn last_uid(&self) -> Option<u32> {
        self.last_uid
    }

    fn origin(&self, uid: u32) -> Origin<'_> {
        Origin::Imap {
            mailbox: &self.mailbox,
            uidvalidity: self.uidvalidity,
            uid,
        }
    }

    /// Moves the checkpoint to `uid` without a message (nothing to do below it).
    pub async fn set_floor(&mut self, ctx: &Ctx, uid: u32) -> Result<(), StoreError> {
        let cp = Checkpoint {
            uidvalidity: self.uidvalidity,
            last_uid: uid,
        };
        ctx.store
            .set_checkpoint_fenced(&self.mailbox, cp, self.fence.as_ref())
            .await?;
        self.last_uid = Some(uid);
        Ok(())
    }
}

/// Parser threads per batch: one per core, up to four (the reader and the
/// commit need their share too).
fn parser_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
}

/// Messages handed to the parser threads at once, at most (and at most
/// [`INFLIGHT_BYTES`] of them): sixteen per thread, so none runs dry while the
/// reader waits on the server.
// NOTE: at two per thread, a thread often emptied its queue and went to sleep,
// and the reader woke it for the next message: a wake-up across cores per
// message, costly on a virtual machine. In the ingest benchmark (10,000
// messages, six alternating rounds) 8 per thread cut leje's CPU per message
// from 90 to 76 µs and 16 to 66 µs, and raised throughput by 17 and 28 %;
// 32 and 128 were no better. Peak memory rose by about 1 MB.
fn max_inflight() -> usize {
    parser_threads() * 16
}

/// Raw bytes handed to parser threads at once; one bigger message still goes alone.
const INFLIGHT_BYTES: usize = 8 << 20;

/// Raw bytes of parsed messages held for one commit; the group commits early past it.
const GROUP_BYTES: usize = 4 << 20;

mod group;

use group::Group;

/// A fetched message, parsed and hashed, waiting for its group's commit.
struct Prepared {
    uid: u32,
    sha: String,
    size: u64,
    parsed: crate::parse::ParsedMessage,
    verdict: crate::trust::Verdict,
}

/// Processes `uids` (sorted, all above the checkpoint). Returns `Ok(false)` when it
/// stopped early because `stop` became true (the messages in hand were finished).
///
/// NOTE: the pipeline: bodies stream in one at a time; each is hashed and parsed on
/// a parser thread (`Parsers`, several at once, in order) while the next is read; parsed
/// messages are committed in groups, one store transaction per group with the
/// checkpoint at its last UID. A crash loses at most an uncommitted group, which is
/// fetched again on restart: never lost, never applied twice.
pub async fn run_batch(
    s: &mut Session,
    mb: &MailboxSettings,
    ctx: &Ctx,
    batch: &mut Batch,
    pending: &mut Pending,
    uids: &[u32],
    stop: &watch::Receiver<bool>,
) -> Result<bool, SessionError> {
    let t0 = std::time::Instant::now();
    let mut t_read = std::time::Duration::ZERO;
    let mut t_parse = std::time::Duration::ZERO;
    let mut big: VecDeque<(u32, u64)> = s.oversize(uids, mb.max_message_size).await?.into();
    // NOTE: everything else is fetched, including a UID expunged since the search:
    // the server then leaves it out of the answer, which is checked below.
    let small: Vec<u32> = uids
        .iter()
        .copied()
        .filter(|u| big.binary_search_by_key(u, |&(b, _)| b).is_err())
        .collect();
    let mut big_headers = Vec::with_capacity(big.len());
    for &(uid, _) in &big {
        // Fetched now, while the session is free: the header only, never the body.
        big_headers.push(s.header(uid).await?);
    }
    let mut big_headers: VecDeque<Option<Vec<u8>>> = big_headers.into();
    let mut done: Vec<(u32, Category)> = Vec::with_capacity(uids.len());

    let mut g = Group::default();
    // A message arriving alone (IDLE) needs one thread, a backlog all of them.
    let mut parsers = Parsers::start(
        parser_threads().min(small.len()),
        ctx.limits,
        crate::budget::pool::judge_with(ctx.trust.clone()),
    );
    let mut inflight_bytes = 0usize;
    let limit = max_inflight();
    let mut handler_err = None;
    let mut imap_err = None;
    let mut stopped = false;
    let mut eof = false;
    // Which requested messages came (a server may repeat one), to know whether the
    // answer was complete.
    let mut seen = vec![false; small.len()];
    let mut bodies = s.fetch_bodies(&small).await?;
    loop {
        // Keep the parser threads busy: read ahead while there is room.
        while !stopped && !eof && parsers.pending() < limit && inflight_bytes < INFLIGHT_BYTES {
            let t = std::time::Instant::now();
            let next = bodies.next().await;
            t_read += t.elapsed();
            match next {
                Ok(Some(m)) => {
                    let uid = m.uid;
                    if let Ok(i) = small.binary_search(&uid) {
                        seen[i] = true;
                    }
                    let raw = m.body().to_vec();
                    drop(m);
                    inflight_bytes += raw.len();
                    parsers.submit(uid, raw);
                }
                Ok(None) => eof = true,
                Err(e) => {
                    // What is already fetched is still committed below.
                    imap_err = Some(e);
                    eof = true;
                }
            }
        }
        let Some(uid) = parsers.oldest() else {
            break;
        };
        let r = async {
            // NOTE: oversize messages are recorded in UID order with the fetched ones
            // (the group before them is committed first), so the checkpoint only ever
            // moves forward.
            while big.front().is_some_and(|&(b, _)| b < uid) {
                let (b, size) = big.pop_front().expect("checked");
                let header = big_headers.pop_front().flatten();
                g.commit(ctx, batch, &mut done).await?;
                done.push((
                    b,
                    oversize(ctx, mb, batch, b, size, header.as_deref()).await?,
                ));
            }
            let t = std::time::Instant::now();
            let Some(p) = parsers.next().await else {
                return Ok(());
            };
            t_parse += t.elapsed();
            inflight_bytes -= p.size;
            match p.result {
                Ok((sha, parsed, verdict)) => {
                    g.push(Prepared {
                        uid,
                        sha,
                        size: p.size as u64,
                        parsed,
                        verdict,
                    });
                    // More of the answer to come: a backlog, worth larger groups.
                    let min = if eof || stopped {
                        1
                    } else {
                        mb.batch_size as usize / 2
                    };
                    if batch.revalidate || g.ready(mb.batch_size as usize, min) {
                        g.commit_behind(ctx, batch, &mut done).await?;
                    }
                }
                Err(e) => {
                    g.commit(ctx, batch, &mut done).await?;
                    done.push((uid, given_up(ctx, batch, uid, p.size, &e).await?));
                }
            }
            Ok::<(), StoreError>(())
        }
        .await;
        if let Err(e) = r {
            handler_err = Some(e);
            break;
        }
        if *stop.borrow() {
            // Finish what is in hand (fetched, being parsed); read no more.
            stopped = true;
        }
    }
    if handler_err.is_none() {
        if let Err(e) = g.commit(ctx, batch, &mut done).await {
            handler_err = Some(e);
        }
    }
    let mut finished = match imap_err {
        Some(e) => {
            drop(bodies);
            Err(e)
        }
        None => bodies.drain().await,
    };
    // Proves the FETCH answer was complete (async-imap ends the stream silently on EOF)
    // before any UID missing from it is taken as expunged (and passed by the next
    // batch's checkpoint). Not needed when every requested message came.
    if finished.is_ok() && seen.contains(&false) {
        finished = s.noop().await;
    }
    if let Err(e) = finished {
        // What was committed still gets its action.
        pending.add(&done);
        return Err(e.into());
    }
    tracing::debug!(
        mailbox = %mb.name,
        messages = uids.len(),
        total_ms = t0.elapsed().as_millis() as u64,
        waiting_for_server_ms = t_read.as_millis() as u64,
        waiting_for_parser_ms = t_parse.as_millis() as u64,
        commits = g.commits,
        commit_ms = g.spent.as_millis() as u64,
        waiting_for_commit_ms = g.waited.as_millis() as u64,
        "batch done"
    );

    let mut result = match handler_err {
        Some(e) => Err(SessionError::Store(e)),
        None => Ok(!stopped),
    };
    if result.is_ok() && !stopped {
        while let Some((b, size)) = big.pop_front() {
            let header = big_headers.pop_front().flatten();
            match oversize(ctx, mb, batch, b, size, header.as_deref()).await {
                Ok(c) => done.push((b, c)),
                Err(e) => {
                    result = Err(SessionError::Store(e));
                    break;
                }
            }
        }
    }
    pending.add(&done);
    result
}

/// Records a message that has no parse result (over its budget, or the parser
/// crashed): outcome `failed` with the reason, moved aside, never dropped.
async fn given_up(
    ctx: &Ctx,
    batch: &mut Batch,
    uid: u32,
    size: usize,
    failure: &Failure,
) -> Result<Category, StoreError> {
    match failure {
        // parse() promises never to panic; if it does, say so loudly.
        Failure::Panic(_) => {
            tracing::error!(mailbox = %batch.mailbox, uid, "parser failed on this message: {failure}")
        }
        Failure::Exceeded(_) => {
            tracing::warn!(mailbox = %batch.mailbox, uid, size, "{failure}")
        }
    }
    ctx.store
        .record_unparsed_fenced(
            &batch.origin(uid),
            None,
            None,
            size as u64,
            Outcome::Failed,
            &failure.to_string(),
            batch.fence.as_ref(),
        )
        .await?;
    batch.last_uid = Some(uid);
    ctx.health
        .ingested(&batch.mailbox, Outcome::Failed.as_str());
    Ok(Category::Failed)
}

/// Records a message over `max_message_size` without fetching it.
async fn oversize(
    ctx: &Ctx,
    mb: &MailboxSettings,
    batch: &mut Batch,
    uid: u32,
    size: u64,
    header: Option<&[u8]>,
) -> Result<Category, StoreError> {
    let message_id = header.and_then(message_id_of);
    if batch.revalidate
        && message_id.is_some()
        && ctx
            .store
            .already_processed(message_id.as_deref(), "")
            .await?
    {
        batch.set_floor(ctx, uid).await?;
        return Ok(Category::Untouched);
    }
    let reason = format!(
        "message is {size} bytes, over the limit of {} bytes (max_message_size)",
        mb.max_message_size
    );
    ctx.store
        .record_skipped_fenced(
            &batch.origin(uid),
            message_id.as_deref(),
            &reason,
            batch.fence.as_ref(),
        )
        .await?;
    batch.last_uid = Some(uid);
    ctx.health
        .ingested(&batch.mailbox, Outcome::Skipped.as_str());
    tracing::warn!(mailbox = %batch.mailbox, uid, size, "message over the size limit: recorded and moved aside, not fetched");
    Ok(Category::Oversize)
}

fn message_id_of(header: &[u8]) -> Option<String> {
    let msg = mail_parser::MessageParser::new().parse_headers(header)?;
    msg.message_id().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_from_header() {
        let h = b"From: a@b.al\r\nMessage-ID:\r\n <abc.123@mail.gov.al>\r\nSubject: x\r\n\r\n";
        assert_eq!(message_id_of(h).as_deref(), Some("abc.123@mail.gov.al"));
        assert_eq!(message_id_of(b"Subject: none\r\n\r\n"), None);
    }

    #[test]
    fn outcomes_map_to_actions() {
        assert_eq!(Category::of(Outcome::CaseCreated), Category::Processed);
        assert_eq!(Category::of(Outcome::Duplicate), Category::Processed);
        assert_eq!(Category::of(Outcome::NeedsReview), Category::Review);
        assert_eq!(Category::of(Outcome::Skipped), Category::Oversize);
        assert_eq!(Category::of(Outcome::Failed), Category::Failed);
        assert_eq!(Category::of(Outcome::Ignored), Category::Ignored);
    }
}
