//! One batch of messages: sizes first, bodies streamed one at a time, each parsed and
//! committed to the store (with the checkpoint, in the same transaction), then the
//! after-processing actions grouped by outcome.

use std::collections::VecDeque;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::health::Health;
use super::worker::SessionError;
use crate::config::{Action, MailboxSettings};
use crate::imap::{ImapError, Session};
use crate::store::{Checkpoint, Incoming, Origin, Outcome, Store, StoreError};

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

    fn action(self, mb: &MailboxSettings) -> &Action {
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
        ctx.store.set_checkpoint(&self.mailbox, cp).await?;
        self.last_uid = Some(uid);
        Ok(())
    }
}

/// Processes `uids` (sorted, all above the checkpoint). Returns `Ok(false)` when it
/// stopped early because `stop` became true (the message in hand was finished).
pub async fn run_batch(
    s: &mut Session,
    mb: &MailboxSettings,
    ctx: &Ctx,
    batch: &mut Batch,
    pending: &mut Pending,
    uids: &[u32],
    stop: &watch::Receiver<bool>,
) -> Result<bool, SessionError> {
    let sizes = s.sizes(uids).await?;
    let max = mb.max_message_size;
    let mut big: VecDeque<(u32, u64)> = sizes.iter().copied().filter(|&(_, n)| n > max).collect();
    let small: Vec<u32> = sizes
        .iter()
        .filter(|&&(_, n)| n <= max)
        .map(|&(u, _)| u)
        .collect();
    let mut big_headers = Vec::with_capacity(big.len());
    for &(uid, _) in &big {
        // Fetched now, while the session is free: the header only, never the body.
        big_headers.push(s.header(uid).await?);
    }
    let mut big_headers: VecDeque<Option<Vec<u8>>> = big_headers.into();
    let mut done: Vec<(u32, Category)> = Vec::with_capacity(uids.len());

    // NOTE: oversize messages are recorded in UID order with the fetched ones, so the
    // checkpoint only ever moves forward.
    let mut handler_err = None;
    let mut stopped = false;
    let mut bodies = s.fetch_bodies(&small).await?;
    while let Some(m) = bodies.next().await? {
        let r = async {
            while big.front().is_some_and(|&(b, _)| b < m.uid) {
                let (b, size) = big.pop_front().expect("checked");
                let header = big_headers.pop_front().flatten();
                done.push((
                    b,
                    oversize(ctx, mb, batch, b, size, header.as_deref()).await?,
                ));
            }
            done.push((m.uid, one(ctx, batch, m.uid, m.body()).await?));
            Ok::<(), StoreError>(())
        }
        .await;
        if let Err(e) = r {
            handler_err = Some(e);
            break;
        }
        if *stop.borrow() {
            stopped = true;
            break;
        }
    }
    bodies.drain().await?;
    // Proves the FETCH answer was complete (async-imap ends the stream silently on EOF)
    // before any UID missing from it is taken as expunged.
    s.noop().await?;

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
    pending.add(batch.uidvalidity, &done);
    result
}

/// After-processing actions of committed messages, not yet applied.
///
/// NOTE: actions are collected over several batches and applied as one command per
/// action: on Dovecot with Maildir an expunge (MOVE) costs about the same for 1 or
/// 1,000 messages and grows with the folder (≈1.5 s at 10,000 messages), so one MOVE
/// per batch would dominate a large backlog. Pending actions survive a reconnect
/// (same UIDVALIDITY) and are applied then; only a crash leaves those messages in
/// the folder, already recorded and past the checkpoint.
#[derive(Debug, Default)]
pub struct Pending {
    uidvalidity: u32,
    by_cat: Vec<(Category, Vec<u32>)>,
    count: usize,
    since: Option<std::time::Instant>,
}

impl Pending {
    /// Flush when this many messages wait…
    pub const MAX: usize = 1000;
    /// …or the oldest has waited this long.
    pub const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(5);

    fn add(&mut self, uidvalidity: u32, done: &[(u32, Category)]) {
        if self.count > 0 && self.uidvalidity != uidvalidity {
            self.clear();
        }
        self.uidvalidity = uidvalidity;
        for &(uid, cat) in done {
            if cat == Category::Untouched {
                continue;
            }
            match self.by_cat.iter_mut().find(|(c, _)| *c == cat) {
                Some((_, v)) => v.push(uid),
                None => self.by_cat.push((cat, vec![uid])),
            }
            self.count += 1;
            self.since.get_or_insert_with(std::time::Instant::now);
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Time to flush during a backlog?
    pub fn due(&self) -> bool {
        self.count >= Self::MAX || self.since.is_some_and(|t| t.elapsed() >= Self::MAX_AGE)
    }

    /// Forgets everything (the folder was recreated: those UIDs mean nothing now).
    pub fn clear(&mut self) {
        if self.count > 0 {
            tracing::warn!(
                "{} after-processing action(s) dropped: the folder changed (UIDVALIDITY); those messages stay where they are",
                self.count
            );
        }
        *self = Pending::default();
    }

    /// Applies everything pending, one command per action. Connection errors keep the
    /// rest pending for the next session; other failures are logged and dropped.
    pub async fn flush(
        &mut self,
        s: &mut Session,
        mb: &MailboxSettings,
        ctx: &Ctx,
        uidvalidity: u32,
    ) -> Result<(), ImapError> {
        if self.count == 0 {
            return Ok(());
        }
        if self.uidvalidity != uidvalidity {
            self.clear();
            return Ok(());
        }
        while let Some((cat, mut uids)) = self.by_cat.pop() {
            uids.sort_unstable();
            let action = cat.action(mb);
            if let Err(e) = s.apply(action, &uids).await {
                match e {
                    ImapError::Io(_) | ImapError::Timeout(..) | ImapError::Bye(_) => {
                        self.by_cat.push((cat, uids));
                        return Err(e);
                    }
                    e => {
                        // NOTE: not retried: the messages are committed and past the
                        // checkpoint; they stay in the folder and the log says why.
                        tracing::warn!(mailbox = %mb.name, "after-processing action {action:?} on UIDs {} failed: {e}", crate::imap::uid_set(&uids));
                        ctx.health.error(&mb.name, "action", &e.to_string());
                    }
                }
            }
            self.count -= uids.len();
        }
        *self = Pending::default();
        Ok(())
    }
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
        .record_skipped(&batch.origin(uid), message_id.as_deref(), &reason)
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

/// Parses one message and commits it (and the checkpoint) in one store transaction.
async fn one(ctx: &Ctx, batch: &mut Batch, uid: u32, body: &[u8]) -> Result<Category, StoreError> {
    let sha = hex::encode(Sha256::digest(body));
    let raw = body.to_vec();
    // NOTE: parsing (PDF text layers, charsets) is CPU work; keep it off the async
    // threads so IDLE, HTTP and the outbox stay responsive.
    let parsed = match tokio::task::spawn_blocking(move || crate::parse::parse(&raw)).await {
        Ok(p) => p,
        Err(e) => {
            // parse() promises never to panic; if it does, the message is recorded as
            // unreadable and moved aside, never dropped.
            tracing::error!(mailbox = %batch.mailbox, uid, "parser failed on this message: {e}");
            let reason = "the parser crashed on this message; please report it";
            ctx.store
                .record_skipped(&batch.origin(uid), None, reason)
                .await?;
            batch.last_uid = Some(uid);
            ctx.health
                .ingested(&batch.mailbox, Outcome::Failed.as_str());
            return Ok(Category::Failed);
        }
    };
    if batch.revalidate
        && ctx
            .store
            .already_processed(parsed.message_id.as_deref(), &sha)
            .await?
    {
        batch.set_floor(ctx, uid).await?;
        tracing::info!(mailbox = %batch.mailbox, uid, "already processed before the folder was recreated; left alone");
        ctx.health
            .ingested(&batch.mailbox, Outcome::Duplicate.as_str());
        return Ok(Category::Untouched);
    }
    let incoming = Incoming {
        origin: batch.origin(uid),
        raw_sha256: &sha,
        size: body.len() as u64,
        parsed: &parsed,
        forwarder_is_staff: ctx.is_staff(parsed.forwarded_by.as_deref()),
    };
    let ingested = ctx.store.ingest(&incoming).await?;
    batch.last_uid = Some(uid);
    ctx.health
        .ingested(&batch.mailbox, ingested.outcome.as_str());
    if !ingested.outbox_ids.is_empty() {
        ctx.outbox_kick.notify_one();
    }
    tracing::info!(
        mailbox = %batch.mailbox,
        uid,
        kind = ?parsed.kind,
        outcome = ingested.outcome.as_str(),
        case = ingested.case_id,
        outbox = ingested.outbox_ids.len(),
        "message processed"
    );
    Ok(Category::of(ingested.outcome))
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
