//! The citizenship pass: for every open case, each route that opens by `today`
//! (or within `notify_days_before` days) gets its eligibility email queued once.
//!
//! `now` is a parameter: the daemon passes the clock ([`run_loop`]), tests pass
//! the day they want. Exactly-once does not depend on this pass running alone: the
//! store claims (case, route) and queues the email in one transaction
//! ([`Store::citizenship_enqueue`]), so a second pass, another instance on the same
//! PostgreSQL store, or a restart queues nothing more.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::{clock_of, tirane_date, Route, Status};
use crate::config::CitizenshipSettings;
use crate::store::{CitizenshipNotice, Stage, Store, StoreError};

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Cases looked at (neither closed nor rejected).
    pub cases: usize,
    /// Outbox rows queued by this pass.
    pub queued: Vec<i64>,
}

/// One pass at `now`. Does nothing when the clock or its email is turned off.
pub async fn run_once(
    store: &Store,
    settings: &CitizenshipSettings,
    now: DateTime<Utc>,
) -> Result<PassReport, StoreError> {
    let mut report = PassReport::default();
    if !settings.enabled || !settings.notify {
        return Ok(report);
    }
    let today = tirane_date(now);
    let ahead = Duration::days(i64::from(settings.notify_days_before));
    for rec in store.citizenship_records(None).await? {
        if matches!(rec.case.stage, Stage::Closed | Stage::Rejected) {
            continue;
        }
        report.cases += 1;
        let clock = clock_of(&rec, settings, today);
        for r in &clock.routes {
            let Some(on) = r.opens_on else { continue };
            if !matches!(r.status, Status::Open | Status::Opens)
                || on - ahead > today
                || rec.notified.iter().any(|n| n == r.route.as_str())
            {
                continue;
            }
            let law = &settings.law;
            let notice = CitizenshipNotice {
                case_id: rec.case.id,
                route: r.route.as_str().to_string(),
                opens_on: on,
                early: on > today,
                stateless: rec.facts.stateless == Some(true),
                residence_years: match r.route {
                    Route::General => law.general_years,
                    Route::AlbanianOrigin => law.albanian_origin_years,
                    Route::Marriage => law.marriage_residence_years,
                },
                marriage_years: (r.route == Route::Marriage).then_some(law.marriage_years),
            };
            let queued = store.citizenship_enqueue(&notice, now).await?;
            if let Some(id) = queued {
                tracing::info!(
                    case = rec.case.id,
                    route = %r.route,
                    opens_on = %on,
                    outbox = id,
                    "citizenship route opens: email queued"
                );
                report.queued.push(id);
            }
        }
    }
    Ok(report)
}

/// The daemon's loop: a pass at start and every `check_interval` on the system
/// clock, waking the outbox sender when it queued something, until `stop`.
pub async fn run_loop(
    store: Store,
    settings: CitizenshipSettings,
    kick: Arc<tokio::sync::Notify>,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        match run_once(&store, &settings, Utc::now()).await {
            Ok(r) if !r.queued.is_empty() => kick.notify_one(),
            Ok(_) => {}
            Err(e) => tracing::warn!("citizenship pass failed (retried at the next): {e}"),
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(settings.check_interval) => {}
        }
    }
}
