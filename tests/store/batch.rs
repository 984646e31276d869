//! Several messages in one transaction, and after-processing actions that
//! survive a restart, against both backends.

use leje::parse::{Kind, Reason};
use leje::store::{Checkpoint, Incoming, Origin, Outcome};

use crate::{approval, both, ingest_imap, other, raw_hash, Env};

both! {
    a_batch_is_one_transaction_in_order;
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
    assert_eq!(std::fs::read(&w[0].path).unwrap(), a.waybills[0].data);
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
