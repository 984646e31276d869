//! The outbox sender: turns each due outbox row into one email.
//!
//! Delivery is at-least-once with a stable identity: the row's Message-ID is fixed when
//! the row is written, so if leje crashes after the server accepted the email but before
//! the row is marked sent, the retry carries the same Message-ID and receiving systems
//! (and people) can recognise it. Only one process sends at a time: a pass holds the
//! store lease [`OUTBOX_LEASE`], so several leje instances on one PostgreSQL store never
//! send the same row twice.
//!
//! Dry run (`--dry-run DIR` or `notify.dry_run_dir`): each due email is written to
//! `DIR/outbox-<id>-<kind>.eml` instead of being sent, and the row **stays pending**: a
//! preview never consumes an email, and once SMTP is configured the same rows go out for
//! real. The file name is stable, so writing it again replaces it; the daemon remembers
//! which rows it wrote so it does not rewrite them on every pass.

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::Notify;
use tracing::Instrument;

use super::message::{self, AttachmentFile, Envelope};
use super::recipients::{self, Parties, Policy};
use super::render::{render, EmailContext, Facts, OfficeView, Payment};
use super::smtp::{self, Failure, Transport};
use super::templates::{TemplateKind, Templates};
use super::NotifyError;
use crate::config::{PaymentRoute, Settings, TlsMode};
use crate::store::{OutboxKind, OutboxRow, OutboxStatus, Store};

/// Lease name in the store's lease table that serialises senders.
pub const OUTBOX_LEASE: &str = "@outbox";

/// How long one pass may hold [`OUTBOX_LEASE`] before another process may take it over.
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
    /// Lease holder name; default `<instance>`.
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
    /// Another process holds the outbox lease; nothing was done.
    pub busy: bool,
}

enum Mode {
    Smtp(Transport),
    DryRun(PathBuf),
}

/// Send (or, in dry-run, write) everything that is due now. For `leje outbox send`,
/// tests, and each tick of [`run_outbox`].
pub async fn send_due_once(
    store: &Store,
    settings: &Settings,
    opts: &SendOptions,
) -> Result<SendReport, NotifyError> {
    send_pass(store, settings, opts, &mut HashSet::new()).await
}

async fn send_pass(
    store: &Store,
    settings: &Settings,
    opts: &SendOptions,
    written_before: &mut HashSet<i64>,
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
        .unwrap_or_else(|| settings.instance.clone());
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
            None => store.outbox_due(now, limit).await?,
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
        };
        for row in rows {
            let span =
                tracing::info_span!("outbox", id = row.id, case = row.case_id, kind = %row.kind);
            let outcome = ctx.one(&row).instrument(span).await?;
            match outcome {
                RowOutcome::Sent => report.sent += 1,
                RowOutcome::Written(p) => {
                    written_before.insert(row.id);
                    report.written.push(p)
                }
                RowOutcome::Retried => report.retried += 1,
                RowOutcome::Deferred => report.deferred += 1,
                RowOutcome::Failed => report.failed += 1,
            }
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

fn from_address(settings: &Settings) -> Option<String> {
    settings.smtp.as_ref().map(|s| s.from.clone())
}

fn template_kind(k: OutboxKind) -> TemplateKind {
    match k {
        OutboxKind::Instructions => TemplateKind::Instructions,
        OutboxKind::CardReady => TemplateKind::CardReady,
        OutboxKind::NidPending => TemplateKind::NidPending,
    }
}

enum RowOutcome {
    Sent,
    Written(PathBuf),
    Retried,
    Deferred,
    Failed,
}

struct Pass<'a> {
    store: &'a Store,
    settings: &'a Settings,
    templates: &'a Templates,
    mode: &'a Mode,
    now: DateTime<Utc>,
}

impl Pass<'_> {
    /// One row. Store errors abort the pass (the row is untouched and comes back);
    /// everything else is recorded on the row.
    async fn one(&self, row: &OutboxRow) -> Result<RowOutcome, NotifyError> {
        let Some(case) = self.store.case_by_id(row.case_id).await? else {
            return self
                .fail(row, &format!("case {} does not exist", row.case_id), "")
                .await;
        };
        let doc = case.travel_document.clone();
        let policy = policy_for(self.settings);
        let decided = policy.decide(&Parties {
            forwarded_by: row.forwarded_by.as_deref(),
            forwarder_is_staff: row.forwarder_is_staff,
            original_to: row.original_to.as_deref(),
            contacts: &case.contacts,
        });
        let rcpt = match decided {
            Ok(r) => r,
            Err(e) => return self.fail(row, &e.to_string(), &doc).await,
        };

        if let Mode::Smtp(_) = self.mode {
            if let Some(until) = self.over_limit(&rcpt.to).await? {
                let note = format!(
                    "deferred: the daily limit of {} emails per recipient is reached",
                    self.max_per_day()
                );
                tracing::info!(next_at = %until, "{note}");
                self.store.outbox_mark_retry(row.id, &note, until).await?;
                return Ok(RowOutcome::Deferred);
            }
        }

        let kind = template_kind(row.kind);
        let lang = case
            .language
            .unwrap_or(self.settings.notify.default_language);
        let (attachments, amounts) = if kind == TemplateKind::Instructions {
            self.waybills(row.case_id).await?
        } else {
            (Vec::new(), Vec::new())
        };
        let facts = Facts {
            language: lang,
            name: case.name.clone(),
            directorate: case.directorate,
            office: case
                .directorate
                .and_then(|d| self.settings.offices.get(&d))
                .map(|o| OfficeView {
                    name: o.name.clone(),
                    address: o.address.clone(),
                    hours: o.hours.clone(),
                }),
            waybill_amounts: amounts,
            attachments: attachments.iter().map(|a| a.filename.clone()).collect(),
            fee_default_lek: self.settings.notify.fee_default_lek,
            payment: match self.settings.notify.payment_route {
                PaymentRoute::Bank => Payment::Bank,
                PaymentRoute::Post => Payment::Post,
            },
            missing_applicant_address: rcpt.missing_applicant_address,
            agency_name: self.settings.notify.agency_name.clone(),
            retry_from: case.next_due.map(|d| d.date_naive()),
        };
        let rendered = match render(
            self.templates,
            lang,
            kind,
            &EmailContext::new(&facts),
            self.settings.notify.html,
        ) {
            Ok(r) => r,
            // An operator's template is broken: keep the row, retry after a fix.
            Err(e) => {
                return self
                    .temporary(row, &format!("template error: {e}"), &doc)
                    .await
            }
        };
        let env = Envelope {
            from: from_address(self.settings)
                .unwrap_or_else(|| "leje <leje@localhost>".to_string()),
            to: rcpt.to.clone(),
            cc: rcpt.cc.clone(),
            message_id: row.message_id.clone(),
            in_reply_to: row.in_reply_to.clone(),
            references: row.references.clone(),
            case_id: row.case_id,
            kind: kind.as_str(),
        };
        let msg = match message::build(&env, &rendered, &attachments) {
            Ok(m) => m,
            Err(e) => return self.fail(row, &e.to_string(), &doc).await,
        };
        let mut all: Vec<String> = rcpt.to.clone();
        all.extend(rcpt.cc.iter().cloned());

        match self.mode {
            Mode::DryRun(dir) => {
                let path = dir.join(format!("outbox-{}-{}.eml", row.id, kind.as_str()));
                write_private(&path, &msg.formatted()).map_err(|source| NotifyError::DryRun {
                    path: path.clone(),
                    source,
                })?;
                tracing::info!(file = %path.display(), to = %all.join(", "), "dry run: email written, row left pending");
                Ok(RowOutcome::Written(path))
            }
            Mode::Smtp(t) => match smtp::send(t, msg).await {
                Ok(()) => {
                    self.store.outbox_mark_sent(row.id, &all).await?;
                    tracing::info!(to = %all.join(", "), attachments = attachments.len(), "email sent");
                    Ok(RowOutcome::Sent)
                }
                Err(Failure::Temporary(e)) => self.temporary(row, &e, &doc).await,
                Err(Failure::Permanent(e)) => self.fail(row, &e, &doc).await,
            },
        }
    }

    fn max_per_day(&self) -> u32 {
        self.settings
            .smtp
            .as_ref()
            .map(|s| s.max_per_recipient_per_day)
            .unwrap_or(0)
    }

    /// `Some(when to try again)` if any recipient already got the daily maximum today (UTC).
    async fn over_limit(&self, to: &[String]) -> Result<Option<DateTime<Utc>>, NotifyError> {
        let max = self.max_per_day();
        if max == 0 {
            return Ok(None);
        }
        let day = self.now.date_naive();
        let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
        for a in to {
            if self.store.sent_count_since(a, start).await? >= u64::from(max) {
                // Next day, spread over the first quarter hour.
                let jitter = chrono::Duration::seconds((fastrand::f64() * 900.0) as i64);
                return Ok(Some(start + chrono::Duration::days(1) + jitter));
            }
        }
        Ok(None)
    }

    /// The case's waybills, read from the attachment store; unreadable ones are left out
    /// (with a warning) rather than holding the email back.
    async fn waybills(
        &self,
        case_id: i64,
    ) -> Result<(Vec<AttachmentFile>, Vec<Option<u64>>), NotifyError> {
        let stored = self.store.case_waybills(case_id).await?;
        let amounts = stored.iter().map(|w| w.amount_lek).collect();
        let mut files = Vec::new();
        for (i, w) in stored.iter().enumerate() {
            match tokio::fs::read(&w.path).await {
                Ok(data) => {
                    let ct = message::effective_content_type(&w.content_type, &data);
                    let filename = w
                        .filename
                        .clone()
                        .filter(|f| !f.trim().is_empty())
                        .unwrap_or_else(|| message::fallback_filename(i, &ct));
                    files.push(AttachmentFile {
                        filename,
                        content_type: ct,
                        data,
                    });
                }
                Err(e) => tracing::warn!(
                    path = %w.path.display(),
                    error = %e,
                    "waybill file unreadable; sending without it"
                ),
            }
        }
        Ok((files, amounts))
    }

    async fn temporary(
        &self,
        row: &OutboxRow,
        error: &str,
        doc: &str,
    ) -> Result<RowOutcome, NotifyError> {
        let error = redact(error, doc);
        let retry_for = self
            .settings
            .smtp
            .as_ref()
            .map(|s| s.retry_for)
            .unwrap_or(Duration::from_secs(2 * 86400));
        let age = (self.now - row.created_at).to_std().unwrap_or_default();
        if age >= retry_for {
            let msg = format!(
                "gave up after {} h of temporary failures; last: {error}",
                retry_for.as_secs() / 3600
            );
            return self.fail(row, &msg, "").await;
        }
        let wait = smtp::backoff(row.attempts, fastrand::f64());
        let next = self.now + chrono::Duration::from_std(wait).unwrap_or_default();
        tracing::warn!(error = %error, attempt = row.attempts + 1, next_at = %next, "temporary failure; will retry");
        self.store.outbox_mark_retry(row.id, &error, next).await?;
        Ok(RowOutcome::Retried)
    }

    async fn fail(
        &self,
        row: &OutboxRow,
        error: &str,
        doc: &str,
    ) -> Result<RowOutcome, NotifyError> {
        let error = redact(error, doc);
        tracing::error!(error = %error, "email failed permanently; case moved to needs_review");
        self.store.outbox_mark_failed(row.id, &error).await?;
        Ok(RowOutcome::Failed)
    }
}

/// Replace every occurrence of the travel-document number with its masked form
/// ([`crate::logging::redact_doc`]), before an error is logged or stored on the row.
fn redact(text: &str, doc: &str) -> String {
    if doc.is_empty() {
        return text.to_string();
    }
    text.replace(doc, &crate::logging::redact_doc(doc))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("eml.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Options of the daemon's sender loop.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Time between passes when nothing wakes the loop; default 15 s.
    pub interval: Duration,
    /// Wake the loop early (e.g. right after ingestion wrote an outbox row).
    pub wake: Option<Arc<Notify>>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            interval: Duration::from_secs(15),
            wake: None,
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
    loop {
        match send_pass(&store, &settings, &opts_pass, &mut written).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        assert_eq!(
            redact("550 no such user; subject mentions AB1234567", "AB1234567"),
            "550 no such user; subject mentions AB*****67"
        );
        assert_eq!(redact("nothing here", "AB1234567"), "nothing here");
    }
}
