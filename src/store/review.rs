//! Conflicts and the review queue: a later message that disagrees with a
//! case (another name, another contact, another directorate) never
//! overwrites it; both values are kept here until a person chooses.

use chrono::{DateTime, Utc};

use super::cases::{
    insert_event, insert_outbox, load_by_doc, normalise_doc, transition, Loaded, NewOutbox,
};
use super::query::{list_json, now, q, Row, Tx};
use super::types::{directorate_str, language_str};
use super::{
    redact_doc, Advanced, Case, Cause, Conflict, Keep, OutboxKind, Stage, Store, StoreError,
};
use crate::parse::ParsedMessage;

/// Records a disagreement to be resolved by a person.
async fn insert_conflict(
    tx: &mut Tx,
    case_id: i64,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
    message: Option<i64>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        q(
            "INSERT INTO case_conflicts (case_id, field, old_value, new_value, message, at) \
           VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(case_id)
        .bind(field)
        .bind(old)
        .bind(new)
        .bind(message)
        .bind(at),
    )
    .await?;
    Ok(())
}

fn conflict_from_row(r: &Row) -> Result<Conflict, StoreError> {
    Ok(Conflict {
        id: r.get("id")?,
        case_id: r.get("case_id")?,
        field: r.get("field")?,
        old_value: r.get("old_value")?,
        new_value: r.get("new_value")?,
        at: r.get("at")?,
        resolved_at: r.get("resolved_at")?,
        resolution: r.get("resolution")?,
    })
}

impl Store {
    /// A case's conflicts (only the unresolved ones when `open_only`).
    pub async fn case_conflicts(
        &self,
        case_id: i64,
        open_only: bool,
    ) -> Result<Vec<Conflict>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(
                q(
                    "SELECT id, case_id, field, old_value, new_value, at, resolved_at, resolution \
                   FROM case_conflicts WHERE case_id = $1 AND ($2 = FALSE OR resolved_at IS NULL) \
                   ORDER BY id",
                )
                .bind(case_id)
                .bind(open_only),
            )
            .await?;
        rows.iter().map(conflict_from_row).collect()
    }

    /// The stage a `needs_review` case returns to when resolved.
    pub async fn review_from(&self, case_id: i64) -> Result<Option<Stage>, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_optional(q("SELECT review_from FROM cases WHERE id = $1").bind(case_id))
            .await?;
        Ok(r.map(|r| r.get_opt_enum("review_from"))
            .transpose()?
            .flatten())
    }

    /// Resolves a `needs_review` case: applies the old or new value of every
    /// open conflict and returns the case to the stage it came from.
    pub async fn resolve_review(
        &self,
        doc: &str,
        keep: Keep,
        note: Option<&str>,
    ) -> Result<Advanced, StoreError> {
        let doc = normalise_doc(doc);
        let at = now();
        let mut tx = self.pool().write().await?;
        let mut l = load_by_doc(&mut tx, &doc)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no case `{}`", redact_doc(&doc))))?;
        if l.case.stage != Stage::NeedsReview {
            return Err(StoreError::NotInReview {
                case_id: l.case.id,
                stage: l.case.stage,
            });
        }
        let rows = tx
            .fetch_all(
                q(
                    "SELECT id, case_id, field, old_value, new_value, at, resolved_at, resolution \
                   FROM case_conflicts WHERE case_id = $1 AND resolved_at IS NULL ORDER BY id",
                )
                .bind(l.case.id),
            )
            .await?;
        let conflicts: Vec<Conflict> = rows
            .iter()
            .map(conflict_from_row)
            .collect::<Result<_, _>>()?;
        for c in &conflicts {
            if keep == Keep::New {
                apply_new_value(&mut tx, &mut l, c).await?;
            }
            tx.execute(
                q("UPDATE case_conflicts SET resolved_at = $1, resolution = $2 WHERE id = $3")
                    .bind(at)
                    .bind(keep.as_str())
                    .bind(c.id),
            )
            .await?;
        }
        let renewal = conflicts.iter().find(|c| c.field == "renewal");
        if let (Keep::New, Some(c)) = (keep, renewal) {
            let detail = format!(
                "review resolved: kept {} value(s) of {} conflict(s), renewal approved: {}, renewing {}{}",
                keep,
                conflicts.len(),
                c.new_value.as_deref().unwrap_or("?"),
                c.old_value.as_deref().unwrap_or("?"),
                note.map(|n| format!("; {n}")).unwrap_or_default()
            );
            let (pm, outbox) = threaded_under_conflict(&mut tx, l.case.id, Some(c.id)).await?;
            let pm = pm.ok_or_else(|| {
                StoreError::Corrupt("a renewal conflict without its message".into())
            })?;
            let ob = super::notice::restart(
                &mut tx,
                l.case.id,
                Stage::NeedsReview,
                pm,
                &detail,
                outbox,
                at,
            )
            .await?;
            tx.commit().await?;
            return Ok(Advanced {
                case_id: l.case.id,
                from: Stage::NeedsReview,
                to: Stage::Approved,
                outbox_ids: vec![ob],
            });
        }
        let back = l.review_from.unwrap_or(Stage::Approved);
        let detail = format!(
            "review resolved: kept {} value(s) of {} conflict(s){}",
            keep,
            conflicts.len(),
            note.map(|n| format!("; {n}")).unwrap_or_default()
        );
        let mut outbox_ids =
            transition(&mut tx, &l, back, Cause::Cli, Some(&detail), None, at).await?;
        if back == Stage::Approved {
            outbox_ids.extend(instructions_if_never_sent(&mut tx, l.case.id, at).await?);
        }
        tx.commit().await?;
        Ok(Advanced {
            case_id: l.case.id,
            from: Stage::NeedsReview,
            to: back,
            outbox_ids,
        })
    }
}

/// Enqueues the instructions for a case a review has just approved, unless it
/// already has them: a case created by a rejection, whose later approval was
/// held for review, would otherwise reach `approved` with nothing sent. The
/// email is threaded under the message that raised the latest conflict and goes
/// to the case's contacts.
async fn instructions_if_never_sent(
    tx: &mut Tx,
    case_id: i64,
    at: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let sent = tx
        .fetch_one(
            q("SELECT COUNT(*) AS n FROM outbox WHERE case_id = $1 AND kind = $2")
                .bind(case_id)
                .bind(OutboxKind::Instructions.as_str()),
        )
        .await?;
    if sent.get_u64("n")? > 0 {
        return Ok(None);
    }
    let (_, o) = threaded_under_conflict(tx, case_id, None).await?;
    Ok(Some(insert_outbox(tx, o, at).await?))
}

/// The message that raised the case's conflict `conflict_id` (its latest
/// conflict when `None`), and an instructions email for the case threaded under
/// it (unthreaded without one), addressed to the case's contacts.
async fn threaded_under_conflict(
    tx: &mut Tx,
    case_id: i64,
    conflict_id: Option<i64>,
) -> Result<(Option<i64>, NewOutbox), StoreError> {
    let r = tx
        .fetch_optional(
            q(
                "SELECT m.id, m.message_id FROM case_conflicts c JOIN processed_messages m \
               ON m.id = c.message WHERE c.case_id = $1 AND ($2 IS NULL OR c.id = $2) \
               ORDER BY c.id DESC LIMIT 1",
            )
            .bind(case_id)
            .bind(conflict_id),
        )
        .await?;
    let (pm, message_id): (Option<i64>, Option<String>) = match r {
        Some(r) => (Some(r.get("id")?), r.get("message_id")?),
        None => (None, None),
    };
    let o = NewOutbox {
        case_id,
        kind: OutboxKind::Instructions,
        in_reply_to: message_id.clone(),
        references: message_id.into_iter().collect(),
        forwarded_by: None,
        forwarder_is_staff: false,
        original_to: None,
        // NOTE: a person resolved the review: that is the release. It goes to
        // the case's contacts, and carries the waybills of the message that
        // raised the conflict.
        held: false,
        source_message: pm,
        forwarder_verified: false,
        original_verified: false,
    };
    Ok((pm, o))
}

/// Applies a conflict's new value to the case (name, contacts, directorate,
/// or the stage to return to).
async fn apply_new_value(tx: &mut Tx, l: &mut Loaded, c: &Conflict) -> Result<(), StoreError> {
    let v = c.new_value.clone();
    match c.field.as_str() {
        "name" => {
            tx.execute(
                q("UPDATE cases SET name = $1 WHERE id = $2")
                    .bind(v)
                    .bind(l.case.id),
            )
            .await?;
        }
        "contacts" => {
            let list: Vec<String> = v
                .as_deref()
                .unwrap_or("")
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            tx.execute(
                q("UPDATE cases SET contacts = $1 WHERE id = $2")
                    .bind(list_json(&list))
                    .bind(l.case.id),
            )
            .await?;
        }
        "directorate" => {
            tx.execute(
                q("UPDATE cases SET directorate = $1 WHERE id = $2")
                    .bind(v)
                    .bind(l.case.id),
            )
            .await?;
        }
        "stage" => {
            if let Some(s) = v.as_deref().and_then(|s| s.parse::<Stage>().ok()) {
                l.review_from = Some(s);
            }
        }
        _ => {}
    }
    Ok(())
}

pub(crate) type Diff = (&'static str, Option<String>, Option<String>);

/// Values in the message that disagree with the case (missing values never disagree).
pub(crate) fn differences(case: &Case, p: &ParsedMessage, contacts: &[String]) -> Vec<Diff> {
    let mut out = Vec::new();
    if let (Some(old), Some(new)) = (&case.name, &p.name) {
        if norm_name(old) != norm_name(new) {
            out.push(("name", Some(old.clone()), Some(new.clone())));
        }
    }
    if !case.contacts.is_empty() && contacts.iter().any(|c| !case.contacts.contains(c)) {
        out.push((
            "contacts",
            Some(case.contacts.join(", ")),
            Some(contacts.join(", ")),
        ));
    }
    if let (Some(old), Some(new)) = (case.directorate, p.directorate) {
        if old != new {
            out.push((
                "directorate",
                Some(directorate_str(old)),
                Some(directorate_str(new)),
            ));
        }
    }
    out
}

/// What a message would fill in that the case does not have yet (a name, its
/// first contacts): a review when the message is not from the case's own
/// verified source, so no outsider can name the applicant or take over the
/// address the case's emails go to.
pub(crate) fn unverified_fills(case: &Case, p: &ParsedMessage, contacts: &[String]) -> Vec<Diff> {
    let mut out = Vec::new();
    if let (None, Some(new)) = (&case.name, &p.name) {
        out.push(("name", None, Some(new.clone())));
    }
    if case.contacts.is_empty() && !contacts.is_empty() {
        out.push(("contacts", None, Some(contacts.join(", "))));
    }
    out
}

/// Records the conflicts and moves the case to needs_review (if not there already).
pub(crate) async fn flag(
    tx: &mut Tx,
    l: &Loaded,
    conflicts: &[Diff],
    pm: i64,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for (field, old, new) in conflicts {
        insert_conflict(
            tx,
            l.case.id,
            field,
            old.as_deref(),
            new.as_deref(),
            Some(pm),
            at,
        )
        .await?;
    }
    let detail = describe(conflicts);
    let renews = conflicts.iter().any(|c| c.0 == "renewal");
    if l.case.stage == Stage::Closed && renews {
        // NOTE: closed is terminal for everything but a renewal, which opens a
        // new cycle: a person decides on it, and `closed` is where keeping the
        // old values returns the case.
        tx.execute(
            q("UPDATE cases SET stage = $1, review_from = $2, updated_at = $3 WHERE id = $4")
                .bind(Stage::NeedsReview.as_str())
                .bind(Stage::Closed.as_str())
                .bind(at)
                .bind(l.case.id),
        )
        .await?;
        insert_event(
            tx,
            l.case.id,
            at,
            Some(Stage::Closed),
            Stage::NeedsReview,
            Cause::Message,
            Some(&detail),
            Some(pm),
        )
        .await?;
        return Ok(());
    }
    // NOTE: a closed case stays closed (closed is terminal); the conflict is
    // still recorded with an event, so nothing the message said is lost.
    if matches!(l.case.stage, Stage::NeedsReview | Stage::Closed) {
        insert_event(
            tx,
            l.case.id,
            at,
            Some(l.case.stage),
            l.case.stage,
            Cause::Message,
            Some(&detail),
            Some(pm),
        )
        .await?;
        tx.execute(
            q("UPDATE cases SET updated_at = $1 WHERE id = $2")
                .bind(at)
                .bind(l.case.id),
        )
        .await?;
    } else {
        transition(
            tx,
            l,
            Stage::NeedsReview,
            Cause::Message,
            Some(&detail),
            Some(pm),
            at,
        )
        .await?;
    }
    Ok(())
}

pub(crate) fn describe(conflicts: &[Diff]) -> String {
    let fields: Vec<&str> = conflicts.iter().map(|c| c.0).collect();
    format!("conflicts with the existing case: {}", fields.join(", "))
}

/// Fills fields the case does not have yet (never overwrites).
pub(crate) async fn fill_missing(
    tx: &mut Tx,
    case: &Case,
    p: &ParsedMessage,
    contacts: &[String],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut merged = case.contacts.clone();
    for c in contacts {
        if !merged.contains(c) {
            merged.push(c.clone());
        }
    }
    tx.execute(
        q(
            "UPDATE cases SET name = COALESCE(name, $1), nationality = COALESCE(nationality, $2), \
           directorate = COALESCE(directorate, $3), language = COALESCE(language, $4), \
           contacts = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(p.name.as_deref())
        .bind(p.nationality.as_deref())
        .bind(p.directorate.map(directorate_str))
        .bind(p.language.map(language_str))
        .bind(list_json(&merged))
        .bind(at)
        .bind(case.id),
    )
    .await?;
    Ok(())
}

fn norm_name(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}
