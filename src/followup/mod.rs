//! After the first email (issue 20): the reminder pass, run by the daemon on
//! its own and once by `leje remind`.
//!
//! - [`run_pass`]: one pass at `now` (time is an input: the daemon passes the
//!   clock, tests a fixed or advancing one, `leje remind` the system clock).
//!   Reminders are queued only inside the window of the applicant's day
//!   (Europe/Tirane, [`window`]); the store enqueues each one in the same
//!   transaction that moves its due date ([`crate::store::Store::remind_due`]).
//! - [`pass_once`]: the daemon's pass (run under a job lease, `daemon::leases::job_loop`).
//! - [`cli`]: `leje remind`, `leje replies`, `leje cases pause|resume`.
//!
//! Replies and Directorate follow-ups are attached at ingest time (the store's
//! `replies.rs`); the public one-click pages are [`crate::web::public`].

pub mod cli;
pub mod window;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::followup::FollowupSettings;
use crate::store::{Schedule, Stage, Store, StoreError};

/// Cases per transaction of a pass.
const BATCH: usize = 200;

/// What one pass did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    /// The pass did nothing: `now` is outside the window of the applicant's day.
    pub outside_window: bool,
    /// (case, stage, outbox row) per reminder queued.
    pub reminded: Vec<(i64, Stage, i64)>,
    /// Cases flagged stalled.
    pub stalled: Vec<i64>,
    /// Case rows read (cost), and transactions.
    pub rows_read: u64,
    pub batches: u32,
    /// A dry run only: the reminders it would queue, as outbox rows (never stored).
    #[serde(skip)]
    pub rows: Vec<crate::store::OutboxRow>,
}

/// The store's schedule from the settings.
pub fn schedule(f: &FollowupSettings) -> Schedule {
    Schedule {
        delays: f
            .after
            .iter()
            .map(|(s, d)| {
                (
                    *s,
                    chrono::Duration::from_std(*d).unwrap_or(chrono::Duration::MAX),
                )
            })
            .collect(),
        max_per_stage: f.max_reminders,
    }
}

/// One reminder pass at `now`. With `commit` false nothing is written (the
/// report says what would be done).
pub async fn run_pass(
    store: &Store,
    f: &FollowupSettings,
    now: DateTime<Utc>,
    commit: bool,
) -> Result<PassReport, StoreError> {
    let mut r = PassReport::default();
    if !window::in_window(now, f.window) {
        r.outside_window = true;
        return Ok(r);
    }
    let sched = schedule(f);
    loop {
        // NOTE: a dry run rolls its batch back, so it looks once, at everything due.
        let limit = if commit { BATCH } else { usize::MAX >> 1 };
        let b = store.remind_due(now, &sched, limit, commit).await?;
        r.batches += 1;
        r.rows_read += b.rows_read;
        let done = b.reminded.len() + b.stalled.len() < limit || !commit;
        r.reminded.extend(b.reminded);
        r.stalled.extend(b.stalled);
        r.rows.extend(b.rows);
        if done {
            return Ok(r);
        }
    }
}

/// One reminder pass of the daemon's (`now` from the system clock): logs what it
/// did and wakes the outbox sender when it queued mail. The daemon runs it every
/// `interval` under a job lease, so once across instances.
pub async fn pass_once(store: &Store, f: &FollowupSettings, kick: &tokio::sync::Notify) {
    match run_pass(store, f, Utc::now(), true).await {
        Ok(r) if !r.reminded.is_empty() || !r.stalled.is_empty() => {
            tracing::info!(
                reminders = r.reminded.len(),
                stalled = r.stalled.len(),
                "reminder pass"
            );
            kick.notify_one();
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "reminder pass failed; will try again"),
    }
}
