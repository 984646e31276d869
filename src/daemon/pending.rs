//! After-processing actions (move, flag, leave) of committed messages, collected
//! over several batches and applied one command per action.

use super::ingest::{Category, Ctx};
use crate::config::MailboxSettings;
use crate::imap::actions::move_targets;
use crate::imap::{ImapError, Session};

/// After-processing actions of committed messages, not yet applied.
///
/// NOTE: actions are collected over several batches and applied as one command per
/// action: on Dovecot with Maildir an expunge (MOVE) costs about the same for 1 or
/// 1,000 messages and grows with the folder (≈1.5 s at 10,000 messages), so one MOVE
/// per batch would dominate a large backlog. This is one session's in-memory copy;
/// the store keeps the same set (`action_pending`, written with each message), so
/// each session starts from [`Pending::load`]: after a reconnect, a restart or a
/// crash alike.
#[derive(Debug)]
pub struct Pending {
    uidvalidity: u32,
    by_cat: Vec<(Category, Vec<u32>)>,
    count: usize,
    since: Option<std::time::Instant>,
    /// The move targets were checked (created where missing) on this session.
    folders_checked: bool,
}

impl Pending {
    /// Flush when this many messages wait…
    // NOTE: a flush runs on the fetching session and holds ingestion up; on
    // Dovecot's Maildir each command of it costs about a second on a large folder,
    // and long UID sets now go as several commands (`MAX_SET_LEN`). At 20,000 a
    // 30,000-message first start stopped for several seconds two-thirds of the
    // way; the UIDs cost 4 bytes each, so this many (400 KB) is cheap to hold.
    pub const MAX: usize = 100_000;
    /// …or the oldest has waited this long (during a backlog; a quiet folder is
    /// flushed as soon as its new mail is committed).
    pub const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);

    /// What the store says is still pending for this folder (the mailbox under this
    /// UIDVALIDITY), after dropping what was pending under another one.
    pub async fn load(
        ctx: &Ctx,
        mailbox: &str,
        uidvalidity: u32,
    ) -> Result<Pending, crate::store::StoreError> {
        let stale = ctx.store.drop_stale_actions(mailbox, uidvalidity).await?;
        if stale > 0 {
            tracing::warn!(
                mailbox,
                "{stale} after-processing action(s) dropped: the folder changed (UIDVALIDITY); those messages stay where they are"
            );
        }
        let mut p = Pending {
            uidvalidity,
            by_cat: Vec::new(),
            count: 0,
            since: None,
            folders_checked: false,
        };
        let rows = ctx.store.pending_actions(mailbox, uidvalidity).await?;
        let done: Vec<(u32, Category)> = rows
            .into_iter()
            .map(|(uid, outcome)| (uid, Category::of(outcome)))
            .collect();
        p.add(&done);
        Ok(p)
    }

    /// Adds the committed messages of a batch (of this folder).
    pub(crate) fn add(&mut self, done: &[(u32, Category)]) {
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

    /// Applies everything pending, one command per action. After a connection error
    /// the rest stays pending in the store for the next session; other failures are
    /// logged and dropped.
    pub async fn flush(
        &mut self,
        s: &mut Session,
        mb: &MailboxSettings,
        ctx: &Ctx,
    ) -> Result<(), ImapError> {
        if self.count == 0 {
            return Ok(());
        }
        // NOTE: checked here, before the session's first actions, not on connecting:
        // a LIST per folder (and CREATE on a first start) held up every connect and
        // so the first message, by a round trip each to a remote server.
        if !self.folders_checked {
            for folder in move_targets(&mb.actions) {
                if let Err(e) = s.ensure_folder(&folder).await {
                    if e.is_connection_lost() {
                        return Err(e);
                    }
                    // Not fatal: the move will fail and say so; processing goes on.
                    tracing::warn!(mailbox = %mb.name, "cannot create folder `{folder}`: {e}");
                    ctx.health.error(&mb.name, e.kind(), &e.to_string());
                }
            }
            self.folders_checked = true;
        }
        let uidvalidity = self.uidvalidity;
        while let Some((cat, mut uids)) = self.by_cat.pop() {
            uids.sort_unstable();
            let action = cat.action(mb);
            if let Err(e) = s.apply(action, &uids).await {
                match e {
                    e if e.is_connection_lost() => {
                        self.by_cat.push((cat, uids));
                        return Err(e);
                    }
                    e => {
                        // NOTE: not retried: the messages are committed and past the
                        // checkpoint; they stay in the folder and the log says why.
                        // The UIDs themselves can run to a hundred kilobytes after a backlog.
                        let first = uids.first().copied().unwrap_or_default();
                        let last = uids.last().copied().unwrap_or_default();
                        tracing::warn!(mailbox = %mb.name, "after-processing action {action:?} on {} UIDs ({first} to {last}) failed: {e}", uids.len());
                        ctx.health.error(&mb.name, "action", &e.to_string());
                    }
                }
            }
            self.count -= uids.len();
            if let Err(e) = ctx.store.actions_done(&mb.name, uidvalidity, &uids).await {
                // Harmless: the action is applied again after a restart, and moving or
                // flagging a UID that is gone is a no-op.
                tracing::warn!(mailbox = %mb.name, "cannot record after-processing actions as done: {e}");
            }
        }
        self.since = None;
        Ok(())
    }
}
