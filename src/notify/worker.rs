//! The outbox sender: turns each due outbox row into one email.
//!
//! Delivery is at-least-once with a stable identity: the row's Message-ID is fixed when
//! the row is written, so if leje crashes after the server accepted the email but before
//! the row is marked sent, the retry carries the same Message-ID and receiving systems
//! (and people) can recognise it. The outbox is a shared work queue: each row is claimed
//! (`holder#epoch`, see [`Store::outbox_claim_next`]) one at a time, just before it is
//! sent, and the claim is checked again right before the SMTP transaction, so several
//! senders (instances, `leje outbox send`) work side by side without overlap and a crash
//! can repeat at most the one email in flight. A claim is void once its process's
//! instance row expires (it died, or was stopped past the lease). A dry run changes
//! nothing in the store and still holds the lease [`OUTBOX_LEASE`] for its pass.
//!
//! Dry run (`--dry-run DIR` or `notify.dry_run_dir`): each due email is written to
//! `DIR/outbox-<id>-<kind>.eml` instead of being sent, and the row **stays pending**: a
//! preview never consumes an email, and once SMTP is configured the same rows go out for
//! real. Nothing in the store changes in a dry run, not even for a row that would fail
//! (no recipient, say): the report and the log say so. The file name is stable, so writing
//! it again replaces it; the daemon remembers which rows it handled so it does not
//! rewrite them on every pass.

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::Notify;
use tracing::Instrument;

use super::deliver::{create_private_dir, Mode, Pass, RowOutcome};
use super::recipients::{self, Policy};
use super::smtp::{self, Transport};
use super::templates::Templates;
use super::NotifyError;
use crate::config::{Settings, TlsMode};
use crate::store::{OutboxRow, OutboxStatus, Store};

/// Lease name in the store's lease table that serialises senders.
pub const OUTBOX_LEASE: &str = "@outbox";

/// How long one dry-run pass may hold [`OUTBOX_LEASE`] before another process may take it over.
const LEASE_TTL: Duration = Duration::from_secs(300);

/// Options of one sending pass.
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// Write .eml files here instead of sending (overrides `notify.dry_run_dir`).
    pub dry_run_dir: Option<PathBuf>,
    /// The clock; `None` = now. Tests move it forward instead of sleeping.
    pub now: Option<DateTime<Utc>>,
    /// At most this many rows per pass; 0 = 100.
    pub limit: u32,
    /// Lease holder / claimer name; default this process's ([`crate::store::process_holder`]).
    pub holder: Option<String>,
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SendReport {
    /// Accepted by the SMTP server.
    pub sent: u32,
    /// Written as .eml files (dry run); the rows stay pending.
    pub written: Vec<PathBuf>,
    /// Temporary failure; will be tried again.
    pub retried: u32,
    /// Over the per-recipient daily limit; moved to the next day.
    pub deferred: u32,
    /// Permanent failure (or retries exhausted); the case went to needs_review.
    pub failed: u32,
    /// Another process holds the outbox lease; nothing was done (dry run only).
    pub busy: bool,
    /// Claims lost before sending (this process was taken for dead); not sent here.
    pub lost: u32,
}

impl SendReport {
    /// Counts one row's outcome.
    fn count(&mut self, outcome: RowOutcome) {
        match outcome {
            RowOutcome::Sent => self.sent += 1,
            RowOutcome::Written(p) => self.written.push(p),
            RowOutcome::Retried => self.retried += 1,
            RowOutcome::Deferred => self.deferred += 1,
            RowOutcome::Failed => self.failed += 1,
            RowOutcome::Lost => self.lost += 1,
        }
    }
}

/// Send (or, in dry-run, write) everything that is due now. For `leje outbox send`,
/// tests, and each tick of [`run_outbox`].
pub async fn send_due_once(
    store: &Store,
    settings: &Settings,
    opts: &SendOptions,
) -> Result<SendReport, NotifyError> {
    send_pass(store, settings, opts, &mut HashSet::new(), None).await
}

/// One pass. `daemon_holder`: the daemon's own identity, whose instance row its
/// heartbeat keeps; `None` for a one-off pass, which registers and leaves itself.
async fn send_pass(
    store: &Store,
    settings: &Settings,
    opts: &SendOptions,
    written_before: &mut HashSet<i64>,
    daemon_holder: Option<&str>,
) -> Result<SendReport, NotifyError> {
    let now = opts.now.unwrap_or_else(Utc::now);
    let limit = if opts.limit == 0 { 100 } else { opts.limit };
    let dry = opts
        .dry_run_dir
        .clone()
        .or_else(|| settings.notify.dry_run_dir.clone());
    if dry.is_none() && settings.smtp.is_none() {
        return Err(NotifyError::NotConfigured);
    }
    let holder = opts
        .holder
        .clone()
        .or_else(|| daemon_holder.map(str::to_owned))
        .unwrap_or_else(|| crate::store::process_holder(&settings.instance));
    if dry.is_none() {
        let r = send_claimed(store, settings, &holder, now, limit).await;
        if daemon_holder.is_none() {
            if let Err(e) = store.instance_leave(&holder).await {
                tracing::warn!(error = %e, "cannot deregister the one-off sender");
            }
        }
        return r;
    }
    let mut report = SendReport::default();
    if !store.try_lease(OUTBOX_LEASE, &holder, LEASE_TTL).await? {
        report.busy = true;
        return Ok(report);
    }
    let result = async {
        let rows: Vec<OutboxRow> = match &dry {
            // NOTE: dry-run rows stay pending, so `outbox_due(limit)` would return the same
            // first rows forever; list them all instead and skip those already written.
            Some(_) => store
                .outbox_list(Some(OutboxStatus::Pending))
                .await?
                .into_iter()
                .rev()
                .filter(|r| r.next_attempt_at <= now && !written_before.contains(&r.id))
                .take(limit as usize)
                .collect(),
            None => Vec::new(), // sending goes through `send_claimed`
        };
        if rows.is_empty() {
            return Ok(());
        }
        let templates = Templates::load(settings.notify.templates_dir.as_deref())?;
        let mode = match &dry {
            Some(dir) => {
                create_private_dir(dir).map_err(|source| NotifyError::DryRun {
                    path: dir.clone(),
                    source,
                })?;
                Mode::DryRun(dir.clone())
            }
            None => Mode::Smtp(transport_for(settings).await?),
        };
        let ctx = Pass {
            store,
            settings,
            templates: &templates,
            mode: &mode,
            now,
            claim: None,
        };
        for row in rows {
            let span =
                tracing::info_span!("outbox", id = row.id, case = row.case_id, kind = %row.kind);
            let outcome = ctx.one(&row).instrument(span).await?;
            if dry.is_some() {
                // The daemon looks at each row once per run in dry-run mode (rows stay pending).
                written_before.insert(row.id);
            }
            report.count(outcome);
        }
        Ok::<(), NotifyError>(())
    }
    .await;
    // NOTE: the lease is released after every pass so `leje outbox send` can run between
    // the daemon's ticks; the TTL only matters when a process dies mid-pass.
    if let Err(e) = store.release_lease(OUTBOX_LEASE, &holder).await {
        tracing::warn!(error = %e, "cannot release the outbox lease");
    }
    result.map(|()| report)
}

/// Sending: claim one due row at a time (renewing this process's instance row, whose
/// epoch is part of the claim), send it, record the outcome; until `limit` rows or
/// nothing is due. The SMTP transport is set up only once there is a row.
async fn send_claimed(
    store: &Store,
    settings: &Settings,
    holder: &str,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<SendReport, NotifyError> {
    let mut report = SendReport::default();
    let mut prepared: Option<(Templates, Mode)> = None;
    for _ in 0..limit {
        let epoch = store
            .instance_beat(holder, crate::store::INSTANCE_TTL)
            .await?;
        let token = crate::store::claim_token(holder, epoch);
        let Some(row) = store.outbox_claim_next(now, &token).await? else {
            break;
        };
        if prepared.is_none() {
            let templates = Templates::load(settings.notify.templates_dir.as_deref())?;
            let mode = Mode::Smtp(transport_for(settings).await?);
            prepared = Some((templates, mode));
        }
        let Some((templates, mode)) = &prepared else {
            break;
        };
        let ctx = Pass {
            store,
            settings,
            templates,
            mode,
            now,
            claim: Some(&token),
        };
        let span = tracing::info_span!("outbox", id = row.id, case = row.case_id, kind = %row.kind);
        report.count(ctx.one(&row).instrument(span).await?);
    }
    Ok(report)
}

/// The SMTP transport from the settings, with the password resolved now.
pub async fn transport_for(settings: &Settings) -> Result<Transport, NotifyError> {
    let s = settings.smtp.as_ref().ok_or(NotifyError::NotConfigured)?;
    let credentials = match (&s.username, &s.password) {
        (Some(u), Some(p)) => Some((u.clone(), p.resolve().await?)),
        _ => None,
    };
    let params = smtp::Params {
        host: s.host.clone(),
        port: s.port,
        security: match s.tls {
            TlsMode::Implicit => smtp::Security::Implicit,
            TlsMode::StartTls => smtp::Security::StartTls,
            TlsMode::None => smtp::Security::None,
        },
        ca_file: s.ca_file.clone(),
        credentials,
        timeout: s.timeout,
    };
    Ok(smtp::transport(&params)?)
}

/// The recipient policy from the settings.
pub fn policy_for(settings: &Settings) -> Policy {
    Policy {
        own_address: from_address(settings)
            .as_deref()
            .and_then(recipients::bare)
            .unwrap_or_default(),
        cc: settings
            .smtp
            .as_ref()
            .map(|s| s.cc.clone())
            .unwrap_or_default(),
        staff_addresses: settings.notify.staff_addresses.clone(),
        staff_domains: settings
            .notify
            .staff_domains
            .iter()
            .map(|d| d.trim_start_matches('@').to_ascii_lowercase())
            .collect(),
    }
}

pub(super) fn from_address(settings: &Settings) -> Option<String> {
    settings.smtp.as_ref().map(|s| s.from.clone())
}

/// Options of the daemon's sender loop.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Time between passes when nothing wakes the loop; default 15 s.
    pub interval: Duration,
    /// Wake the loop early (e.g. right after ingestion wrote an outbox row).
    pub wake: Option<Arc<Notify>>,
    /// The daemon's process identity (its heartbeat keeps the instance row);
    /// `None`: this loop's own ([`crate::store::process_holder`]).
    pub holder: Option<String>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            interval: Duration::from_secs(15),
            wake: None,
            holder: None,
        }
    }
}

/// The daemon's outbox sender: a pass every 15 s until `shutdown` resolves.
pub async fn run_outbox(
    store: Store,
    settings: Arc<Settings>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NotifyError> {
    run_outbox_with(store, settings, WorkerOptions::default(), shutdown).await
}

/// [`run_outbox`] with options. Errors of a pass (store or SMTP set-up) are logged and
/// retried at the next tick; the loop only ends at shutdown. A pass in progress is
/// finished before returning, so a row is never left half-recorded.
pub async fn run_outbox_with(
    store: Store,
    settings: Arc<Settings>,
    opts: WorkerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NotifyError> {
    tokio::pin!(shutdown);
    if settings.smtp.is_none() && settings.notify.dry_run_dir.is_none() {
        tracing::info!("no [smtp] section and no notify.dry_run_dir: emails stay in the outbox");
        shutdown.await;
        return Ok(());
    }
    let mut written = HashSet::new();
    let opts_pass = SendOptions::default();
    let holder = opts
        .holder
        .clone()
        .unwrap_or_else(|| crate::store::process_holder(&settings.instance));
    loop {
        match send_pass(&store, &settings, &opts_pass, &mut written, Some(&holder)).await {
            Ok(r) if r != SendReport::default() => {
                tracing::debug!(?r, "outbox pass")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox pass failed; will try again"),
        }
        let wake = async {
            match &opts.wake {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(opts.interval) => {}
            _ = wake => {}
        }
    }
}

/// The daemon spawns these futures on a multi-threaded runtime: they must be `Send`.
#[allow(dead_code)]
fn assert_send(store: Store, settings: Arc<Settings>) {
    fn is_send<T: Send>(_: T) {}
    is_send(run_outbox(
        store.clone(),
        settings.clone(),
        std::future::pending::<()>(),
    ));
    is_send(async move { send_due_once(&store, &settings, &SendOptions::default()).await });
}
