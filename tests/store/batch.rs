//! Several messages in one transaction, and after-processing actions that
//! survive a restart, against both backends.

use leje::parse::{Kind, ParsedMessage, Reason};
use leje::store::{CaseFilter, Checkpoint, Incoming, Ingested, Origin, Outcome, Store};

use crate::{approval, both, ingest_imap, other, raw_hash, Env};

/// The messages of these tests are vouched for: trust has its own tests (tests/trust.rs).
static VOUCHED: std::sync::LazyLock<leje::trust::Verdict> =
    std::sync::LazyLock::new(|| leje::trust::Verdict::vouched("the tests"));

both! {
    a_batch_is_one_transaction_in_order;
    bulk_and_per_message_paths_agree;
    pending_actions_until_done;
}

async fn a_batch_is_one_transaction_in_order(env: Env) {
    let s = &env.store;
    let a = approval(
        "AB1234567",
        "Maria Rossi",
        "agency@relocate.example",
        "maria@example.it",
    );
    let noise = other(Kind::Unrelated, Reason::NoNotification, "x@example.com");
    // The same approval again, forwarded by someone else: a duplicate notification
    // inside the same batch must see the first one's rows.
    let mut again = a.clone();
    again.message_id = Some("again@mail.example".into());
    again.forwarded_by = Some("maria@example.it".into());
    let msgs = [&a, &noise, &again];
    let raws: Vec<String> = msgs.iter().map(|p| raw_hash(p, "b")).collect();
    let incoming: Vec<Incoming<'_>> = msgs
        .iter()
        .zip(&raws)
        .enumerate()
        .map(|(i, (p, raw))| Incoming {
            origin: Origin::Imap {
                mailbox: "inbox",
                uidvalidity: 9,
                uid: 10 + i as u32,
            },
            raw_sha256: raw,
            size: 100,
            parsed: p,
            forwarder_is_staff: false,
            trust: &VOUCHED,
        })
        .collect();
    let r = s.ingest_batch(&incoming).await.expect("batch");
    let outcomes: Vec<Outcome> = r.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::CaseCreated, Outcome::Ignored, Outcome::Duplicate]
    );
    assert_eq!(
        r[2].case_id, r[0].case_id,
        "the duplicate points at the case"
    );
    assert_eq!(
        s.checkpoint("inbox").await.unwrap(),
        Some(Checkpoint {
            uidvalidity: 9,
            last_uid: 12
        })
    );
    assert_eq!(s.outbox_list(None).await.unwrap().len(), 1);
    // Its waybill was written and is readable.
    let w = s.case_waybills(r[0].case_id.unwrap()).await.unwrap();
    assert_eq!(
        s.waybill_data(&w[0].sha256).await.unwrap().as_deref(),
        Some(a.waybills[0].data.as_slice())
    );
    // Again: the same origins change nothing.
    let r = s.ingest_batch(&incoming).await.expect("batch again");
    assert!(r.iter().all(|r| r.outcome == Outcome::Duplicate), "{r:?}");
    assert_eq!(s.outbox_list(None).await.unwrap().len(), 1);
}

async fn pending_actions_until_done(env: Env) {
    let s = &env.store;
    let a = approval(
        "EF1122334",
        "Ana Silva",
        "agency@relocate.example",
        "ana@example.pt",
    );
    let noise = other(Kind::AutoReply, Reason::AutoSubmitted, "bot@example.com");
    ingest_imap(s, "inbox", 7, 3, &a, false).await;
    ingest_imap(s, "inbox", 7, 4, &noise, false).await;
    s.record_skipped(
        &Origin::Imap {
            mailbox: "inbox",
            uidvalidity: 7,
            uid: 5,
        },
        None,
        "too big",
    )
    .await
    .unwrap();
    // A file import has nothing to move.
    crate::ingest_file(
        s,
        "/in/x.eml",
        &other(Kind::Empty, Reason::EmptyBody, "y@example.com"),
    )
    .await;
    assert_eq!(
        s.pending_actions("inbox", 7).await.unwrap(),
        [
            (3, Outcome::CaseCreated),
            (4, Outcome::Ignored),
            (5, Outcome::Skipped)
        ]
    );
    assert!(s.pending_actions("other", 7).await.unwrap().is_empty());
    s.actions_done("inbox", 7, &[3, 5]).await.unwrap();
    assert_eq!(
        s.pending_actions("inbox", 7).await.unwrap(),
        [(4, Outcome::Ignored)]
    );
    // Same UIDVALIDITY: nothing is stale.
    assert_eq!(s.drop_stale_actions("inbox", 7).await.unwrap(), 0);
    // The folder was recreated: the old UIDs mean nothing now.
    assert_eq!(s.drop_stale_actions("inbox", 8).await.unwrap(), 1);
    assert!(s.pending_actions("inbox", 7).await.unwrap().is_empty());
}

/// A batch that mixes every path a message can take: new cases (bulk), repeats of
/// origin, notification and travel document inside the batch and against the
/// store, conflicts, rejections, non-notifications, two copies of one waybill, and
/// file origins. Written once with the bulk path and once without, the two stores
/// must hold the same thing, and the batch must give the same results.
async fn bulk_and_per_message_paths_agree(env: Env) {
    let other_env = crate::env(env.backend).await.expect("second store");
    let (bulk, per_message) = (&env.store, &other_env.store);
    per_message.set_bulk_ingest(false);

    let a = approval(
        "AA1000001",
        "Maria Rossi",
        "agency@relocate.example",
        "maria@example.it",
    );
    let mut a_again = a.clone();
    a_again.message_id = Some("a-again@mail.example".into());
    a_again.forwarded_by = Some("maria@example.it".into());
    let mut a_renamed = a.clone();
    a_renamed.name = Some("Mario Rossi".into());
    a_renamed.message_id = Some("a-renamed@mail.example".into());
    let b = approval(
        "BB2000002",
        "Jan Kowalski",
        "staff@relocate.example",
        "jan@example.pl",
    );
    let mut b_rejected = b.clone();
    b_rejected.kind = Kind::PermitRejected;
    b_rejected.waybills.clear();
    b_rejected.message_id = Some("b-rejected@mail.example".into());
    let mut c = approval("CC3000003", "Ana Silva", "ana@example.pt", "ana@example.pt");
    c.kind = Kind::PermitRejected;
    c.waybills.clear();
    let mut d = approval(
        "DD4000004",
        "Li Wei",
        "agency@relocate.example",
        "li@example.cn",
    );
    d.waybills.push(d.waybills[0].clone());
    let known = approval(
        "EE5000005",
        "Eva Berg",
        "agency@relocate.example",
        "eva@example.se",
    );
    let mut known_more = known.clone();
    known_more.message_id = Some("known-more@mail.example".into());
    known_more.waybills = vec![crate::waybill("second")];
    known_more.directorate = None; // a new notification hash, and nothing conflicts
    let mut incomplete = approval("X", "Nobody", "x@example.com", "x@example.com");
    incomplete.kind = Kind::IncompleteNotification;
    incomplete.travel_document = None;
    let malformed = other(Kind::Malformed, Reason::Malformed, "m@example.com");
    let noise = other(Kind::Unrelated, Reason::NoNotification, "n@example.com");
    let auto = other(Kind::AutoReply, Reason::AutoSubmitted, "bot@example.com");
    let f = approval(
        "FF6000006",
        "Olga Ivanova",
        "agency@relocate.example",
        "olga@example.ru",
    );

    // (message, IMAP UID or file path, forwarder is staff)
    let plan: Vec<(&ParsedMessage, Result<u32, &str>, bool)> = vec![
        (&known, Ok(5), false), // processed before this batch
        (&a, Ok(10), false),
        (&noise, Ok(11), false),
        (&b, Ok(12), true),
        (&a_again, Ok(13), false),
        (&c, Ok(14), false),
        (&a_renamed, Ok(15), false),
        (&malformed, Ok(16), false),
        (&incomplete, Ok(17), false),
        (&d, Ok(18), false),
        (&a, Ok(10), false), // the same origin twice in one batch
        (&known_more, Ok(19), false),
        (&b_rejected, Ok(20), true),
        (&auto, Ok(21), false),
        (&f, Err("/import/f.eml"), false),
        (&noise, Err("/import/noise.eml"), false),
    ];
    let mut results = Vec::new();
    for store in [bulk, per_message] {
        crate::ingest_imap(store, "inbox", 9, 5, &known, false).await;
        let raws: Vec<String> = plan
            .iter()
            .map(|(p, o, _)| raw_hash(p, &format!("{o:?}")))
            .collect();
        let incoming: Vec<Incoming<'_>> = plan
            .iter()
            .zip(&raws)
            .map(|((p, o, staff), raw)| Incoming {
                origin: match o {
                    Ok(uid) => Origin::Imap {
                        mailbox: "inbox",
                        uidvalidity: 9,
                        uid: *uid,
                    },
                    Err(path) => Origin::File { path },
                },
                raw_sha256: raw,
                size: 100,
                parsed: p,
                forwarder_is_staff: *staff,
                trust: &VOUCHED,
            })
            .collect();
        let r = store.ingest_batch(&incoming).await.expect("batch");
        results.push((describe_results(store, &r).await, dump(store).await));
    }
    let (with_bulk, without) = (&results[0], &results[1]);
    assert_eq!(with_bulk.0, without.0, "results of the batch");
    assert_eq!(with_bulk.1, without.1, "what the store holds");
    // The comparison is not vacuous: new cases were created in the batch, with
    // waybills and instructions, and the repeats were recognised.
    let outcomes: Vec<&str> = with_bulk
        .0
        .iter()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "duplicate",
            "case_created",
            "ignored",
            "case_created",
            "duplicate",
            "case_created",
            "needs_review",
            "failed",
            "needs_review",
            "case_created",
            "duplicate",
            "case_updated",
            "case_updated",
            "ignored",
            "case_created",
            "ignored"
        ],
        "{:#?}",
        with_bulk.0
    );
    assert!(
        with_bulk.1.contains("waybill mandat-DD4000004.pdf"),
        "{}",
        with_bulk.1
    );
    assert_eq!(
        bulk.checkpoint("inbox").await.unwrap(),
        Some(Checkpoint {
            uidvalidity: 9,
            last_uid: 21
        })
    );
}

/// Each result as `outcome case-document outbox-count`.
async fn describe_results(store: &Store, r: &[Ingested]) -> Vec<String> {
    let mut out = Vec::new();
    for i in r {
        let doc = match i.case_id {
            Some(id) => store.case_by_id(id).await.unwrap().unwrap().travel_document,
            None => "-".into(),
        };
        out.push(format!("{} {doc} {}", i.outcome, i.outbox_ids.len()));
    }
    out
}

/// Everything a store holds about its cases and messages, without ids and times.
async fn dump(store: &Store) -> String {
    let mut out = Vec::new();
    let mut docs = std::collections::HashMap::new();
    let mut cases = store.cases(CaseFilter::default()).await.unwrap();
    cases.sort_by(|a, b| a.travel_document.cmp(&b.travel_document));
    for c in &cases {
        docs.insert(c.id, c.travel_document.clone());
        out.push(format!(
            "case {} {:?} {:?} {:?} {:?} {:?} {} {:?}",
            c.travel_document,
            c.name,
            c.nationality,
            c.directorate,
            c.contacts,
            c.language,
            c.stage,
            c.next_due
        ));
        for e in store.case_events(c.id).await.unwrap() {
            out.push(format!(
                "  event {:?} -> {} {} {:?}",
                e.from_stage, e.to_stage, e.cause, e.detail
            ));
        }
        for w in store.case_waybills(c.id).await.unwrap() {
            let name = w.filename.clone().unwrap_or_default();
            out.push(format!(
                "  waybill {name} {} {} {} {:?} readable={}",
                w.content_type,
                w.sha256,
                w.size,
                w.amount_lek,
                store
                    .waybill_data(&w.sha256)
                    .await
                    .unwrap()
                    .is_some_and(|d| d.len() as u64 == w.size)
            ));
        }
        for k in store.case_conflicts(c.id, false).await.unwrap() {
            out.push(format!(
                "  conflict {} {:?} -> {:?}",
                k.field, k.old_value, k.new_value
            ));
        }
    }
    let doc = |id: Option<i64>| id.map_or("-".to_string(), |id| docs[&id].clone());
    let mut msgs: Vec<String> = store
        .messages(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|m| {
            format!(
                "message {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {:?} {} {:?}",
                m.origin,
                m.mailbox,
                m.uidvalidity,
                m.uid,
                m.path,
                m.message_id,
                m.raw_sha256,
                m.notification_hash,
                m.size,
                m.kind,
                m.outcome,
                m.reason
            ) + &format!(" case={}", doc(m.case_id))
        })
        .collect();
    msgs.sort();
    out.extend(msgs);
    let mut outbox: Vec<String> = store
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| {
            format!(
                "outbox {} {} {:?} {:?} {:?} {} {:?} {} {}",
                doc(Some(o.case_id)),
                o.kind,
                o.in_reply_to,
                o.references,
                o.forwarded_by,
                o.forwarder_is_staff,
                o.original_to,
                o.status,
                o.attempts
            )
        })
        .collect();
    outbox.sort();
    out.extend(outbox);
    out.push(format!(
        "pending {:?}",
        store.pending_actions("inbox", 9).await.unwrap()
    ));
    out.join("\n")
}
