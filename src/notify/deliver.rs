//! One outbox row → one email: recipients, language, waybills, rendering, and the
//! outcome recorded on the row (sent, retry with backoff, deferred, failed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::message::{self, AttachmentFile, Envelope};
use super::recipients::Parties;
use super::render::{render, EmailContext, Facts};
use super::smtp::{self, Failure, Transport};
use super::templates::{TemplateKind, Templates};
use super::worker::{from_address, policy_for};
use super::NotifyError;
use crate::config::Settings;
use crate::store::{OutboxKind, OutboxRow, Stage, Store};

/// Where a pass delivers to.
pub(super) enum Mode {
    Smtp(Transport),
    DryRun(PathBuf),
}

fn template_kind(k: OutboxKind) -> TemplateKind {
    match k {
        OutboxKind::Instructions => TemplateKind::Instructions,
        OutboxKind::CardReady => TemplateKind::CardReady,
        OutboxKind::NidPending => TemplateKind::NidPending,
        OutboxKind::Citizenship => TemplateKind::Citizenship,
        OutboxKind::Reminder => TemplateKind::Reminder,
    }
}

pub(super) enum RowOutcome {
    Sent,
    Written(PathBuf),
    Retried,
    Deferred,
    Failed,
    /// The row's claim was lost before sending (this process was taken for dead):
    /// not sent here; another sender has it.
    Lost,
}

pub(super) struct Pass<'a> {
    pub(super) store: &'a Store,
    pub(super) settings: &'a Settings,
    pub(super) templates: &'a Templates,
    pub(super) mode: &'a Mode,
    pub(super) now: DateTime<Utc>,
    /// The claim token the row was claimed with; checked just before sending.
    pub(super) claim: Option<&'a str>,
}

impl Pass<'_> {
    /// One row. Store errors abort the pass (the row is untouched and comes back);
    /// everything else is recorded on the row.
    pub(super) async fn one(&self, row: &OutboxRow) -> Result<RowOutcome, NotifyError> {
        let Some(case) = self.store.case_by_id(row.case_id).await? else {
            return self
                .fail(row, &format!("case {} does not exist", row.case_id), "")
                .await;
        };
        let doc = case.travel_document.clone();
        if row.kind == OutboxKind::Citizenship
            && matches!(case.stage, Stage::Closed | Stage::Rejected)
        {
            // Never for a closed or rejected case, even one closed after the email was queued.
            let why = format!("the case is {}", case.stage);
            if let Mode::Smtp(_) = self.mode {
                self.store.citizenship_withdraw(row.id, &why).await?;
            }
            tracing::info!("citizenship email withdrawn: {why}");
            return Ok(RowOutcome::Failed);
        }
        if row.kind == OutboxKind::Reminder {
            // Not for a case that moved on (collected, in review …) or stopped its
            // reminders after this one was queued.
            if let Some(why) = self.store.reminder_stale(row.case_id).await? {
                if let Mode::Smtp(_) = self.mode {
                    self.store.reminder_withdraw(row.id, &why).await?;
                }
                tracing::info!("reminder withdrawn: {why}");
                return Ok(RowOutcome::Failed);
            }
        }
        let policy = policy_for(self.settings);
        let decided = policy.decide(&Parties {
            forwarded_by: row.forwarded_by.as_deref(),
            forwarder_is_staff: row.forwarder_is_staff,
            original_to: row.original_to.as_deref(),
            contacts: &case.contacts,
            forwarder_unverified: !row.forwarder_verified && row.released_by.is_none(),
            original_to_unverified: !(row.forwarder_verified || row.original_verified)
                && row.released_by.is_none(),
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
                self.store.outbox_defer(row.id, &note, until).await?;
                return Ok(RowOutcome::Deferred);
            }
            let staff = row.forwarder_is_staff;
            let t = &self.settings.trust;
            let fwd = row.forwarded_by.as_deref();
            if let Some((until, note)) =
                super::caps::over_hourly_caps(self.store, t, fwd, staff, self.now).await?
            {
                tracing::info!(next_at = %until, "{note}");
                self.store.outbox_defer(row.id, &note, until).await?;
                return Ok(RowOutcome::Deferred);
            }
        }

        let kind = match row.kind {
            OutboxKind::Reminder => TemplateKind::reminder(case.stage),
            k => template_kind(k),
        };
        let lang = case
            .language
            .unwrap_or(self.settings.notify.default_language);
        let (attachments, amounts) = if kind == TemplateKind::Instructions {
            self.waybills(row).await?
        } else {
            (Vec::new(), Vec::new())
        };
        let facts = Facts {
            waybill_amounts: amounts,
            attachments: attachments.iter().map(|a| a.filename.clone()).collect(),
            missing_applicant_address: rcpt.missing_applicant_address,
            citizenship: match row.kind {
                OutboxKind::Citizenship => self.store.citizenship_notice(row.id).await?,
                _ => None,
            },
            links: super::links::links(self.settings, &case, lang, self.now),
            ..Facts::of_case(self.settings, &case, lang)
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
            extra: super::links::headers(self.settings, &facts),
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
                crate::store::write_private(&path, &msg.formatted()).map_err(|source| {
                    NotifyError::DryRun {
                        path: path.clone(),
                        source,
                    }
                })?;
                tracing::info!(file = %path.display(), to = %all.join(", "), "dry run: email written, row left pending");
                Ok(RowOutcome::Written(path))
            }
            Mode::Smtp(_) if !self.claim_held(row).await? => {
                tracing::warn!("claim on the row lost before sending (this process was taken for dead): not sent here");
                Ok(RowOutcome::Lost)
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

    async fn claim_held(&self, row: &OutboxRow) -> Result<bool, NotifyError> {
        match self.claim {
            Some(token) => Ok(self.store.outbox_claim_held(row.id, token).await?),
            None => Ok(true),
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
    // NOTE: only To addresses count against the cap. `smtp.cc` (the agency's own copy)
    // receives every email by design; capping it would hold back applicants' mail.
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

    /// The waybills of the message this email answers, read from the store
    /// ([`Store::outbox_waybills`]) and checked ([`super::attach::check`]):
    /// missing, unreadable or refused ones are left out (with a warning) rather
    /// than holding the email back.
    async fn waybills(
        &self,
        row: &OutboxRow,
    ) -> Result<(Vec<AttachmentFile>, Vec<Option<u64>>), NotifyError> {
        let stored = self.store.outbox_waybills(row).await?;
        let t = &self.settings.trust;
        let limits = (t.max_attachments, t.max_attachment_bytes);
        let mut amounts = Vec::new();
        let mut files: Vec<AttachmentFile> = Vec::new();
        let mut bytes = 0u64;
        for (i, w) in stored.iter().enumerate() {
            match self.store.waybill_data(&w.sha256).await {
                Ok(Some(data)) => {
                    let name = w.filename.as_deref();
                    let taken = (files.len(), bytes);
                    match super::attach::check(name, &w.content_type, &data, i, taken, limits) {
                        Ok(c) => {
                            bytes += data.len() as u64;
                            amounts.push(w.amount_lek);
                            files.push(AttachmentFile {
                                filename: c.filename,
                                content_type: c.content_type,
                                data,
                            });
                        }
                        Err(why) => tracing::warn!(
                            sha256 = %w.sha256,
                            "waybill not attached: {why}"
                        ),
                    }
                }
                Ok(None) => tracing::warn!(
                    sha256 = %w.sha256,
                    "waybill contents missing from the store; sending without it"
                ),
                Err(e) => tracing::warn!(
                    sha256 = %w.sha256,
                    error = %e,
                    "waybill unreadable; sending without it"
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
        if let Mode::DryRun(_) = self.mode {
            // A preview changes nothing in the store; it only reports.
            tracing::warn!(error = %error, "dry run: this email would be retried later");
            return Ok(RowOutcome::Retried);
        }
        let retry_for = self
            .settings
            .smtp
            .as_ref()
            .map(|s| s.retry_for)
            .unwrap_or(Duration::from_secs(2 * 86400));
        // NOTE: counted from the first temporary failure, not from the row's creation:
        // a row held back by the daily limit or a stopped daemon still gets retry_for.
        // Rows that failed before schema 4 recorded it count from creation, as before.
        let since = match row.failing_since {
            Some(t) => t,
            None if row.attempts > 0 => row.created_at,
            None => self.now,
        };
        let age = (self.now - since).to_std().unwrap_or_default();
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
        self.store
            .outbox_mark_retry(row.id, &error, next, self.now)
            .await?;
        Ok(RowOutcome::Retried)
    }

    async fn fail(
        &self,
        row: &OutboxRow,
        error: &str,
        doc: &str,
    ) -> Result<RowOutcome, NotifyError> {
        let error = redact(error, doc);
        if let Mode::DryRun(_) = self.mode {
            tracing::error!(error = %error, "dry run: this email would fail (row left pending)");
            return Ok(RowOutcome::Failed);
        }
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

pub(super) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
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
