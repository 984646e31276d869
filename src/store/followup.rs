//! After the first email (issue 20): the reminder ledger, steps the applicant
//! reports through a signed link, unsubscribing and pausing.
//!
//! A case's next reminder is due at `COALESCE(remind_from, created_at)` plus its
//! stage's delay; a stage change resets both (a trigger of schema 10, so every
//! writer is covered). [`Store::remind_due`] (`remind.rs`) takes due cases a
//! batch at a time, and in the same transaction enqueues each reminder and moves
//! its due base, so a crash neither loses nor repeats one. On PostgreSQL the rows
//! are taken with `FOR UPDATE SKIP LOCKED`: several instances share the work,
//! never a case.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::cases::{insert_event, load_by_doc, load_by_id, normalise_doc};
use super::query::{q, trunc, Tx};
use super::{redact_doc, Cause, Stage, Store, StoreError};

/// Whether reminders go out for a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemindState {
    /// Staff paused them (`leje cases pause`).
    Paused,
    /// The stage's reminders are used up: staff should look at the case.
    Stalled,
    /// The applicant unsubscribed (RFC 8058 one-click).
    Unsubscribed,
}

impl RemindState {
    pub fn as_str(self) -> &'static str {
        match self {
            RemindState::Paused => "paused",
            RemindState::Stalled => "stalled",
            RemindState::Unsubscribed => "unsubscribed",
        }
    }

    fn parse(s: &str) -> Result<RemindState, StoreError> {
        match s {
            "paused" => Ok(RemindState::Paused),
            "stalled" => Ok(RemindState::Stalled),
            "unsubscribed" => Ok(RemindState::Unsubscribed),
            other => Err(StoreError::Corrupt(format!("remind_state `{other}`"))),
        }
    }
}

impl std::fmt::Display for RemindState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RemindState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// When reminders fall due: a delay per stage, and how many per stage at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Stages that are reminded, with the time from entering the stage (or from
    /// the last reminder) to the next reminder.
    pub delays: Vec<(Stage, Duration)>,
    /// Reminders per stage before the case is flagged stalled.
    pub max_per_stage: u32,
}

/// A case's reminder state, for `leje cases show` and the public page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Followup {
    /// `None` = reminders active.
    pub state: Option<RemindState>,
    /// Reminders sent in the current stage.
    pub reminders_sent: u32,
    /// The current stage's reminders count from here.
    pub remind_from: DateTime<Utc>,
}

/// What one batch of [`Store::remind_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DueBatch {
    /// (case, stage, outbox row) of each reminder enqueued.
    pub reminded: Vec<(i64, Stage, i64)>,
    /// Cases flagged stalled (their stage's reminders were used up).
    pub stalled: Vec<i64>,
    /// Case rows the batch read (the pass's cost).
    pub rows_read: u64,
    /// A dry run only: the outbox rows it would have queued (to preview them).
    #[serde(skip)]
    pub rows: Vec<super::OutboxRow>,
}

/// What a step reported through a link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The case moved; `to` is where it is now.
    Recorded { from: Stage, to: Stage },
    /// This link was used before; nothing changed.
    AlreadyUsed { stage: Stage },
    /// The case is elsewhere (already past the step, closed, in review); nothing changed.
    Outdated { stage: Stage },
}

impl Store {
    /// Pauses (`Some(Paused)`) or resumes (`None`) a case's reminders; an
    /// unsubscribed or stalled case is resumed too. Returns the case id.
    pub async fn set_reminders(
        &self,
        doc: &str,
        state: Option<RemindState>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let doc = normalise_doc(doc);
        let mut tx = self.pool().write().await?;
        let l = load_by_doc(&mut tx, &doc)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no case `{}`", redact_doc(&doc))))?;
        let id = l.case.id;
        set_state(&mut tx, id, l.case.stage, state, Cause::Cli, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// RFC 8058 one-click unsubscribe: no more reminders for this case.
    pub async fn unsubscribe(&self, case_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        let l = load_by_id(&mut tx, case_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no case with id {case_id}")))?;
        let state = Some(RemindState::Unsubscribed);
        set_state(&mut tx, case_id, l.case.stage, state, Cause::Applicant, now).await?;
        tx.commit().await
    }

    /// The applicant reports having reached `to` through a link whose token
    /// hashes to `token_sha256`. Moves the case (an event "reported by the
    /// applicant") unless the link was used before or the case is elsewhere.
    pub async fn report_step(
        &self,
        case_id: i64,
        to: Stage,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<StepOutcome, StoreError> {
        let now = trunc(now);
        let mut tx = self.pool().write().await?;
        let l = load_by_id(&mut tx, case_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no case with id {case_id}")))?;
        let from = l.case.stage;
        let used = tx
            .fetch_optional(
                q("SELECT case_id FROM link_uses WHERE token_sha256 = $1").bind(token_sha256),
            )
            .await?;
        if used.is_some() {
            return Ok(StepOutcome::AlreadyUsed { stage: from });
        }
        // "My ID number was not ready yet" is said at the Directorate, so reporting
        // it also reports having gone there to apply.
        let path: Vec<Stage> = if from.allowed_next(l.review_from).contains(&to) {
            vec![to]
        } else if to == Stage::NidPending && from.allowed_next(None).contains(&Stage::Applied) {
            vec![Stage::Applied, Stage::NidPending]
        } else {
            return Ok(StepOutcome::Outdated { stage: from });
        };
        let detail = "reported by the applicant (one-click link)";
        let mut loaded = l;
        for stage in path {
            super::cases::transition(
                &mut tx,
                &loaded,
                stage,
                Cause::Applicant,
                Some(detail),
                None,
                now,
            )
            .await?;
            loaded = load_by_id(&mut tx, case_id)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("no case with id {case_id}")))?;
        }
        tx.execute(
            q("INSERT INTO link_uses (token_sha256, case_id, step, at) VALUES ($1, $2, $3, $4)")
                .bind(token_sha256)
                .bind(case_id)
                .bind(to.as_str())
                .bind(now),
        )
        .await?;
        tx.commit().await?;
        Ok(StepOutcome::Recorded {
            from,
            to: loaded.case.stage,
        })
    }

    /// A case's reminder state.
    pub async fn followup(&self, case_id: i64) -> Result<Option<Followup>, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_optional(
                q("SELECT remind_state, reminders_sent, COALESCE(remind_from, created_at) AS base \
                   FROM cases WHERE id = $1")
                .bind(case_id),
            )
            .await?;
        let Some(r) = r else { return Ok(None) };
        let state: Option<String> = r.get("remind_state")?;
        Ok(Some(Followup {
            state: state.as_deref().map(RemindState::parse).transpose()?,
            reminders_sent: r.get_u32("reminders_sent")?,
            remind_from: base_ts(&r)?,
        }))
    }
}

/// `COALESCE(...) AS base`: TIMESTAMPTZ on PostgreSQL, text on SQLite (an
/// expression has no declared type there, so sqlx cannot decode it as a date).
fn base_ts(r: &super::query::Row) -> Result<DateTime<Utc>, StoreError> {
    if let Ok(t) = r.get::<DateTime<Utc>>("base") {
        return Ok(t);
    }
    let s: String = r.get("base")?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("remind_from `{s}`: {e}")))
}

async fn set_state(
    tx: &mut Tx,
    case_id: i64,
    stage: Stage,
    state: Option<RemindState>,
    cause: Cause,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // Resuming starts the stage's wait again, so a long pause is not followed
    // at once by a reminder.
    tx.execute(
        q("UPDATE cases SET remind_state = $1, \
           remind_from = CASE WHEN $1 IS NULL THEN $2 ELSE remind_from END WHERE id = $3")
        .bind(state.map(RemindState::as_str))
        .bind(trunc(now))
        .bind(case_id),
    )
    .await?;
    let detail = match state {
        None => "reminders resumed".to_string(),
        Some(s) => format!("reminders {s}"),
    };
    insert_event(
        tx,
        case_id,
        trunc(now),
        Some(stage),
        stage,
        cause,
        Some(&detail),
        None,
    )
    .await
}

/// The stages reminders are sent in.
const REMINDED: [Stage; 6] = [
    Stage::Approved,
    Stage::AddressConfirmed,
    Stage::FeePaid,
    Stage::NidPending,
    Stage::Applied,
    Stage::CardReady,
];

impl Store {
    /// Why a pending reminder of this case should no longer go out (its case
    /// moved on to a stage without reminders, or they were paused or
    /// unsubscribed since it was queued); `None` to send it.
    pub async fn reminder_stale(&self, case_id: i64) -> Result<Option<String>, StoreError> {
        let Some(case) = self.case_by_id(case_id).await? else {
            return Ok(Some("the case is gone".into()));
        };
        if !REMINDED.contains(&case.stage) {
            return Ok(Some(format!("the case is {}", case.stage)));
        }
        let state = self.followup(case_id).await?.and_then(|f| f.state);
        Ok(match state {
            Some(s @ (RemindState::Paused | RemindState::Unsubscribed)) => {
                Some(format!("reminders are {s}"))
            }
            _ => None,
        })
    }

    /// Withdraws a pending reminder (see [`Store::reminder_stale`]): the row is
    /// failed with the reason; the case is left alone.
    pub async fn reminder_withdraw(&self, outbox_id: i64, why: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        let n = tx
            .execute(
                q("UPDATE outbox SET status = 'failed', last_error = $1 \
                   WHERE id = $2 AND status = 'pending' AND kind = 'reminder'")
                .bind(format!("withdrawn: {why}"))
                .bind(outbox_id),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "no pending reminder {outbox_id}"
            )));
        }
        tx.commit().await
    }
}
