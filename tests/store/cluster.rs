//! Several instances on one store (issue 24): fencing tokens refuse commits made
//! under a lost lease; the outbox is claimed row by row, never by two live
//! senders at once; a sender taken for dead loses its claims; job leases.

use std::collections::HashSet;
use std::time::Duration;

use leje::store::{claim_token, Checkpoint, Fence, Incoming, Origin, OutboxStatus, StoreError};

/// These messages are vouched for: trust has its own tests (tests/trust.rs).
static VOUCHED: std::sync::LazyLock<leje::trust::Verdict> =
    std::sync::LazyLock::new(|| leje::trust::Verdict::vouched("the tests"));

use crate::{approval, both, raw_hash, Env};

const SHORT: Duration = Duration::from_millis(400);
const LONG: Duration = Duration::from_secs(30);

async fn processed(env: &Env) -> usize {
    env.store.messages(None, 1000).await.unwrap().len()
}

async fn fenced_commits_need_the_live_lease(env: Env) {
    let s = &env.store;
    let g1 = s.take_lease("inbox", "a~1", SHORT).await.unwrap().unwrap();
    assert_eq!(
        s.take_lease("inbox", "a~1", SHORT).await.unwrap(),
        Some(g1),
        "renewal keeps the generation"
    );
    assert_eq!(s.take_lease("inbox", "b~2", LONG).await.unwrap(), None);
    let fence_a = Fence {
        name: "inbox".into(),
        holder: "a~1".into(),
        generation: g1,
    };
    let p = approval("AB1234567", "Ana", "staff@agency.al", "ana@example.com");
    let raw = raw_hash(&p, "1");
    let msg = |uid| Incoming {
        origin: Origin::Imap {
            mailbox: "inbox",
            uidvalidity: 7,
            uid,
        },
        raw_sha256: &raw,
        size: 10,
        parsed: &p,
        forwarder_is_staff: false,
        trust: &VOUCHED,
    };
    s.ingest_batch_fenced(&[msg(1)], Some(&fence_a))
        .await
        .unwrap();
    assert_eq!(processed(&env).await, 1);

    // A stalls past its lease; B takes over: a new generation.
    tokio::time::sleep(SHORT + Duration::from_millis(200)).await;
    let g2 = s.take_lease("inbox", "b~2", LONG).await.unwrap().unwrap();
    assert!(g2 > g1, "a takeover grows the generation ({g1} -> {g2})");
    let p2 = approval("CD7654321", "Ben", "staff@agency.al", "ben@example.com");
    let raw2 = raw_hash(&p2, "2");
    let late = Incoming {
        origin: Origin::Imap {
            mailbox: "inbox",
            uidvalidity: 7,
            uid: 2,
        },
        raw_sha256: &raw2,
        size: 10,
        parsed: &p2,
        forwarder_is_staff: false,
        trust: &VOUCHED,
    };
    let err = s
        .ingest_batch_fenced(&[late], Some(&fence_a))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err}");
    let cp = Checkpoint {
        uidvalidity: 7,
        last_uid: 99,
    };
    let err = s
        .set_checkpoint_fenced("inbox", cp, Some(&fence_a))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err}");
    assert_eq!(
        processed(&env).await,
        1,
        "the stale holder committed nothing"
    );
    assert_eq!(s.checkpoint("inbox").await.unwrap().unwrap().last_uid, 1);
    assert!(s.case_by_document("CD7654321").await.unwrap().is_none());

    // Even with nobody taking over, an expired lease fences its holder out, and
    // coming back to it is a new generation.
    let fence_b = Fence {
        name: "inbox".into(),
        holder: "b~2".into(),
        generation: g2,
    };
    s.set_checkpoint_fenced(
        "inbox",
        Checkpoint {
            uidvalidity: 7,
            last_uid: 1,
        },
        Some(&fence_b),
    )
    .await
    .unwrap();
    s.release_lease("inbox", "b~2").await.unwrap();
    assert_eq!(
        s.lease_holder("inbox").await.unwrap(),
        None,
        "released = free at once"
    );
    let err = s
        .set_checkpoint_fenced("inbox", cp, Some(&fence_b))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err}");
    let g3 = s.take_lease("inbox", "b~2", LONG).await.unwrap().unwrap();
    assert!(
        g3 > g2,
        "a released lease is never handed back with its old generation"
    );
    let (leases, _) = s.cluster_status().await.unwrap();
    let l = leases.iter().find(|l| l.name == "inbox").unwrap();
    assert!(l.live && l.holder == "b~2" && l.generation == g3);
}

/// `n` applicants, each with one pending instructions email.
async fn queue(env: &Env, n: usize) -> Vec<i64> {
    for i in 0..n {
        let doc = format!("ZX{i:07}");
        let p = approval(
            &doc,
            "Name",
            "staff@agency.al",
            &format!("a{i}@example.com"),
        );
        crate::ingest_file(&env.store, &format!("/m/{i}.eml"), &p).await;
    }
    let ids: Vec<i64> = env
        .store
        .outbox_list(Some(OutboxStatus::Pending))
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids.len(), n);
    ids
}

async fn outbox_claims_never_overlap(env: Env) {
    let ids = queue(&env, 24).await;
    let now = chrono::Utc::now() + chrono::Duration::hours(1);
    let mut tasks = Vec::new();
    for k in 0..4 {
        let s = env.store.clone();
        tasks.push(tokio::spawn(async move {
            let holder = format!("sender~{k}");
            let mut mine = Vec::new();
            loop {
                let epoch = s.instance_beat(&holder, LONG).await.unwrap();
                let token = claim_token(&holder, epoch);
                let Some(row) = s.outbox_claim_next(now, &token).await.unwrap() else {
                    break;
                };
                assert!(s.outbox_claim_held(row.id, &token).await.unwrap());
                s.outbox_mark_sent(row.id, &["x@example.com".into()])
                    .await
                    .unwrap();
                mine.push(row.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        ids.len(),
        "each row claimed exactly once: {all:?}"
    );
    assert_eq!(distinct, ids.into_iter().collect());
}

async fn claims_of_a_process_taken_for_dead_are_void(env: Env) {
    let ids = queue(&env, 1).await;
    let now = chrono::Utc::now();
    let ea = env.store.instance_beat("a~1", SHORT).await.unwrap();
    let ta = claim_token("a~1", ea);
    let row = env
        .store
        .outbox_claim_next(now, &ta)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.id, ids[0]);
    let eb = env.store.instance_beat("b~2", LONG).await.unwrap();
    let tb = claim_token("b~2", eb);
    assert!(
        env.store
            .outbox_claim_next(now, &tb)
            .await
            .unwrap()
            .is_none(),
        "claimed by a live sender"
    );
    assert_eq!(env.store.live_instances().await.unwrap(), 2);
    // A is stopped past its instance lease: B may take the row, A may not send it.
    tokio::time::sleep(SHORT + Duration::from_millis(200)).await;
    assert_eq!(env.store.live_instances().await.unwrap(), 1);
    let again = env
        .store
        .outbox_claim_next(now, &tb)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, row.id);
    assert!(!env.store.outbox_claim_held(row.id, &ta).await.unwrap());
    // A comes back: a new epoch, and its old claim stays void.
    let ea2 = env.store.instance_beat("a~1", LONG).await.unwrap();
    assert_eq!(ea2, ea + 1);
    assert!(!env.store.outbox_claim_held(row.id, &ta).await.unwrap());
    assert!(env.store.outbox_claim_held(row.id, &tb).await.unwrap());
    env.store.instance_leave("a~1").await.unwrap();
    assert_eq!(env.store.live_instances().await.unwrap(), 1);
}

async fn a_job_runs_on_one_instance(env: Env) {
    let s = &env.store;
    assert!(s.with_job_lease("followup", "a~1", LONG).await.unwrap());
    assert!(!s.with_job_lease("followup", "b~2", LONG).await.unwrap());
    assert!(
        s.with_job_lease("followup", "a~1", LONG).await.unwrap(),
        "the holder keeps it"
    );
    assert!(s.with_job_lease("other", "b~2", LONG).await.unwrap());
    s.release_lease("@job:followup", "a~1").await.unwrap();
    assert!(s.with_job_lease("followup", "b~2", LONG).await.unwrap());
}

both! {
    fenced_commits_need_the_live_lease;
    outbox_claims_never_overlap;
    claims_of_a_process_taken_for_dead_are_void;
    a_job_runs_on_one_instance;
}
