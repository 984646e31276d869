//! The hourly caps on outgoing mail (`trust.max_per_hour`,
//! `trust.max_per_forwarder_domain_per_hour`), besides the daily cap per
//! recipient: however many messages arrive, leje sends no more than this in
//! the agency's name.

use chrono::{DateTime, Duration, Utc};

use crate::config::TrustSettings;
use crate::store::{Store, StoreError};

/// `Some((when to try again, why))` when sending one more email now, for a
/// message forwarded by `forwarded_by`, would go over a cap. The per-domain cap
/// does not apply to staff forwards (`staff`).
pub async fn over_hourly_caps(
    store: &Store,
    t: &TrustSettings,
    forwarded_by: Option<&str>,
    staff: bool,
    now: DateTime<Utc>,
) -> Result<Option<(DateTime<Utc>, String)>, StoreError> {
    let since = now - Duration::hours(1);
    // Spread what was held back over the next few minutes.
    let later = now + Duration::minutes(5) + Duration::seconds(fastrand::i64(0..300));
    if t.max_per_hour > 0 && store.sent_total_since(since).await? >= u64::from(t.max_per_hour) {
        let why = format!(
            "deferred: the limit of {} emails per hour is reached",
            t.max_per_hour
        );
        return Ok(Some((later, why)));
    }
    let domain = forwarded_by
        .filter(|_| !staff)
        .and_then(|f| f.rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase());
    if let (Some(d), max) = (domain, t.max_per_forwarder_domain_per_hour) {
        if max > 0 && store.sent_for_forwarder_domain_since(&d, since).await? >= u64::from(max) {
            let why = format!(
                "deferred: the limit of {max} emails per hour for mail from {d} is reached"
            );
            return Ok(Some((later, why)));
        }
    }
    Ok(None)
}
