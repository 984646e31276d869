//! The eligibility emails of the citizenship clock: one per case and route, claimed
//! and queued in one transaction.

use chrono::{DateTime, Utc};

use super::super::cases::{insert_event, insert_outbox, load_by_id, NewOutbox};
use super::super::query::{q, trunc};
use super::super::{Cause, OutboxKind, Stage, Store, StoreError};
use super::{date_text, read_date, CitizenshipNotice};

impl Store {
    /// Queues the eligibility email of `route` for a case, once: `Some(outbox id)`
    /// when this call queued it; `None` when it was queued before (by this or
    /// another process) or the case is closed or rejected. The claim and the
    /// email are one transaction.
    pub async fn citizenship_enqueue(
        &self,
        n: &CitizenshipNotice,
        at: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let (case_id, route, opens_on) = (n.case_id, n.route.as_str(), n.opens_on);
        let at = trunc(at);
        let mut tx = self.pool().write().await?;
        let Some(l) = load_by_id(&mut tx, case_id).await? else {
            return Err(StoreError::NotFound(format!("no case with id {case_id}")));
        };
        if matches!(l.case.stage, Stage::Closed | Stage::Rejected) {
            return Ok(None);
        }
        let claimed = tx
            .fetch_optional(
                q(
                    "INSERT INTO citizenship_notices (case_id, route, opens_on, early, stateless, \
                   residence_years, marriage_years, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                   ON CONFLICT DO NOTHING RETURNING case_id",
                )
                .bind(case_id)
                .bind(route)
                .bind(date_text(opens_on))
                .bind(n.early)
                .bind(n.stateless)
                .bind(n.residence_years)
                .bind(n.marriage_years)
                .bind(at),
            )
            .await?;
        if claimed.is_none() {
            return Ok(None);
        }
        // Addressed like the case's latest instructions email (who forwarded it,
        // to whom the office wrote), but not threaded under it: a new subject.
        let prev = tx
            .fetch_optional(
                q(
                    "SELECT forwarded_by, forwarder_is_staff, original_to, status, \
                   forwarder_verified, original_verified, released_by FROM outbox \
                   WHERE case_id = $1 AND kind = 'instructions' ORDER BY id DESC LIMIT 1",
                )
                .bind(case_id),
            )
            .await?;
        // NOTE: trust follows the instructions email: addresses a person has not vouched
        // for (held instructions) get a held citizenship email too.
        let (forwarded_by, forwarder_is_staff, original_to, held, fwd_ok, orig_ok) = match prev {
            // A released instructions email: a person vouched for its addresses.
            Some(r) => {
                let released = r.get::<Option<String>>("released_by")?.is_some();
                (
                    r.get("forwarded_by")?,
                    r.get("forwarder_is_staff")?,
                    r.get("original_to")?,
                    r.get::<String>("status")? == "held",
                    released || r.get::<bool>("forwarder_verified")?,
                    released || r.get::<bool>("original_verified")?,
                )
            }
            None => (None, false, None, false, false, false),
        };
        let id = insert_outbox(
            &mut tx,
            NewOutbox {
                case_id,
                kind: OutboxKind::Citizenship,
                in_reply_to: None,
                references: Vec::new(),
                forwarded_by,
                forwarder_is_staff,
                original_to,
                held,
                source_message: None,
                forwarder_verified: fwd_ok,
                original_verified: orig_ok,
            },
            at,
        )
        .await?;
        tx.execute(
            q("UPDATE citizenship_notices SET outbox_id = $1 WHERE case_id = $2 AND route = $3")
                .bind(id)
                .bind(case_id)
                .bind(route),
        )
        .await?;
        let detail = format!("citizenship: the {route} route opens on {opens_on}; email queued");
        insert_event(
            &mut tx,
            case_id,
            at,
            Some(l.case.stage),
            l.case.stage,
            Cause::Reminder,
            Some(&detail),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// The eligibility email an outbox row carries, if it is one.
    pub async fn citizenship_notice(
        &self,
        outbox_id: i64,
    ) -> Result<Option<CitizenshipNotice>, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_optional(
                q(
                    "SELECT case_id, route, opens_on, early, stateless, residence_years, \
                     marriage_years FROM citizenship_notices WHERE outbox_id = $1",
                )
                .bind(outbox_id),
            )
            .await?;
        r.map(|r| {
            Ok(CitizenshipNotice {
                case_id: r.get("case_id")?,
                route: r.get("route")?,
                opens_on: read_date(&r, "opens_on")?
                    .ok_or_else(|| StoreError::Corrupt("a notice without a date".into()))?,
                early: r.get("early")?,
                stateless: r.get("stateless")?,
                residence_years: r.get_u32("residence_years")?,
                marriage_years: r
                    .get::<Option<i64>>("marriage_years")?
                    .and_then(|v| u32::try_from(v).ok()),
            })
        })
        .transpose()
    }
}

impl Store {
    /// Withdraws a pending eligibility email whose case was closed or rejected
    /// after it was queued: the row is failed with the reason, the case's stage is
    /// left alone, and the route stays claimed (it is not queued again).
    pub async fn citizenship_withdraw(&self, outbox_id: i64, why: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        let n = tx
            .execute(
                q("UPDATE outbox SET status = 'failed', last_error = $1 \
                   WHERE id = $2 AND status = 'pending' AND kind = $3")
                .bind(format!("withdrawn: {why}"))
                .bind(outbox_id)
                .bind(OutboxKind::Citizenship.as_str()),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "no pending citizenship email {outbox_id}"
            )));
        }
        tx.commit().await
    }
}
