//! The follow-up ledger (issue 20) on SQLite and PostgreSQL: reminders due
//! exactly once and then stalled, steps reported through links, pausing and
//! unsubscribing, replies / bounces / auto-replies / Directorate mail attached
//! to their case, two passes at once, and a pass that reads only what is due.

mod common;
#[path = "followup/common.rs"]
mod fc;

use chrono::Utc;
use leje::store::{Cause, MailKind, OutboxKind, Outcome, RemindState, Stage, StepOutcome};

use fc::{approval, days, ingest, ingest_raw, schedule, stage, Env};

both! {
    reminders_fall_due_once_per_interval_then_the_case_stalls;
    a_reported_step_moves_the_case_and_restarts_its_reminders;
    paused_and_unsubscribed_cases_get_no_reminders;
    a_reply_with_a_photo_is_attached_and_waits_for_staff;
    a_bounce_marks_the_address_and_sends_the_case_to_review;
    an_auto_reply_is_recorded_and_never_answered;
    directorate_mail_is_attached_and_moves_the_case_only_when_verified;
    two_concurrent_passes_remind_each_case_exactly_once;
    a_pass_reads_only_the_due_cases;
}

fn doc() -> String {
    format!("FU{:07}", fastrand::u32(..10_000_000))
}

async fn new_case(env: &Env) -> (i64, String) {
    let d = doc();
    let r = ingest(&env.store, &approval(&d, "maria@example.it")).await;
    assert_eq!(r.outcome, Outcome::CaseCreated, "{r:?}");
    (r.case_id.unwrap(), d)
}

async fn reminders_of(env: &Env, case: i64) -> Vec<leje::store::OutboxRow> {
    env.store
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.case_id == case && o.kind == OutboxKind::Reminder)
        .collect()
}

async fn reminders_fall_due_once_per_interval_then_the_case_stalls(env: Env) {
    let (case, _) = new_case(&env).await;
    let t0 = Utc::now();
    let s = schedule();
    // Nine days: nothing due.
    let b = env
        .store
        .remind_due(t0 + days(9), &s, 100, true)
        .await
        .unwrap();
    assert!(b.reminded.is_empty() && b.stalled.is_empty(), "{b:?}");
    // Ten days: one reminder, threaded under the instructions email.
    let t1 = t0 + days(10);
    let b = env.store.remind_due(t1, &s, 100, true).await.unwrap();
    assert_eq!(b.reminded.len(), 1, "{b:?}");
    assert_eq!(b.reminded[0].1, Stage::Approved);
    let rows = reminders_of(&env, case).await;
    assert_eq!(rows.len(), 1);
    let instructions = env
        .store
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.case_id == case && o.kind == OutboxKind::Instructions)
        .unwrap();
    assert_eq!(
        rows[0].in_reply_to.as_deref(),
        Some(instructions.message_id.as_str())
    );
    // The same instant again, and a day later: nothing more (the due date moved).
    for t in [t1, t1 + days(1)] {
        let b = env.store.remind_due(t, &s, 100, true).await.unwrap();
        assert!(b.reminded.is_empty(), "{b:?}");
    }
    let f = env.store.followup(case).await.unwrap().unwrap();
    assert_eq!((f.state, f.reminders_sent), (None, 1));
    // Second reminder ten days after the first; then the case stalls instead of a third.
    let b = env
        .store
        .remind_due(t1 + days(10), &s, 100, true)
        .await
        .unwrap();
    assert_eq!(b.reminded.len(), 1, "{b:?}");
    let b = env
        .store
        .remind_due(t1 + days(20), &s, 100, true)
        .await
        .unwrap();
    assert_eq!((b.reminded.len(), b.stalled.len()), (0, 1), "{b:?}");
    let f = env.store.followup(case).await.unwrap().unwrap();
    assert_eq!(f.state, Some(RemindState::Stalled));
    assert_eq!(reminders_of(&env, case).await.len(), 2);
    let b = env
        .store
        .remind_due(t1 + days(60), &s, 100, true)
        .await
        .unwrap();
    assert!(
        b.reminded.is_empty() && b.stalled.is_empty() && b.rows_read == 0,
        "{b:?}"
    );
    let events = env.store.case_events(case).await.unwrap();
    let reminder_events = events.iter().filter(|e| e.cause == Cause::Reminder).count();
    assert_eq!(reminder_events, 3, "{events:?}");
    // A stage change makes a stalled case active again.
    env.store
        .advance_by_id(case, Stage::FeePaid, Cause::Cli, None)
        .await
        .unwrap();
    let f = env.store.followup(case).await.unwrap().unwrap();
    assert_eq!((f.state, f.reminders_sent), (None, 0));
}

async fn a_reported_step_moves_the_case_and_restarts_its_reminders(env: Env) {
    let (case, _) = new_case(&env).await;
    let s = schedule();
    let t0 = Utc::now();
    let click = t0 + days(8);
    let r = env
        .store
        .report_step(case, Stage::FeePaid, "token-a", click)
        .await
        .unwrap();
    assert_eq!(
        r,
        StepOutcome::Recorded {
            from: Stage::Approved,
            to: Stage::FeePaid
        }
    );
    let events = env.store.case_events(case).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (last.cause, last.to_stage),
        (Cause::Applicant, Stage::FeePaid)
    );
    assert!(last.detail.as_deref().unwrap().contains("applicant"));
    // The reminder that was due at day 10 now counts from the click.
    let b = env
        .store
        .remind_due(t0 + days(11), &s, 100, true)
        .await
        .unwrap();
    assert!(b.reminded.is_empty(), "{b:?}");
    let b = env
        .store
        .remind_due(click + days(10), &s, 100, true)
        .await
        .unwrap();
    assert_eq!(b.reminded, vec![(case, Stage::FeePaid, b.reminded[0].2)]);
    // The same link again changes nothing; a step the case is past neither.
    let again = env
        .store
        .report_step(case, Stage::FeePaid, "token-a", click)
        .await
        .unwrap();
    assert_eq!(
        again,
        StepOutcome::AlreadyUsed {
            stage: Stage::FeePaid
        }
    );
    let past = env
        .store
        .report_step(case, Stage::AddressConfirmed, "token-b", click)
        .await
        .unwrap();
    assert_eq!(
        past,
        StepOutcome::Outdated {
            stage: Stage::FeePaid
        }
    );
    // "My ID number was not ready" from fee_paid: applied, then nid_pending (with its email).
    let nid = env
        .store
        .report_step(case, Stage::NidPending, "token-c", click)
        .await
        .unwrap();
    assert_eq!(
        nid,
        StepOutcome::Recorded {
            from: Stage::FeePaid,
            to: Stage::NidPending
        }
    );
    let kinds: Vec<OutboxKind> = env
        .store
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.case_id == case)
        .map(|o| o.kind)
        .collect();
    assert!(kinds.contains(&OutboxKind::NidPending), "{kinds:?}");
    let b = env
        .store
        .remind_due(click + days(7), &s, 100, true)
        .await
        .unwrap();
    assert_eq!(b.reminded.len(), 1, "nid_pending retry reminder: {b:?}");
    assert_eq!(b.reminded[0].1, Stage::NidPending);
}

async fn paused_and_unsubscribed_cases_get_no_reminders(env: Env) {
    let (a, doc_a) = new_case(&env).await;
    let (b, _) = new_case(&env).await;
    let s = schedule();
    let t0 = Utc::now();
    env.store
        .set_reminders(&doc_a, Some(RemindState::Paused), t0)
        .await
        .unwrap();
    env.store.unsubscribe(b, t0).await.unwrap();
    let r = env
        .store
        .remind_due(t0 + days(30), &s, 100, true)
        .await
        .unwrap();
    assert!(r.reminded.is_empty() && r.rows_read == 0, "{r:?}");
    assert_eq!(
        env.store.followup(b).await.unwrap().unwrap().state,
        Some(RemindState::Unsubscribed)
    );
    // Resumed: the wait starts again from the resumption.
    let resumed = t0 + days(30);
    env.store
        .set_reminders(&doc_a, None, resumed)
        .await
        .unwrap();
    let r = env
        .store
        .remind_due(resumed + days(9), &s, 100, true)
        .await
        .unwrap();
    assert!(r.reminded.is_empty(), "{r:?}");
    let r = env
        .store
        .remind_due(resumed + days(10), &s, 100, true)
        .await
        .unwrap();
    assert_eq!(r.reminded.len(), 1);
    assert_eq!(r.reminded[0].0, a);
    // A dry run changes nothing.
    let r = env
        .store
        .remind_due(resumed + days(40), &s, 100, false)
        .await
        .unwrap();
    assert_eq!(r.reminded.len(), 1);
    assert_eq!(reminders_of(&env, a).await.len(), 1);
}

/// The instructions email's Message-ID as the world saw it (under the sender's domain).
async fn sent_id(env: &Env, case: i64) -> String {
    let row = env
        .store
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.case_id == case && o.kind == OutboxKind::Instructions)
        .unwrap();
    let local = row.message_id.split('@').next().unwrap().to_string();
    format!("{local}@agency.example")
}

async fn a_reply_with_a_photo_is_attached_and_waits_for_staff(env: Env) {
    let (case, _) = new_case(&env).await;
    let id = sent_id(&env, case).await;
    let raw = format!(
        "From: Maria Rossi <maria@example.it>\r\nTo: permits@agency.example\r\n\
         Subject: Re: Your next steps\r\nMessage-ID: <reply-{case}@example.it>\r\n\
         In-Reply-To: <{id}>\r\nReferences: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
         I have paid, here is the receipt.\r\n--b\r\nContent-Type: image/jpeg; name=receipt.jpg\r\n\
         Content-Disposition: attachment; filename=receipt.jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         /9j/4AAQSkZJRgABAQ==\r\n--b--\r\n"
    );
    let r = ingest_raw(&env.store, raw.as_bytes()).await;
    assert_eq!(
        (r.outcome, r.case_id),
        (Outcome::CaseUpdated, Some(case)),
        "{r:?}"
    );
    assert!(
        r.outbox_ids.is_empty(),
        "a reply is never answered automatically"
    );
    let mail = env.store.case_mail(case).await.unwrap();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].kind, MailKind::Reply);
    assert_eq!(mail[0].files.len(), 1);
    assert_eq!(mail[0].files[0].filename.as_deref(), Some("receipt.jpg"));
    let data = env
        .store
        .waybill_data(&mail[0].files[0].sha256)
        .await
        .unwrap()
        .unwrap();
    assert!(data.starts_with(&[0xff, 0xd8, 0xff]), "the decoded JPEG");
    let waiting = env.store.waiting_mail().await.unwrap();
    assert_eq!(
        waiting.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![mail[0].id]
    );
    env.store
        .mark_answered(mail[0].id, Utc::now())
        .await
        .unwrap();
    assert!(env.store.waiting_mail().await.unwrap().is_empty());
    assert!(env
        .store
        .mark_answered(mail[0].id, Utc::now())
        .await
        .is_err());
    // A reply naming only the travel document in its subject finds the case too.
    let (case2, doc2) = new_case(&env).await;
    let raw = format!(
        "From: someone@example.org\r\nTo: permits@agency.example\r\nSubject: question about {doc2}\r\n\r\nHello\r\n"
    );
    let r = ingest_raw(&env.store, raw.as_bytes()).await;
    assert_eq!(r.case_id, Some(case2), "{r:?}");
    // Unrelated mail stays unrelated.
    let r = ingest_raw(
        &env.store,
        b"From: x@example.org\r\nSubject: hi\r\n\r\nnewsletter\r\n",
    )
    .await;
    assert_eq!((r.outcome, r.case_id), (Outcome::Ignored, None));
}

async fn a_bounce_marks_the_address_and_sends_the_case_to_review(env: Env) {
    let (case, _) = new_case(&env).await;
    let id = sent_id(&env, case).await;
    let raw = format!(
        "From: MAILER-DAEMON@mx.example\r\nTo: permits@agency.example\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n\
         --r\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--r\r\n\
         Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n\
         Final-Recipient: rfc822; maria@example.it\r\nAction: failed\r\n--r\r\n\
         Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{id}>\r\nX-Leje-Case: {case}\r\n--r--\r\n"
    );
    let before = env.store.outbox_list(None).await.unwrap().len();
    let r = ingest_raw(&env.store, raw.as_bytes()).await;
    assert_eq!(
        (r.outcome, r.case_id),
        (Outcome::CaseUpdated, Some(case)),
        "{r:?}"
    );
    assert_eq!(stage(&env.store, case).await, Stage::NeedsReview);
    assert!(env.store.is_bad_address("Maria@Example.it").await.unwrap());
    assert_eq!(env.store.outbox_list(None).await.unwrap().len(), before);
    let mail = env.store.case_mail(case).await.unwrap();
    assert_eq!(mail[0].kind, MailKind::Bounce);
    assert!(
        env.store.waiting_mail().await.unwrap().is_empty(),
        "a bounce is not a reply"
    );
}

async fn an_auto_reply_is_recorded_and_never_answered(env: Env) {
    let (case, _) = new_case(&env).await;
    let id = sent_id(&env, case).await;
    let raw = format!(
        "From: maria@example.it\r\nTo: permits@agency.example\r\nSubject: Out of office\r\n\
         Auto-Submitted: auto-replied\r\nIn-Reply-To: <{id}>\r\n\r\nI am away until Monday.\r\n"
    );
    let r = ingest_raw(&env.store, raw.as_bytes()).await;
    assert_eq!(
        (r.outcome, r.case_id),
        (Outcome::Ignored, Some(case)),
        "{r:?}"
    );
    assert!(r.outbox_ids.is_empty());
    assert_eq!(stage(&env.store, case).await, Stage::Approved);
    let mail = env.store.case_mail(case).await.unwrap();
    assert_eq!(mail[0].kind, MailKind::AutoReply);
    assert!(env.store.waiting_mail().await.unwrap().is_empty());
}

async fn directorate_mail_is_attached_and_moves_the_case_only_when_verified(env: Env) {
    let (case, doc) = new_case(&env).await;
    env.store
        .advance_by_id(case, Stage::Applied, Cause::Cli, None)
        .await
        .unwrap();
    let body = format!("Karta eshte gati per leternjoftimin {doc}. Ju mund ta terhiqni.");
    // Claims to be the Directorate, unverified: attached for staff, nothing moves.
    let forged = format!(
        "From: DVKM Tirane <dvkm.tirane@asp.gov.al>\r\nTo: permits@agency.example\r\n\
         Subject: Karta biometrike\r\n\r\n{body}\r\n"
    );
    let r = ingest_raw(&env.store, forged.as_bytes()).await;
    assert_eq!(r.case_id, Some(case), "{r:?}");
    assert_eq!(stage(&env.store, case).await, Stage::Applied);
    // The receiving server verified DKIM for the office's domain: card_ready, and its email.
    let verified = format!(
        "Authentication-Results: mx.agency.example; dkim=pass header.d=asp.gov.al header.s=s1\r\n\
         From: DVKM Tirane <dvkm.tirane@asp.gov.al>\r\nTo: permits@agency.example\r\n\
         Subject: Karta biometrike\r\nMessage-ID: <v-{case}@asp.gov.al>\r\n\r\n{body}\r\n"
    );
    let r = ingest_raw(&env.store, verified.as_bytes()).await;
    assert_eq!(
        (r.outcome, r.case_id),
        (Outcome::CaseUpdated, Some(case)),
        "{r:?}"
    );
    assert_eq!(stage(&env.store, case).await, Stage::CardReady);
    let card_ready = env
        .store
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.case_id == case && o.kind == OutboxKind::CardReady)
        .count();
    assert_eq!(card_ready, 1);
    let mail = env.store.case_mail(case).await.unwrap();
    assert_eq!(mail.len(), 2);
    assert!(mail.iter().all(|m| m.kind == MailKind::Directorate));
}

async fn two_concurrent_passes_remind_each_case_exactly_once(env: Env) {
    const N: usize = 120;
    let msgs: Vec<_> = (0..N)
        .map(|i| approval(&format!("CC{i:07}"), "c@example.org"))
        .collect();
    for p in &msgs {
        ingest(&env.store, p).await;
    }
    let other = env.second().await;
    let s = schedule();
    let now = Utc::now() + days(10);
    // Small batches, so the two interleave transaction by transaction.
    let f = leje::config::followup::FollowupSettings {
        window: (0, 24 * 60),
        ..Default::default()
    };
    let (a, b) = tokio::join!(
        async {
            let mut all = Vec::new();
            loop {
                let r = env.store.remind_due(now, &s, 7, true).await.unwrap();
                if r.reminded.is_empty() {
                    break all;
                }
                all.extend(r.reminded);
            }
        },
        leje::followup::run_pass(&other, &f, now, true)
    );
    let b = b.unwrap().reminded;
    let mut cases: Vec<i64> = a.iter().chain(&b).map(|r| r.0).collect();
    let total = cases.len();
    cases.sort();
    cases.dedup();
    assert_eq!(
        (total, cases.len()),
        (N, N),
        "a: {}, b: {}",
        a.len(),
        b.len()
    );
    let rows = env
        .store
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == OutboxKind::Reminder)
        .count();
    assert_eq!(rows, N);
}

async fn a_pass_reads_only_the_due_cases(env: Env) {
    for i in 0..150 {
        ingest(&env.store, &approval(&format!("RD{i:07}"), "r@example.org")).await;
    }
    env.age_cases("travel_document IN ('RD0000003', 'RD0000077')", 11)
        .await;
    let b = env
        .store
        .remind_due(Utc::now(), &schedule(), 100, true)
        .await
        .unwrap();
    assert_eq!(b.reminded.len(), 2, "{b:?}");
    assert_eq!(b.rows_read, 2, "the pass reads the due rows only");
    if env.backend == fc::Backend::Sqlite {
        let pool = sqlx::SqlitePool::connect(&env.url).await.unwrap();
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "EXPLAIN QUERY PLAN SELECT id, reminders_sent FROM cases WHERE stage = 'approved' \
             AND remind_state IS NULL AND COALESCE(remind_from, created_at) <= '2030-01-01' \
             ORDER BY COALESCE(remind_from, created_at) LIMIT 10",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let plan: Vec<String> = plan.into_iter().map(|r| r.3).collect();
        assert!(
            plan.iter().any(|p| p.contains("cases_remind_due")),
            "{plan:?}"
        );
        pool.close().await;
    }
}

/// A reply in the middle of a batch (the daemon commits groups of messages) is
/// attached like one on its own, not taken by the batch's bulk path as unrelated.
#[tokio::test]
async fn a_reply_inside_a_batch_is_attached() {
    let env = fc::env(fc::Backend::Sqlite).await.unwrap();
    let (case, _) = new_case(&env).await;
    let id = sent_id(&env, case).await;
    let raws = [
        b"From: a@example.org\r\nSubject: newsletter\r\n\r\nhello\r\n".to_vec(),
        format!(
            "From: maria@example.it\r\nSubject: Re: steps\r\nMessage-ID: <b-{case}@example.it>\r\n\
             In-Reply-To: <{id}>\r\n\r\nI have a question.\r\n"
        )
        .into_bytes(),
        b"From: b@example.org\r\nSubject: offer\r\n\r\nbuy\r\n".to_vec(),
    ];
    let parsed: Vec<_> = raws.iter().map(|r| leje::parse::parse(r)).collect();
    let paths: Vec<String> = (0..3).map(|i| format!("/batch/{case}/{i}")).collect();
    let vouched = leje::trust::Verdict::vouched("the tests");
    let batch: Vec<leje::store::Incoming<'_>> = (0..3)
        .map(|i| leje::store::Incoming {
            origin: leje::store::Origin::File { path: &paths[i] },
            raw_sha256: "x",
            size: 10,
            parsed: &parsed[i],
            forwarder_is_staff: false,
            trust: &vouched,
        })
        .collect();
    let out = env.store.ingest_batch(&batch).await.unwrap();
    let outcomes: Vec<_> = out.iter().map(|r| (r.outcome, r.case_id)).collect();
    assert_eq!(
        outcomes,
        vec![
            (Outcome::Ignored, None),
            (Outcome::CaseUpdated, Some(case)),
            (Outcome::Ignored, None)
        ]
    );
    assert_eq!(env.store.waiting_mail().await.unwrap().len(), 1);
}

/// A delay longer than the calendar (a typo of the operator's) makes nothing due
/// and never overflows the date arithmetic.
#[tokio::test]
async fn an_absurd_delay_makes_nothing_due() {
    let env = fc::env(fc::Backend::Sqlite).await.unwrap();
    new_case(&env).await;
    let f = leje::config::followup::FollowupSettings {
        after: vec![(
            Stage::Approved,
            std::time::Duration::from_secs(u64::MAX / 4),
        )],
        window: (0, 24 * 60),
        ..Default::default()
    };
    let r = leje::followup::run_pass(&env.store, &f, Utc::now() + days(400), true)
        .await
        .unwrap();
    assert!(r.reminded.is_empty() && r.rows_read == 0, "{r:?}");
}
