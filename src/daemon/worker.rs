//! One mailbox worker: connect, catch up on the backlog in batches, then IDLE (or
//! poll), reconnecting with backoff after any failure, until told to stop. The
//! mailbox's lease is taken, renewed and released by [`super::leases`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::ingest::{self, Batch, Ctx};
use super::pending::Pending;
use crate::config::MailboxSettings;
use crate::imap::backoff::Backoff;
use crate::imap::{ImapError, Session, Wake};
use crate::store::{Fence, StoreError};

/// Messages asked for in one `UID FETCH` of a backlog (at least `batch_size`).
/// Bodies stream in one at a time, so this costs no memory.
// NOTE: the pipeline drains at the end of each FETCH (the last commit is waited
// for, then the next chunk's oversize messages are searched for), and the parser
// and the writer idle in turn meanwhile. At 1,000 that bubble cost a tenth of a
// 10,000-message backlog's time; at 5,000 a backlog commits in larger groups too.
const FETCH_AT_ONCE: usize = 5000;

/// Why a mailbox session ended.
#[derive(Debug)]
pub enum SessionError {
    Imap(ImapError),
    Store(crate::store::StoreError),
    /// Another instance holds the mailbox's lease now.
    LeaseLost,
}

impl From<ImapError> for SessionError {
    fn from(e: ImapError) -> Self {
        SessionError::Imap(e)
    }
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Imap(e) => write!(f, "{e}"),
            SessionError::Store(e) => write!(f, "store: {e}"),
            SessionError::LeaseLost => f.write_str("lease taken over by another instance"),
        }
    }
}

impl SessionError {
    fn kind(&self) -> &'static str {
        match self {
            SessionError::Imap(e) => e.kind(),
            SessionError::Store(_) => "store",
            SessionError::LeaseLost => "lease",
        }
    }
}

/// Resolves once `stop` is true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|v| *v).await;
}

fn is_stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// Runs the mailbox under the lease `fence` (taken and renewed by
/// [`super::leases`]) until `stop` becomes true, reconnecting after errors. Every
/// commit checks the fence: once the lease is lost nothing more is committed, and
/// the worker ends (its coordinator also aborts it at once).
pub async fn run_mailbox(
    mb: MailboxSettings,
    ctx: Arc<Ctx>,
    mut stop: watch::Receiver<bool>,
    fence: Fence,
) {
    let name = mb.name.clone();
    let mut backoff = Backoff::new(Duration::from_secs(1), mb.reconnect_max);
    tracing::info!(mailbox = %name, generation = fence.generation, "mailbox lease taken: working it");
    loop {
        if is_stopped(&stop) {
            break;
        }
        let result = session(&mb, &ctx, &mut stop, &mut backoff, &fence).await;
        ctx.health.set_connected(&name, false);
        match result {
            Ok(()) => break,
            Err(SessionError::Store(StoreError::LeaseLost(_)) | SessionError::LeaseLost) => {
                tracing::warn!(mailbox = %name, "mailbox lease lost: stopping this worker; nothing more is committed");
                ctx.health.error(&name, "lease", "lease lost");
                break;
            }
            Err(e) => {
                let d = backoff.next_delay();
                let n = backoff.failures();
                let msg = e.to_string();
                match &e {
                    SessionError::Imap(ImapError::Auth { .. })
                    | SessionError::Imap(ImapError::Credential { .. }) => {
                        tracing::error!(mailbox = %name, "{msg}; retrying in {:.1}s (failure {n}); check the username and secret", d.as_secs_f64())
                    }
                    _ => {
                        tracing::warn!(mailbox = %name, "{msg}; reconnecting in {:.1}s (failure {n})", d.as_secs_f64())
                    }
                }
                ctx.health.error(&name, e.kind(), &msg);
                sleep_or_stop(d, &mut stop).await;
            }
        }
    }
    tracing::info!(mailbox = %name, "mailbox worker stopped");
}

async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stopped(stop) => {}
    }
}

/// One connection's life. `Ok(())` only when asked to stop (after LOGOUT).
async fn session(
    mb: &MailboxSettings,
    ctx: &Ctx,
    stop: &mut watch::Receiver<bool>,
    backoff: &mut Backoff,
    fence: &Fence,
) -> Result<(), SessionError> {
    let name = mb.name.as_str();
    let mut s = Session::open(mb).await?;
    ctx.health.set_connected(name, true);
    let sel = s.select(&mb.folder).await?;
    let cp = ctx
        .store
        .checkpoint(name)
        .await
        .map_err(SessionError::Store)?;
    let mut batch = Batch::new(mb, sel.uidvalidity, cp);
    batch.fence = Some(fence.clone());
    if let Some(old) = cp.filter(|c| c.uidvalidity != sel.uidvalidity) {
        tracing::warn!(
            mailbox = %name,
            "UIDVALIDITY of `{}` changed from {} to {}: the folder was recreated; re-reading it, skipping messages already processed (by Message-ID or content hash)",
            mb.folder, old.uidvalidity, sel.uidvalidity
        );
    }
    tracing::info!(
        mailbox = %name, folder = %mb.folder, exists = sel.exists, idle = s.caps().idle && mb.idle,
        "connected"
    );
    let mut pending = Pending::load(ctx, name, sel.uidvalidity)
        .await
        .map_err(SessionError::Store)?;
    if !pending.is_empty() {
        tracing::info!(mailbox = %name, count = pending.len(), "applying after-processing actions left over from before the last stop");
        pending.flush(&mut s, mb, ctx).await?;
    }
    let wait = mb.poll_interval.min(mb.idle_renew);
    let mut first = true;
    loop {
        // Check: which messages are new?
        let uids = match batch.last_uid() {
            Some(u) => s.uids_after(u, mb.since).await?,
            None => s.uids_since(mb.since).await?,
        };
        ctx.health.checked(name, uids.len() as u64);
        if uids.is_empty() && first && batch.last_uid().is_none() {
            // First start and nothing to do (empty folder or all older than `since`):
            // remember where we are so later checks are cheap UID ranges.
            if let Some(next) = sel.uidnext.filter(|n| *n > 1) {
                batch
                    .set_floor(ctx, next - 1)
                    .await
                    .map_err(SessionError::Store)?;
            }
        }
        first = false;
        if !uids.is_empty() {
            tracing::info!(mailbox = %name, count = uids.len(), "new messages");
        }
        // NOTE: one FETCH asks for many store batches at once: the pipeline in
        // `run_batch` (read, parse, commit behind) drains at the end of each FETCH.
        // A chunk's UID set must also fit on one command line.
        let per_fetch = (mb.batch_size as usize).max(FETCH_AT_ONCE);
        let chunks = uids
            .chunks(per_fetch)
            .flat_map(|c| crate::imap::split_by_set_len(c, crate::imap::MAX_SET_LEN));
        for chunk in chunks {
            let more =
                ingest::run_batch(&mut s, mb, ctx, &mut batch, &mut pending, chunk, stop).await?;
            // A long backlog is progress, not staleness.
            ctx.health.touch(name);
            if pending.due() {
                pending.flush(&mut s, mb, ctx).await?;
            }
            if !more {
                break;
            }
        }
        pending.flush(&mut s, mb, ctx).await?;
        backoff.reset();
        s.drain_unsolicited();
        if is_stopped(stop) {
            s.logout().await;
            return Ok(());
        }
        if !uids.is_empty() {
            continue; // more may have arrived meanwhile
        }
        // Wait for news.
        if mb.idle && s.caps().idle {
            let (back, wake) = s.idle(wait, stopped(&mut stop.clone())).await?;
            s = back;
            if wake == Wake::Stopped {
                s.logout().await;
                return Ok(());
            }
        } else {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stopped(stop) => {
                    s.logout().await;
                    return Ok(());
                }
            }
            s.noop().await?;
        }
    }
}
