//! Concurrent writers: two OS processes ingesting overlapping notifications
//! into one store, and mailbox leases between two independent store handles.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use leje::store::{Outcome, Store};

use crate::{approval, both, env, ingest_imap, Backend, Env};

both! {
    only_one_holder_per_mailbox;
}

/// How many notifications each child ingests; the two children overlap fully.
const DOCS: u32 = 60;

/// Not a test on its own: the body of a child process spawned by
/// `two_processes_*`. Ingests `DOCS` approvals (the same notifications in both
/// children, from different mailboxes) and prints its outcome counts.
#[test]
fn child_writer() {
    let (Ok(url), Ok(state), Ok(tag)) = (
        std::env::var("LEJE_STORE_CHILD_URL"),
        std::env::var("LEJE_STORE_CHILD_STATE"),
        std::env::var("LEJE_STORE_CHILD_TAG"),
    ) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(&url, std::path::Path::new(&state))
            .await
            .expect("child open");
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for i in 0..DOCS {
            let doc = format!("CW{i:06}");
            let p = approval(
                &doc,
                "Con Current",
                &format!("{tag}@example.com"),
                "cc@example.com",
            );
            let r = ingest_imap(&store, &format!("box-{tag}"), 1, i + 1, &p, true).await;
            *counts.entry(r.outcome.as_str().to_owned()).or_default() += 1;
        }
        println!("CHILD-COUNTS {}", serde_json::to_string(&counts).unwrap());
    });
}

fn spawn_child(url: &str, state: &std::path::Path, tag: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "concurrency::child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LEJE_STORE_CHILD_URL", url)
        .env("LEJE_STORE_CHILD_STATE", state)
        .env("LEJE_STORE_CHILD_TAG", tag)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn child")
}

fn child_counts(child: std::process::Child) -> BTreeMap<String, u32> {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("CHILD-COUNTS ").map(|(_, r)| r))
        .unwrap_or_else(|| panic!("child printed no counts:\n{stdout}"));
    serde_json::from_str(line).unwrap()
}

async fn two_processes(backend: Backend) {
    let Some(env) = env(backend).await else {
        return;
    };
    let (a, b) = (
        spawn_child(&env.url, env.state.path(), "a"),
        spawn_child(&env.url, env.state.path(), "b"),
    );
    let (ca, cb) = (child_counts(a), child_counts(b));
    let created =
        ca.get("case_created").copied().unwrap_or(0) + cb.get("case_created").copied().unwrap_or(0);
    let dup = ca.get("duplicate").copied().unwrap_or(0) + cb.get("duplicate").copied().unwrap_or(0);
    assert_eq!((created, dup), (DOCS, DOCS), "a: {ca:?}, b: {cb:?}");
    let s = &env.store;
    assert_eq!(
        s.cases(Default::default()).await.unwrap().len(),
        DOCS as usize
    );
    assert_eq!(s.outbox_list(None).await.unwrap().len(), DOCS as usize);
    let msgs = s.messages(None, 1000).await.unwrap();
    assert_eq!(msgs.len(), 2 * DOCS as usize);
    assert_eq!(
        msgs.iter()
            .filter(|m| m.outcome == Outcome::CaseCreated)
            .count(),
        DOCS as usize
    );
    for tag in ["a", "b"] {
        let cp = s.checkpoint(&format!("box-{tag}")).await.unwrap().unwrap();
        assert_eq!(cp.last_uid, DOCS);
    }
}

#[tokio::test]
async fn two_processes_on_one_sqlite_file() {
    two_processes(Backend::Sqlite).await;
}

#[tokio::test]
async fn two_processes_on_one_postgres_database() {
    two_processes(Backend::Postgres).await;
}

async fn only_one_holder_per_mailbox(env: Env) {
    // A second, independent handle: its own pool and connections, as another
    // process (or machine) would have.
    let other = Store::open(&env.url, env.state.path()).await.unwrap();
    let ttl = Duration::from_secs(30);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (s, holder) = if i % 2 == 0 {
            (env.store.clone(), "host-a")
        } else {
            (other.clone(), "host-b")
        };
        tasks.push(tokio::spawn(async move {
            (holder, s.try_lease("inbox", holder, ttl).await.unwrap())
        }));
    }
    let mut winners = std::collections::BTreeSet::new();
    for t in tasks {
        let (holder, got) = t.await.unwrap();
        if got {
            winners.insert(holder);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one holder wins: {winners:?}");
    let winner = *winners.iter().next().unwrap();
    let loser = if winner == "host-a" {
        "host-b"
    } else {
        "host-a"
    };
    assert_eq!(
        env.store.lease_holder("inbox").await.unwrap().as_deref(),
        Some(winner)
    );
    // Renewal by the holder works; the other still cannot take it.
    assert!(env.store.try_lease("inbox", winner, ttl).await.unwrap());
    assert!(!other.try_lease("inbox", loser, ttl).await.unwrap());
    // Another mailbox is independent.
    assert!(other.try_lease("archive", loser, ttl).await.unwrap());
    // Released on exit: the other takes it at once.
    env.store.release_lease("inbox", winner).await.unwrap();
    assert!(other
        .try_lease("inbox", loser, Duration::from_secs(1))
        .await
        .unwrap());
    // A holder that dies without releasing loses the lease after its TTL.
    assert!(!env.store.try_lease("inbox", winner, ttl).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(env.store.lease_holder("inbox").await.unwrap(), None);
    assert!(env.store.try_lease("inbox", winner, ttl).await.unwrap());
    assert!(!other.try_lease("inbox", loser, ttl).await.unwrap());
}
