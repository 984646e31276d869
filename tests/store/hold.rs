//! Held emails on both backends (issue 23): an untrusted message's email is
//! written `held`, records its verdict, cannot be requeued, goes out only when
//! released (the release is on the case's history), and carries only its own
//! message's waybills; the hourly counts see what was sent.

use leje::store::{Cause, Incoming, Origin, OutboxStatus, Stage, Store};
use leje::trust::Verdict;

use crate::{approval, both, raw_hash, waybill, Env};

async fn ingest(
    s: &Store,
    path: &str,
    p: &leje::parse::ParsedMessage,
    v: &Verdict,
) -> leje::store::Ingested {
    let raw = raw_hash(p, path);
    s.ingest(&Incoming {
        origin: Origin::File { path },
        raw_sha256: &raw,
        size: 100,
        parsed: p,
        forwarder_is_staff: false,
        trust: v,
    })
    .await
    .unwrap()
}

fn untrusted() -> Verdict {
    Verdict {
        forwarder_verified: false,
        original_verified: false,
        staff: false,
        trusted: false,
        reason: "held: sender not verified: no trusted verdict; original: inline forward".into(),
    }
}

async fn held_until_released(env: Env) {
    let s = &env.store;
    let p = approval(
        "HD1000001",
        "Hal Held",
        "x@evil.example",
        "victim@example.com",
    );
    let r = ingest(s, "/h1.eml", &p, &untrusted()).await;
    let id = r.outbox_ids[0];
    let row = s.outbox_get(id).await.unwrap().unwrap();
    assert_eq!(row.status, OutboxStatus::Held);
    assert!(!row.forwarder_verified && !row.original_verified);
    let case = s.case_by_id(r.case_id.unwrap()).await.unwrap().unwrap();
    assert!(
        case.contacts.is_empty(),
        "no contact from an unverified message"
    );
    let m = &s.case_messages(case.id).await.unwrap()[0];
    assert_eq!(
        (m.trusted, m.forwarder_verified),
        (Some(false), Some(false))
    );
    assert!(m.trust_reason.as_deref().unwrap().starts_with("held:"));
    assert!(s
        .outbox_due(chrono::Utc::now(), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s.outbox_requeue(id).await.is_err(), "requeue is no release");

    // A later trusted message for the case brings another slip: the held
    // email still carries only its own.
    let mut later = approval(
        "HD1000001",
        "Hal Held",
        "hal@example.com",
        "hal@example.com",
    );
    later.notified_at = Some("2021-12-24T09:14:00+01:00".into());
    later.waybills = vec![waybill("later")];
    ingest(s, "/h2.eml", &later, &Verdict::vouched("the test")).await;
    let w = s.outbox_waybills(&row).await.unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].sha256, p.waybills[0].sha256);

    s.outbox_release(id, "maria").await.unwrap();
    let row = s.outbox_get(id).await.unwrap().unwrap();
    assert_eq!(row.status, OutboxStatus::Pending);
    assert_eq!(row.released_by.as_deref(), Some("maria"));
    assert!(
        s.outbox_release(id, "maria").await.is_err(),
        "only a held email"
    );
    let ev = s.case_events(case.id).await.unwrap().pop().unwrap();
    assert_eq!(ev.cause, Cause::Cli);
    assert!(ev.detail.unwrap().contains("released by maria"));

    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    assert_eq!(s.sent_total_since(since).await.unwrap(), 0);
    s.outbox_mark_sent(id, &["victim@example.com".into()])
        .await
        .unwrap();
    assert_eq!(s.sent_total_since(since).await.unwrap(), 1);
    let by =
        |d: &'static str| async move { s.sent_for_forwarder_domain_since(d, since).await.unwrap() };
    assert_eq!(by("evil.example").await, 1);
    assert_eq!(by("example.com").await, 0);
}

/// Once a person released a case's instructions, the case's later emails (NID not
/// ready, card ready, reminders) reach the same addresses without another release;
/// before that they wait too.
async fn released_addresses_carry_to_later_emails(env: Env) {
    let s = &env.store;
    let p = approval(
        "HD1000002",
        "Rel Eased",
        "x@unverified.example",
        "rel@example.com",
    );
    let r = ingest(s, "/r1.eml", &p, &untrusted()).await;
    let id = r.outbox_ids[0];
    let case = r.case_id.unwrap();
    let nid_rows = || async move {
        let mut rows = s.outbox_list(None).await.unwrap();
        rows.retain(|o| o.case_id == case && o.kind == leje::store::OutboxKind::NidPending);
        rows.sort_by_key(|o| o.id);
        rows
    };
    for to in [Stage::Applied, Stage::NidPending] {
        s.advance_by_id(case, to, Cause::Cli, None).await.unwrap();
    }
    let first = nid_rows().await;
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].status,
        OutboxStatus::Held,
        "held like its instructions"
    );
    assert!(!first[0].forwarder_verified && !first[0].original_verified);

    s.outbox_release(id, "maria").await.unwrap();
    for to in [Stage::Applied, Stage::NidPending] {
        s.advance_by_id(case, to, Cause::Cli, None).await.unwrap();
    }
    let rows = nid_rows().await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let later = &rows[1];
    assert_eq!(later.status, OutboxStatus::Pending);
    assert!(
        later.forwarder_verified && later.original_verified,
        "a person vouched for these addresses: {later:?}"
    );
}

both! {
    held_until_released;
    released_addresses_carry_to_later_emails;
}
