//! Ingest outcomes, idempotency, the conflict rule, every stage transition,
//! and the outbox, against both backends.

use chrono::{Duration, Utc};
use leje::parse::{Directorate, Kind, Reason};
use leje::store::{Cause, Checkpoint, Keep, OutboxKind, OutboxStatus, Outcome, Stage, StoreError};

use crate::{approval, both, ingest_file, ingest_imap, other, Env};

both! {
    approval_creates_case_waybill_and_outbox;
    same_notification_three_ways_changes_once;
    different_name_goes_to_review_keeping_both;
    different_forwarder_goes_to_review;
    same_forwarder_new_details_update_case;
    staff_forwarder_is_not_a_contact;
    rejections_and_non_notifications;
    every_transition_and_refusal;
    follow_ups_are_threaded_and_enqueued;
    outbox_lifecycle;
    checkpoints_and_skipped;
}

async fn approval_creates_case_waybill_and_outbox(env: Env) {
    let s = &env.store;
    let p = approval(
        "AB1234567",
        "Maria Rossi",
        "agency@relocate.example",
        "maria@example.it",
    );
    let r = ingest_file(s, "/in/1.eml", &p).await;
    assert_eq!(r.outcome, Outcome::CaseCreated);
    let id = r.case_id.expect("case id");
    assert_eq!(r.outbox_ids.len(), 1);

    let c = s.case_by_id(id).await.unwrap().expect("case");
    assert_eq!(c.travel_document, "AB1234567");
    assert_eq!(c.name.as_deref(), Some("Maria Rossi"));
    assert_eq!(c.nationality.as_deref(), Some("Italian"));
    assert_eq!(c.directorate, Some(Directorate::Tirane));
    assert_eq!(c.stage, Stage::Approved);
    assert_eq!(
        c.contacts,
        vec!["agency@relocate.example", "maria@example.it"]
    );
    assert_eq!(
        s.case_by_document("ab 1234 567").await.unwrap().unwrap().id,
        id
    );

    let ev = s.case_events(id).await.unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].from_stage, ev[0].to_stage, ev[0].cause),
        (None, Stage::Approved, Cause::Message)
    );

    let w = s.case_waybills(id).await.unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].sha256, p.waybills[0].sha256);
    assert_eq!(w[0].amount_lek, Some(5700));
    assert_eq!(
        s.waybill_data(&w[0].sha256).await.unwrap().as_deref(),
        Some(p.waybills[0].data.as_slice())
    );
    // In the database: no file is written.
    assert!(!env.state_dir().join("attachments").exists());

    let ob = s.outbox_list(None).await.unwrap();
    assert_eq!(ob.len(), 1);
    let o = &ob[0];
    assert_eq!(
        (o.id, o.case_id, o.kind, o.status),
        (
            r.outbox_ids[0],
            id,
            OutboxKind::Instructions,
            OutboxStatus::Pending
        )
    );
    assert!(
        o.message_id.starts_with("leje-") && o.message_id.ends_with("@sender.leje.invalid"),
        "{}",
        o.message_id
    );
    assert!(!o.message_id.contains('<'));
    assert_eq!(o.in_reply_to, p.message_id);
    assert_eq!(o.references, p.references);
    assert_eq!(o.forwarded_by.as_deref(), Some("agency@relocate.example"));
    assert_eq!(o.original_to.as_deref(), Some("maria@example.it"));
    assert!(!o.forwarder_is_staff);
    assert_eq!(s.outbox_due(Utc::now(), 10).await.unwrap().len(), 1);

    let st = s.stats().await.unwrap();
    assert_eq!(st.messages_by_outcome.get("case_created"), Some(&1));
    assert_eq!(st.cases_by_stage.get("approved"), Some(&1));
    assert_eq!(st.outbox_by_status.get("pending"), Some(&1));
    assert!(st.last_processed_at.is_some() && st.oldest_pending_outbox.is_some());
}

async fn same_notification_three_ways_changes_once(env: Env) {
    let s = &env.store;
    let p = approval("YA7654321", "Jan Novak", "jan@example.cz", "jan@example.cz");
    let first = ingest_imap(s, "inbox", 7, 10, &p, false).await;
    assert_eq!(first.outcome, Outcome::CaseCreated);
    let id = first.case_id.unwrap();

    // 1. The same origin again (re-fetched after a crash).
    let again = ingest_imap(s, "inbox", 7, 10, &p, false).await;
    assert_eq!(
        (again.outcome, again.case_id),
        (Outcome::Duplicate, Some(id))
    );
    assert!(again.outbox_ids.is_empty());

    // 2. Forwarded by a second person: other origin, other forwarder, other Message-ID.
    let mut fwd = approval(
        "YA7654321",
        "Jan Novak",
        "friend@example.org",
        "jan@example.cz",
    );
    fwd.message_id = Some("second-forward@example.org".into());
    let second = ingest_imap(s, "inbox", 7, 11, &fwd, false).await;
    assert_eq!(
        (second.outcome, second.case_id),
        (Outcome::Duplicate, Some(id))
    );

    // 3. Re-fetched under a new UIDVALIDITY (the server renumbered the folder).
    let renumbered = ingest_imap(s, "inbox", 8, 1, &p, false).await;
    assert_eq!(renumbered.outcome, Outcome::Duplicate);

    // And as a file import, twice.
    assert_eq!(
        ingest_file(s, "/a.eml", &p).await.outcome,
        Outcome::Duplicate
    );
    assert_eq!(
        ingest_file(s, "/a.eml", &p).await.outcome,
        Outcome::Duplicate
    );

    assert_eq!(s.cases(Default::default()).await.unwrap().len(), 1);
    assert_eq!(s.outbox_list(None).await.unwrap().len(), 1);
    assert_eq!(s.case_events(id).await.unwrap().len(), 1);
    let c = s.case_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        c.contacts,
        vec!["jan@example.cz"],
        "the second forwarder is not added"
    );
    assert_eq!(
        s.checkpoint("inbox").await.unwrap(),
        Some(Checkpoint {
            uidvalidity: 8,
            last_uid: 1
        })
    );
    let msgs = s.messages(None, 100).await.unwrap();
    // Four distinct origins: the repeated IMAP UID and file are not recorded again.
    assert_eq!(
        msgs.len(),
        4,
        "every distinct origin is recorded once: {msgs:#?}"
    );
    let dups = msgs
        .iter()
        .filter(|m| m.outcome == Outcome::Duplicate)
        .count();
    assert_eq!(dups, 3);
    assert!(s
        .already_processed(Some("second-forward@example.org"), "x")
        .await
        .unwrap());
    assert!(!s.already_processed(Some("never@seen"), "y").await.unwrap());
}

async fn different_name_goes_to_review_keeping_both(env: Env) {
    let s = &env.store;
    let p = approval("CC1112223", "Ana Silva", "ana@example.pt", "ana@example.pt");
    let id = ingest_file(s, "/1.eml", &p).await.case_id.unwrap();
    let q = approval(
        "CC1112223",
        "Joana Costa",
        "joana@example.pt",
        "joana@example.pt",
    );
    let r = ingest_file(s, "/2.eml", &q).await;
    assert_eq!((r.outcome, r.case_id), (Outcome::NeedsReview, Some(id)));
    assert!(r.outbox_ids.is_empty());

    let c = s.case_by_id(id).await.unwrap().unwrap();
    assert_eq!(c.stage, Stage::NeedsReview);
    assert_eq!(
        c.name.as_deref(),
        Some("Ana Silva"),
        "never silently overwritten"
    );
    assert_eq!(c.contacts, vec!["ana@example.pt"]);
    let conflicts = s.case_conflicts(id, true).await.unwrap();
    let name = conflicts
        .iter()
        .find(|c| c.field == "name")
        .expect("name conflict");
    assert_eq!(
        (name.old_value.as_deref(), name.new_value.as_deref()),
        (Some("Ana Silva"), Some("Joana Costa"))
    );
    assert!(conflicts.iter().any(|c| c.field == "contacts"));
    assert_eq!(s.outbox_list(None).await.unwrap().len(), 1);
    assert_eq!(s.review_from(id).await.unwrap(), Some(Stage::Approved));

    // Resolving with the new values applies them and returns to `approved`.
    let a = s
        .resolve_review("CC1112223", Keep::New, Some("phoned the agency"))
        .await
        .unwrap();
    assert_eq!((a.from, a.to), (Stage::NeedsReview, Stage::Approved));
    let c = s.case_by_id(id).await.unwrap().unwrap();
    assert_eq!(c.name.as_deref(), Some("Joana Costa"));
    assert_eq!(c.contacts, vec!["joana@example.pt"]);
    assert!(s.case_conflicts(id, true).await.unwrap().is_empty());
    assert_eq!(s.case_conflicts(id, false).await.unwrap().len(), 2);
    let err = s
        .resolve_review("CC1112223", Keep::Old, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotInReview { .. }), "{err}");
}

async fn different_forwarder_goes_to_review(env: Env) {
    let s = &env.store;
    let mut p = approval("DD5556667", "Li Wei", "li@example.cn", "li@example.cn");
    p.directorate = None;
    let id = ingest_file(s, "/1.eml", &p).await.case_id.unwrap();
    // Same name, now with the directorate (so a different notification), from someone else.
    let q = approval(
        "DD5556667",
        "Li  Wei",
        "stranger@example.net",
        "stranger@example.net",
    );
    let r = ingest_file(s, "/2.eml", &q).await;
    assert_eq!(r.outcome, Outcome::NeedsReview);
    let conflicts = s.case_conflicts(id, true).await.unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].field, "contacts");
    assert_eq!(conflicts[0].old_value.as_deref(), Some("li@example.cn"));
    assert_eq!(
        conflicts[0].new_value.as_deref(),
        Some("stranger@example.net")
    );
    assert_eq!(
        s.case_by_id(id).await.unwrap().unwrap().contacts,
        vec!["li@example.cn"]
    );

    // Keeping the old value leaves the contact alone and goes back.
    s.resolve_review("DD5556667", Keep::Old, None)
        .await
        .unwrap();
    let c = s.case_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        (c.stage, c.contacts.clone()),
        (Stage::Approved, vec!["li@example.cn".to_string()])
    );
    let ev = s.case_events(id).await.unwrap();
    let stages: Vec<_> = ev.iter().map(|e| e.to_stage).collect();
    assert_eq!(
        stages,
        vec![Stage::Approved, Stage::NeedsReview, Stage::Approved]
    );
}

async fn same_forwarder_new_details_update_case(env: Env) {
    let s = &env.store;
    let mut p = approval("EE1212121", "Sam Lee", "sam@example.com", "sam@example.com");
    p.directorate = None;
    let id = ingest_file(s, "/1.eml", &p).await.case_id.unwrap();
    let mut q = approval("EE1212121", "Sam Lee", "sam@example.com", "sam@example.com");
    q.waybills.push(crate::waybill("second"));
    let r = ingest_file(s, "/2.eml", &q).await;
    assert_eq!((r.outcome, r.case_id), (Outcome::CaseUpdated, Some(id)));
    assert!(r.outbox_ids.is_empty());
    let c = s.case_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        (c.stage, c.directorate),
        (Stage::Approved, Some(Directorate::Tirane))
    );
    assert_eq!(
        s.case_waybills(id).await.unwrap().len(),
        2,
        "the new waybill is recorded once"
    );
    assert_eq!(s.outbox_list(None).await.unwrap().len(), 1);
}

async fn staff_forwarder_is_not_a_contact(env: Env) {
    let s = &env.store;
    let p = approval(
        "FF9090909",
        "Ola Nordmann",
        "desk@agency.example",
        "ola@example.no",
    );
    let r = ingest_imap(s, "shared", 1, 1, &p, true).await;
    let c = s.case_by_id(r.case_id.unwrap()).await.unwrap().unwrap();
    assert_eq!(c.contacts, vec!["ola@example.no"]);
    let o = &s.outbox_list(None).await.unwrap()[0];
    assert!(o.forwarder_is_staff);
    // Sent by the office directly: the office address is never a contact.
    let mut d = approval(
        "FF8080808",
        "Kari Nordmann",
        crate::OFFICE,
        "kari@example.no",
    );
    d.forwarded_by = Some(crate::OFFICE.into());
    let r = ingest_imap(s, "shared", 1, 2, &d, false).await;
    let c = s.case_by_id(r.case_id.unwrap()).await.unwrap().unwrap();
    assert_eq!(c.contacts, vec!["kari@example.no"]);
}

async fn rejections_and_non_notifications(env: Env) {
    let s = &env.store;
    // A rejection for an unknown document creates the case as rejected.
    let mut rej = approval("GG1000001", "Tom Hardy", "tom@example.uk", "tom@example.uk");
    rej.kind = Kind::PermitRejected;
    rej.reason = Some(Reason::Rejected);
    rej.waybills.clear();
    let r = ingest_file(s, "/rej.eml", &rej).await;
    assert_eq!(r.outcome, Outcome::CaseCreated);
    assert_eq!(
        s.case_by_id(r.case_id.unwrap())
            .await
            .unwrap()
            .unwrap()
            .stage,
        Stage::Rejected
    );
    assert!(r.outbox_ids.is_empty());

    // A rejection for an approved case moves it to rejected, with an event.
    let ok = approval("GG1000002", "Eva Green", "eva@example.fr", "eva@example.fr");
    let id = ingest_file(s, "/ok.eml", &ok).await.case_id.unwrap();
    let mut rej2 = ok.clone();
    rej2.kind = Kind::PermitRejected;
    rej2.reason = Some(Reason::Rejected);
    let r = ingest_file(s, "/rej2.eml", &rej2).await;
    assert_eq!((r.outcome, r.case_id), (Outcome::CaseUpdated, Some(id)));
    let ev = s.case_events(id).await.unwrap();
    assert_eq!(
        ev.last().map(|e| (e.from_stage, e.to_stage)),
        Some((Some(Stage::Approved), Stage::Rejected))
    );

    // Non-notifications: ignored with the parser's reason; no case.
    for (i, (kind, reason)) in [
        (Kind::Unrelated, Reason::NoNotification),
        (Kind::AutoReply, Reason::AutoSubmitted),
        (Kind::Bounce, Reason::DeliveryReport),
        (Kind::OwnMail, Reason::OwnMail),
        (Kind::Calendar, Reason::CalendarInvite),
        (Kind::Empty, Reason::EmptyBody),
    ]
    .into_iter()
    .enumerate()
    {
        let r = ingest_file(
            s,
            &format!("/other-{i}.eml"),
            &other(kind, reason, "x@example.com"),
        )
        .await;
        assert_eq!((r.outcome, r.case_id), (Outcome::Ignored, None), "{kind:?}");
    }
    let bad = other(Kind::Malformed, Reason::Malformed, "x@example.com");
    assert_eq!(
        ingest_file(s, "/bad.eml", &bad).await.outcome,
        Outcome::Failed
    );
    let incomplete = other(
        Kind::IncompleteNotification,
        Reason::MissingTravelDocument,
        "y@example.com",
    );
    let r = ingest_file(s, "/inc.eml", &incomplete).await;
    assert_eq!((r.outcome, r.case_id), (Outcome::NeedsReview, None));

    // A conflicting message about a closed case: recorded, the case stays closed.
    let done = approval("GG1000003", "Kim Park", "kim@example.kr", "kim@example.kr");
    let id = ingest_file(s, "/done.eml", &done).await.case_id.unwrap();
    s.advance_by_id(id, Stage::Closed, Cause::Cli, None)
        .await
        .unwrap();
    let other_name = approval("GG1000003", "Lee Park", "lee@example.kr", "lee@example.kr");
    let r = ingest_file(s, "/done2.eml", &other_name).await;
    assert_eq!((r.outcome, r.case_id), (Outcome::NeedsReview, Some(id)));
    assert_eq!(
        s.case_by_id(id).await.unwrap().unwrap().stage,
        Stage::Closed
    );
    assert_eq!(s.case_conflicts(id, true).await.unwrap().len(), 2);

    let ignored = s.messages(Some(Outcome::Ignored), 100).await.unwrap();
    assert_eq!(ignored.len(), 6);
    assert!(ignored
        .iter()
        .any(|m| m.reason.as_deref() == Some(Reason::AutoSubmitted.message())));
    let review = s.messages(Some(Outcome::NeedsReview), 100).await.unwrap();
    let no_case = review
        .iter()
        .find(|m| m.case_id.is_none())
        .expect("incomplete one");
    assert_eq!(
        no_case.reason.as_deref(),
        Some(Reason::MissingTravelDocument.message())
    );
    assert_eq!(s.cases(Default::default()).await.unwrap().len(), 3);
}

/// The allowed moves, written out independently of the implementation.
fn expected_allowed(from: Stage) -> Vec<Stage> {
    use Stage::*;
    match from {
        Approved => vec![
            AddressConfirmed,
            FeePaid,
            Applied,
            CardReady,
            Collected,
            Rejected,
            NeedsReview,
            Closed,
        ],
        AddressConfirmed => vec![
            FeePaid,
            Applied,
            CardReady,
            Collected,
            Rejected,
            NeedsReview,
            Closed,
        ],
        FeePaid => vec![Applied, CardReady, Collected, Rejected, NeedsReview, Closed],
        Applied => vec![
            CardReady,
            Collected,
            NidPending,
            Rejected,
            NeedsReview,
            Closed,
        ],
        CardReady => vec![Collected, NeedsReview, Closed],
        Collected => vec![NeedsReview, Closed],
        NidPending => vec![Applied, Rejected, NeedsReview, Closed],
        Rejected => vec![NeedsReview, Closed],
        // Back to where it came from (here: approved), or closed.
        NeedsReview => vec![Approved, Closed],
        Closed => vec![],
    }
}

/// How to bring a fresh approved case to `stage`.
fn path_to(stage: Stage) -> Vec<Stage> {
    match stage {
        Stage::Approved => vec![],
        Stage::NidPending => vec![Stage::Applied, Stage::NidPending],
        s => vec![s],
    }
}

async fn every_transition_and_refusal(env: Env) {
    let s = &env.store;
    let mut n = 0;
    for &from in Stage::ALL {
        for &to in Stage::ALL {
            n += 1;
            let doc = format!("TR{n:05}X");
            let p = approval(
                &doc,
                "Test Person",
                &format!("p{n}@example.com"),
                &format!("p{n}@example.com"),
            );
            let id = ingest_file(s, &format!("/t{n}.eml"), &p)
                .await
                .case_id
                .unwrap();
            for step in path_to(from) {
                s.advance(&doc, step, Cause::Cli, None)
                    .await
                    .unwrap_or_else(|e| panic!("setup {from}: {e}"));
            }
            let before = s.case_events(id).await.unwrap().len();
            let res = s.advance(&doc, to, Cause::Cli, Some("test")).await;
            let allowed = expected_allowed(from);
            if allowed.contains(&to) {
                let a = res.unwrap_or_else(|e| panic!("{from} → {to} should be allowed: {e}"));
                assert_eq!((a.from, a.to), (from, to));
                let c = s.case_by_id(id).await.unwrap().unwrap();
                assert_eq!(c.stage, to);
                let ev = s.case_events(id).await.unwrap();
                assert_eq!(ev.len(), before + 1);
                let last = ev.last().unwrap();
                assert_eq!(
                    (last.from_stage, last.to_stage, last.cause),
                    (Some(from), to, Cause::Cli)
                );
                assert_eq!(last.detail.as_deref(), Some("test"));
            } else {
                match res {
                    Err(StoreError::InvalidTransition {
                        from: f,
                        to: t,
                        allowed: a,
                    }) => {
                        assert_eq!((f, t), (from, to));
                        assert_eq!(a, allowed, "allowed list from {from}");
                        let msg = StoreError::InvalidTransition {
                            from: f,
                            to: t,
                            allowed: a,
                        }
                        .to_string();
                        assert!(
                            msg.contains(&format!("`{from}`")) && msg.contains(&format!("`{to}`")),
                            "{msg}"
                        );
                    }
                    other => panic!("{from} → {to} should be refused, got {other:?}"),
                }
                assert_eq!(s.case_by_id(id).await.unwrap().unwrap().stage, from);
                assert_eq!(
                    s.case_events(id).await.unwrap().len(),
                    before,
                    "a refusal records nothing"
                );
            }
        }
    }
    let err = s
        .advance("NOSUCH123", Stage::Closed, Cause::Cli, None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)));
    assert!(
        !err.to_string().contains("NOSUCH123"),
        "travel document redacted: {err}"
    );
}

async fn follow_ups_are_threaded_and_enqueued(env: Env) {
    let s = &env.store;
    let p = approval(
        "HH3334445",
        "Nora Berg",
        "nora@example.se",
        "nora@example.se",
    );
    let id = ingest_file(s, "/1.eml", &p).await.case_id.unwrap();
    let instr = s.outbox_list(None).await.unwrap().remove(0);
    let a = s
        .advance("HH3334445", Stage::Applied, Cause::Cli, None)
        .await
        .unwrap();
    assert!(a.outbox_ids.is_empty());
    let c = s.case_by_id(id).await.unwrap().unwrap();
    assert!(
        c.next_due
            .is_some_and(|d| d > Utc::now() + Duration::days(13)),
        "{:?}",
        c.next_due
    );
    let a = s
        .advance("HH3334445", Stage::NidPending, Cause::Reminder, None)
        .await
        .unwrap();
    assert_eq!(a.outbox_ids.len(), 1);
    s.advance_by_id(id, Stage::Applied, Cause::Cli, Some("retried"))
        .await
        .unwrap();
    let a = s
        .advance("HH3334445", Stage::CardReady, Cause::Cli, None)
        .await
        .unwrap();
    assert_eq!(a.outbox_ids.len(), 1);
    let rows = s.outbox_list(None).await.unwrap();
    assert_eq!(rows.len(), 3);
    let card = rows
        .iter()
        .find(|r| r.kind == OutboxKind::CardReady)
        .unwrap();
    assert_eq!(card.in_reply_to.as_deref(), Some(instr.message_id.as_str()));
    assert_eq!(card.references.last(), Some(&instr.message_id));
    assert_eq!(card.original_to, instr.original_to);
    assert_ne!(card.message_id, instr.message_id);
    assert!(rows.iter().any(|r| r.kind == OutboxKind::NidPending));
}

async fn outbox_lifecycle(env: Env) {
    let s = &env.store;
    let p = approval(
        "JJ7778889",
        "Omar Haddad",
        "omar@example.jo",
        "omar@example.jo",
    );
    let r = ingest_file(s, "/1.eml", &p).await;
    let (id, case_id) = (r.outbox_ids[0], r.case_id.unwrap());
    let now = Utc::now();

    s.outbox_mark_retry(id, "421 try later", now + Duration::minutes(10), now)
        .await
        .unwrap();
    // A deferral (daily limit) is not an attempt and does not start retry_for.
    s.outbox_defer(id, "deferred", now + Duration::minutes(10))
        .await
        .unwrap();
    assert!(
        s.outbox_due(now, 10).await.unwrap().is_empty(),
        "not due before next_at"
    );
    let due = s.outbox_due(now + Duration::minutes(11), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].attempts, due[0].last_error.as_deref()),
        (1, Some("deferred"))
    );
    assert_eq!(
        due[0].failing_since.map(|t| t.timestamp()),
        Some(now.timestamp())
    );
    // The first failure stays the start of retry_for.
    s.outbox_mark_retry(id, "421 again", now, now + Duration::hours(1))
        .await
        .unwrap();
    let row = s.outbox_get(id).await.unwrap().unwrap();
    assert_eq!(row.attempts, 2);
    assert_eq!(
        row.failing_since.map(|t| t.timestamp()),
        Some(now.timestamp())
    );

    s.outbox_mark_sent(id, &["Omar@Example.jo".into()])
        .await
        .unwrap();
    let row = s.outbox_get(id).await.unwrap().unwrap();
    assert_eq!((row.status, row.attempts), (OutboxStatus::Sent, 3));
    assert!(row.sent_at.is_some());
    assert_eq!(row.sent_to, vec!["Omar@Example.jo"]);
    assert_eq!(
        s.sent_count_since("omar@example.jo", now - Duration::days(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.sent_count_since("omar@example.jo", Utc::now() + Duration::seconds(5))
            .await
            .unwrap(),
        0
    );
    assert!(
        s.outbox_requeue(id).await.is_err(),
        "a sent row is not requeued"
    );

    // A follow-up that cannot be delivered puts the case in review.
    let a = s
        .advance_by_id(case_id, Stage::Applied, Cause::Cli, None)
        .await
        .unwrap();
    assert!(a.outbox_ids.is_empty());
    let a = s
        .advance_by_id(case_id, Stage::CardReady, Cause::Cli, None)
        .await
        .unwrap();
    let card = a.outbox_ids[0];
    s.outbox_mark_failed(card, "550 no such user")
        .await
        .unwrap();
    let c = s.case_by_id(case_id).await.unwrap().unwrap();
    assert_eq!(c.stage, Stage::NeedsReview);
    let last = s.case_events(case_id).await.unwrap().pop().unwrap();
    assert_eq!(last.cause, Cause::Outbox);
    assert!(last.detail.unwrap().contains("550 no such user"));
    assert_eq!(
        s.outbox_list(Some(OutboxStatus::Failed))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.review_from(case_id).await.unwrap(),
        Some(Stage::CardReady)
    );

    s.outbox_requeue(card).await.unwrap();
    let row = s.outbox_get(card).await.unwrap().unwrap();
    assert_eq!(row.status, OutboxStatus::Pending);
    assert_eq!(
        s.outbox_due(Utc::now() + Duration::seconds(1), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let back = s
        .resolve_review("JJ7778889", Keep::Old, Some("address fixed"))
        .await
        .unwrap();
    assert_eq!(back.to, Stage::CardReady);
    assert!(s.outbox_mark_sent(999_999, &[]).await.is_err());
}

async fn checkpoints_and_skipped(env: Env) {
    let s = &env.store;
    assert_eq!(s.checkpoint("inbox").await.unwrap(), None);
    let p = other(Kind::Unrelated, Reason::NoNotification, "a@example.com");
    ingest_imap(s, "inbox", 5, 20, &p, false).await;
    assert_eq!(
        s.checkpoint("inbox").await.unwrap(),
        Some(Checkpoint {
            uidvalidity: 5,
            last_uid: 20
        })
    );
    // An older UID does not move the checkpoint back.
    let q = other(Kind::Unrelated, Reason::NoNotification, "b@example.com");
    ingest_imap(s, "inbox", 5, 3, &q, false).await;
    assert_eq!(s.checkpoint("inbox").await.unwrap().unwrap().last_uid, 20);
    s.record_skipped(
        &leje::store::Origin::Imap {
            mailbox: "inbox",
            uidvalidity: 5,
            uid: 21,
        },
        Some("big@x"),
        "over 25 MiB",
    )
    .await
    .unwrap();
    assert_eq!(s.checkpoint("inbox").await.unwrap().unwrap().last_uid, 21);
    let skipped = s.messages(Some(Outcome::Skipped), 10).await.unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].reason.as_deref(), Some("over 25 MiB"));
    assert!(s.already_processed(Some("big@x"), "").await.unwrap());
    // Without a Message-ID, a message is known by its content hash (the partial
    // index `processed_raw`), and only by that.
    let mut anon = other(Kind::Unrelated, Reason::NoNotification, "c@example.com");
    anon.message_id = None;
    ingest_imap(s, "inbox", 5, 22, &anon, false).await;
    let sha = crate::raw_hash(&anon, "");
    assert!(s.already_processed(None, &sha).await.unwrap());
    assert!(!s
        .already_processed(None, &crate::raw_hash(&q, ""))
        .await
        .unwrap());
    assert!(!s.already_processed(None, "0000").await.unwrap());
    s.set_checkpoint(
        "inbox",
        Checkpoint {
            uidvalidity: 9,
            last_uid: 0,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.checkpoint("inbox").await.unwrap(),
        Some(Checkpoint {
            uidvalidity: 9,
            last_uid: 0
        })
    );
    assert_eq!(s.checkpoint("other").await.unwrap(), None);
}
