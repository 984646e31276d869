//! Cases that start over: a permit renewed a year later (same person, same
//! passport, same office; the notice's date tells it from the same notice
//! forwarded again), and a rejection overturned by an approval that a person
//! confirmed in review. Against both backends.

use leje::parse::{Kind, Reason};
use leje::store::{Cause, Keep, OutboxKind, Outcome, Stage};

use crate::{approval, both, ingest_file, waybill, Env};

both! {
    renewal_starts_the_case_over;
    same_notice_again_is_not_a_renewal;
    approval_after_rejection_confirmed_in_review_sends_instructions;
    renewal_with_a_new_contact_waits_for_review;
    undated_case_is_renewed_by_a_notice_long_after_it_was_created;
}

/// The same notice as `approval(..)`, sent by the office on `date` (RFC 3339).
fn approval_of(doc: &str, name: &str, date: &str, mid: &str) -> leje::parse::ParsedMessage {
    let mut p = approval(doc, name, "maria@example.it", "maria@example.it");
    p.notified_at = Some(date.into());
    p.message_id = Some(mid.into());
    p.references = vec![mid.into()];
    p
}

async fn renewal_starts_the_case_over(env: Env) {
    let s = &env.store;
    let first = approval_of(
        "RN1234567",
        "Maria Rossi",
        "2024-03-04T10:00:00+01:00",
        "y1@gov.al",
    );
    let r = ingest_file(s, "/2024.eml", &first).await;
    assert_eq!(r.outcome, Outcome::CaseCreated);
    let id = r.case_id.unwrap();
    // The first cycle is done: the card was collected.
    for stage in [Stage::Applied, Stage::CardReady, Stage::Collected] {
        s.advance_by_id(id, stage, Cause::Cli, None).await.unwrap();
    }

    // A year later the office approves the renewal, in the same words.
    let mut renewal = approval_of(
        "RN1234567",
        "Maria Rossi",
        "2025-02-27T09:30:00+01:00",
        "y2@gov.al",
    );
    renewal.waybills = vec![waybill("RN1234567-2025")];
    let r = ingest_file(s, "/2025.eml", &renewal).await;
    assert_eq!((r.outcome, r.case_id), (Outcome::CaseUpdated, Some(id)));
    assert_eq!(r.outbox_ids.len(), 1, "the instructions go out again");

    let c = s.case_by_id(id).await.unwrap().unwrap();
    assert_eq!(c.stage, Stage::Approved);
    assert_eq!(c.next_due, None);
    let ev = s.case_events(id).await.unwrap();
    let last = ev.last().unwrap();
    assert_eq!(
        (last.from_stage, last.to_stage, last.cause),
        (Some(Stage::Collected), Stage::Approved, Cause::Renewal)
    );
    // The case keeps both slips; this year's instructions carry only the new one.
    assert_eq!(s.case_waybills(id).await.unwrap().len(), 2);
    let current = s.cycle_waybills(id).await.unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].sha256, renewal.waybills[0].sha256);
    let detail = last.detail.as_deref().unwrap();
    assert!(
        detail.contains("renewal")
            && detail.contains("2025-02-27")
            && detail.contains("2024-03-04"),
        "{detail}"
    );

    let instructions: Vec<_> = s
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == OutboxKind::Instructions)
        .collect();
    assert_eq!(instructions.len(), 2);
    let new = instructions
        .iter()
        .find(|o| o.id == r.outbox_ids[0])
        .unwrap();
    assert_eq!(new.in_reply_to.as_deref(), Some("y2@gov.al"));

    // The new cycle runs like the first, and its follow-ups thread under the
    // renewal's instructions, not last year's.
    s.advance_by_id(id, Stage::Applied, Cause::Cli, None)
        .await
        .unwrap();
    let a = s
        .advance_by_id(id, Stage::CardReady, Cause::Cli, None)
        .await
        .unwrap();
    let card = s
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.id == a.outbox_ids[0])
        .unwrap();
    assert_eq!(card.in_reply_to.as_deref(), Some(new.message_id.as_str()));

    // The renewal forwarded again by someone else is the same notice.
    let mut again = renewal.clone();
    again.message_id = Some("fwd-again@example.org".into());
    let r = ingest_file(s, "/2025-again.eml", &again).await;
    assert_eq!(r.outcome, Outcome::Duplicate);
    assert!(r.outbox_ids.is_empty());
}

async fn same_notice_again_is_not_a_renewal(env: Env) {
    let s = &env.store;
    let first = approval_of(
        "RN7654321",
        "Jan Novak",
        "2024-03-04T10:00:00+01:00",
        "a@gov.al",
    );
    let id = ingest_file(s, "/a.eml", &first).await.case_id.unwrap();
    s.advance_by_id(id, Stage::Applied, Cause::Cli, None)
        .await
        .unwrap();
    let sent = s.outbox_list(None).await.unwrap().len();

    // Re-sent by the office a month later (a correction): the same approval again.
    let resent = approval_of(
        "RN7654321",
        "Jan Novak",
        "2024-04-03T10:00:00+01:00",
        "b@gov.al",
    );
    let r = ingest_file(s, "/b.eml", &resent).await;
    assert_eq!((r.outcome, r.case_id), (Outcome::CaseUpdated, Some(id)));
    assert!(r.outbox_ids.is_empty());

    // Forwarded a year later without a date leje could read: never a renewal,
    // since nothing may be sent twice on a guess.
    let mut undated = approval_of(
        "RN7654321",
        "Jan Novak",
        "2025-03-01T10:00:00+01:00",
        "c@gov.al",
    );
    undated.notified_at = None;
    let r = ingest_file(s, "/c.eml", &undated).await;
    assert_eq!((r.outcome, r.case_id), (Outcome::CaseUpdated, Some(id)));
    assert!(r.outbox_ids.is_empty());

    assert_eq!(s.outbox_list(None).await.unwrap().len(), sent);
    // Never renewed: the instructions carry every slip the case has.
    assert_eq!(
        s.cycle_waybills(id).await.unwrap().len(),
        s.case_waybills(id).await.unwrap().len()
    );
    let c = s.case_by_id(id).await.unwrap().unwrap();
    assert_eq!(c.stage, Stage::Applied, "the case's progress is kept");

    // A different name on a renewal is still a conflict for a person.
    let other = approval_of(
        "RN7654321",
        "Joana Costa",
        "2025-03-01T10:00:00+01:00",
        "d@gov.al",
    );
    let r = ingest_file(s, "/d.eml", &other).await;
    assert_eq!(r.outcome, Outcome::NeedsReview);
    assert!(r.outbox_ids.is_empty());
}

async fn approval_after_rejection_confirmed_in_review_sends_instructions(env: Env) {
    let s = &env.store;
    let mut rej = approval_of(
        "RJ1000001",
        "Tom Hardy",
        "2024-03-04T10:00:00+01:00",
        "r@gov.al",
    );
    rej.kind = Kind::PermitRejected;
    rej.reason = Some(Reason::Rejected);
    rej.waybills.clear();
    let id = ingest_file(s, "/rej.eml", &rej).await.case_id.unwrap();
    assert!(s.outbox_list(None).await.unwrap().is_empty());

    // An approval weeks later contradicts the rejection: held for a person.
    let ok = approval_of(
        "RJ1000001",
        "Tom Hardy",
        "2024-04-02T10:00:00+01:00",
        "ok@gov.al",
    );
    let r = ingest_file(s, "/ok.eml", &ok).await;
    assert_eq!(r.outcome, Outcome::NeedsReview);
    assert!(r.outbox_ids.is_empty());

    // The person keeps the approval: now the applicant gets the instructions,
    // with the approval's waybill, threaded under it.
    let a = s
        .resolve_review("RJ1000001", Keep::New, None)
        .await
        .unwrap();
    assert_eq!(a.to, Stage::Approved);
    assert_eq!(a.outbox_ids.len(), 1);
    let o = s.outbox_get(a.outbox_ids[0]).await.unwrap().unwrap();
    assert_eq!(o.kind, OutboxKind::Instructions);
    assert_eq!(o.in_reply_to.as_deref(), Some("ok@gov.al"));
    assert_eq!(s.cycle_waybills(id).await.unwrap().len(), 1);

    // Keeping the rejection instead sends nothing.
    let mut rej = approval_of(
        "RJ1000002",
        "Eva Green",
        "2024-03-04T10:00:00+01:00",
        "r2@gov.al",
    );
    rej.kind = Kind::PermitRejected;
    rej.reason = Some(Reason::Rejected);
    ingest_file(s, "/rej2.eml", &rej).await;
    let ok = approval_of(
        "RJ1000002",
        "Eva Green",
        "2024-04-02T10:00:00+01:00",
        "ok2@gov.al",
    );
    assert_eq!(
        ingest_file(s, "/ok2.eml", &ok).await.outcome,
        Outcome::NeedsReview
    );
    let a = s
        .resolve_review("RJ1000002", Keep::Old, None)
        .await
        .unwrap();
    assert_eq!(a.to, Stage::Rejected);
    assert!(a.outbox_ids.is_empty());
    assert_eq!(s.outbox_list(None).await.unwrap().len(), 1);
}

async fn renewal_with_a_new_contact_waits_for_review(env: Env) {
    let s = &env.store;
    for (doc, keep) in [("RW1000001", Keep::New), ("RW1000002", Keep::Old)] {
        let first = approval_of(
            doc,
            "Lea Roth",
            "2024-03-04T10:00:00+01:00",
            &format!("{doc}.1@gov.al"),
        );
        let id = ingest_file(s, &format!("/{doc}-1.eml"), &first)
            .await
            .case_id
            .unwrap();
        for stage in [
            Stage::Applied,
            Stage::CardReady,
            Stage::Collected,
            Stage::Closed,
        ] {
            s.advance_by_id(id, stage, Cause::Cli, None).await.unwrap();
        }
        let before = s.outbox_list(None).await.unwrap().len();

        // The renewal comes from a new address: held for a person, even on a
        // closed case, and nothing is sent yet.
        let mut renewal = approval(doc, "Lea Roth", "lea.new@example.de", "lea.new@example.de");
        renewal.notified_at = Some("2025-03-01T10:00:00+01:00".into());
        renewal.message_id = Some(format!("{doc}.2@gov.al"));
        renewal.waybills = vec![waybill(&format!("{doc}-2025"))];
        let r = ingest_file(s, &format!("/{doc}-2.eml"), &renewal).await;
        assert_eq!((r.outcome, r.case_id), (Outcome::NeedsReview, Some(id)));
        assert!(r.outbox_ids.is_empty());
        let c = s.case_by_id(id).await.unwrap().unwrap();
        assert_eq!(c.stage, Stage::NeedsReview);
        let fields: Vec<String> = s
            .case_conflicts(id, true)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert!(fields.contains(&"renewal".to_string()), "{fields:?}");

        let a = s.resolve_review(doc, keep, None).await.unwrap();
        match keep {
            Keep::New => {
                // Kept: the case starts over, with this year's slip only.
                assert_eq!(a.to, Stage::Approved);
                assert_eq!(a.outbox_ids.len(), 1);
                let o = s.outbox_get(a.outbox_ids[0]).await.unwrap().unwrap();
                assert_eq!(o.kind, OutboxKind::Instructions);
                let expected_thread = format!("{doc}.2@gov.al");
                assert_eq!(o.in_reply_to.as_deref(), Some(expected_thread.as_str()));
                let c = s.case_by_id(id).await.unwrap().unwrap();
                assert!(c.contacts.contains(&"lea.new@example.de".to_string()));
                let last = s.case_events(id).await.unwrap().pop().unwrap();
                assert_eq!(last.cause, Cause::Renewal);
                let w = s.cycle_waybills(id).await.unwrap();
                assert_eq!(w.len(), 1);
                assert_eq!(w[0].sha256, renewal.waybills[0].sha256);
            }
            Keep::Old => {
                // Dismissed: the case goes back to where it was.
                assert_eq!(a.to, Stage::Closed);
                assert!(a.outbox_ids.is_empty());
                assert_eq!(s.outbox_list(None).await.unwrap().len(), before);
            }
        }
    }
}

async fn undated_case_is_renewed_by_a_notice_long_after_it_was_created(env: Env) {
    let s = &env.store;
    // Cases whose notice carried no date leje could read (or was stored before
    // notices kept their date): the time the case was created stands in.
    let undated = |doc: &str, mid: &str| {
        let mut p = approval_of(doc, "Ana Silva", "2024-01-01T10:00:00+01:00", mid);
        p.notified_at = None;
        p
    };
    let a = ingest_file(s, "/a1.eml", &undated("RU1000001", "a1@gov.al"))
        .await
        .case_id
        .unwrap();
    let b = ingest_file(s, "/b1.eml", &undated("RU1000002", "b1@gov.al"))
        .await
        .case_id
        .unwrap();
    let created = s.case_by_id(b).await.unwrap().unwrap().created_at;

    // A dated copy of a notice sent before the case existed: the same approval.
    let before = (created - chrono::Duration::days(10)).to_rfc3339();
    let r = ingest_file(
        s,
        "/b2.eml",
        &approval_of("RU1000002", "Ana Silva", &before, "b2@gov.al"),
    )
    .await;
    assert_eq!(r.outcome, Outcome::CaseUpdated);
    assert!(r.outbox_ids.is_empty());

    // A notice sent long after the case was created is a new one. Dated in
    // the future (the store's clock is the real one), it goes to review first
    // (issue 23); keeping its values renews the case.
    let later = (created + chrono::Duration::days(200)).to_rfc3339();
    let r = ingest_file(
        s,
        "/a2.eml",
        &approval_of("RU1000001", "Ana Silva", &later, "a2@gov.al"),
    )
    .await;
    assert_eq!(r.outcome, Outcome::NeedsReview, "{r:?}");
    assert!(r.outbox_ids.is_empty(), "{r:?}");
    let fields: Vec<String> = s
        .case_conflicts(a, true)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.field)
        .collect();
    assert_eq!(fields, ["notice_date", "renewal"]);
    let r = s
        .resolve_review("RU1000001", leje::store::Keep::New, None)
        .await
        .unwrap();
    assert_eq!(r.outbox_ids.len(), 1, "{r:?}");
    let last = s.case_events(a).await.unwrap().pop().unwrap();
    assert_eq!(last.cause, Cause::Renewal);
    let detail = last.detail.unwrap();
    assert!(detail.contains("undated"), "{detail}");
}
