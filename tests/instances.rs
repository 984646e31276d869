//! Several `leje run` processes on one PostgreSQL store (issue 24), on the real
//! Dovecot, OpenSMTPD and PostgreSQL of the mail stack: identical configs never
//! send an email twice; SIGTERM hands a mailbox over within 2 s, kill -9 within
//! 20 s; a process stopped past its lease commits nothing afterwards; mailboxes
//! are shared out (a newcomer at once) and taken back.

mod common;
#[path = "daemon/support.rs"]
mod daemon_support;
#[path = "daemon/mail.rs"]
mod mail;
#[path = "instances/proxy.rs"]
mod proxy;
#[path = "instances/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use daemon_support::{assert_exactly_once, wait_until};
use support::*;

/// Waits until every one of `n` messages is recorded and every outbox row is sent.
async fn all_done(store: &leje::store::Store, n: usize, within: Duration) {
    wait_until(
        within,
        "every message recorded and every email sent",
        || async {
            let done = processed_count(store).await == n;
            let out = outbox_counts(store).await;
            (done && out.get("sent") == Some(&n) && out.len() == 1).then_some(())
        },
    )
    .await;
}

/// The outbox rows' Message-IDs: their local part (the domain is the sender's,
/// filled in when the email is built).
async fn outbox_ids(store: &leje::store::Store) -> BTreeSet<String> {
    store
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| local(&r.message_id))
        .collect()
}

fn local(id: &str) -> String {
    let id = id.trim_matches(|c| c == '<' || c == '>');
    id.split('@').next().unwrap_or(id).to_string()
}

/// Received Message-IDs by local part.
fn locals(got: &std::collections::BTreeMap<String, usize>) -> BTreeSet<String> {
    got.keys().map(|k| local(k)).collect()
}

/// Polls `f` every 20 ms; how long until it held (panics after `within`).
async fn time_until<F, Fut>(within: Duration, what: &str, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    while t.elapsed() < within {
        if f().await {
            return t.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not within {within:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_identical_processes_send_each_email_once() {
    let Some(stack) = common::stack() else { return };
    let mut c = Cluster::new(stack, "twins", 2).await;
    let mut ids = c.seed(stack, 0, 0, 40).await;
    ids.extend(c.seed(stack, 1, 0, 40).await);
    let store = c.store().await;
    let mut a = c.spawn();
    let mut b = c.spawn();
    let (ha, hb) = (holder_of(&a).await, holder_of(&b).await);
    assert_ne!(
        ha, hb,
        "two processes with one `instance` are distinct holders"
    );
    assert!(ha.starts_with("same-host~") && hb.starts_with("same-host~"));
    all_done(&store, ids.len(), Duration::from_secs(120)).await;
    // Each email exactly once (after a moment for a duplicate to arrive).
    let got = received_at_least(stack, &c.sink, ids.len()).await;
    let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "emails delivered more than once: {twice:?}"
    );
    assert_eq!(locals(&got), outbox_ids(&store).await);
    assert_eq!(got.len(), ids.len());
    assert_exactly_once(&store, &ids).await;
    // Fair share: one mailbox each.
    wait_until(Duration::from_secs(15), "one mailbox each", || async {
        let s = shares(&store).await;
        (s.get(&ha) == Some(&1) && s.get(&hb) == Some(&1)).then_some(())
    })
    .await;
    let logs = a.log() + &b.log();
    assert!(
        logs.contains("same instance name"),
        "the twin was not logged:\n{logs}"
    );
    a.signal("TERM");
    b.signal("TERM");
    assert!(
        a.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        a.log()
    );
    assert!(
        b.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        b.log()
    );
    let (_, instances) = store.cluster_status().await.unwrap();
    assert!(
        instances.is_empty(),
        "stopped processes deregister: {instances:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_over_within_2s_and_kill_9_within_20s() {
    let Some(stack) = common::stack() else { return };
    let mut c = Cluster::new(stack, "handover", 1).await;
    let store = c.store().await;
    let mut a = c.spawn();
    let ha = holder_of(&a).await;
    wait_until(Duration::from_secs(15), "A holds the mailbox", || async {
        (holders(&store).await.get("mb0") == Some(&ha)).then_some(())
    })
    .await;
    let b = c.spawn();
    let hb = holder_of(&b).await;
    // B is registered (live) before A goes.
    wait_until(Duration::from_secs(15), "B registered", || async {
        (store.live_instances().await.unwrap() == 2).then_some(())
    })
    .await;
    a.signal("TERM");
    let took = time_until(
        Duration::from_secs(10),
        "B takes over after SIGTERM",
        || async { holders(&store).await.get("mb0") == Some(&hb) },
    )
    .await;
    eprintln!("SIGTERM takeover: {took:?}");
    assert!(
        took < Duration::from_secs(2),
        "SIGTERM takeover took {took:?}"
    );
    assert!(
        a.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        a.log()
    );

    let cproc = c.spawn();
    let hc = holder_of(&cproc).await;
    wait_until(Duration::from_secs(15), "C registered", || async {
        (store.live_instances().await.unwrap() == 2).then_some(())
    })
    .await;
    b.signal("KILL");
    let took = time_until(
        Duration::from_secs(40),
        "C takes over after kill -9",
        || async { holders(&store).await.get("mb0") == Some(&hc) },
    )
    .await;
    eprintln!("kill -9 takeover: {took:?}");
    assert!(
        took < Duration::from_secs(20),
        "kill -9 takeover took {took:?}"
    );
    // And C works the mailbox: new mail is recorded and answered.
    let ids = c.seed(stack, 0, 0, 5).await;
    all_done(&store, ids.len(), Duration::from_secs(60)).await;
    assert_exactly_once(&store, &ids).await;
    drop(cproc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_backlog_repeats_at_most_the_email_in_flight() {
    let Some(stack) = common::stack() else { return };
    let mut c = Cluster::new(stack, "kill9", 1).await;
    let ids = c.seed(stack, 0, 0, 150).await;
    let store = c.store().await;
    let a = c.spawn();
    let ha = holder_of(&a).await;
    let b = c.spawn();
    let hb = holder_of(&b).await;
    wait_until(Duration::from_secs(60), "some emails sent", || async {
        (outbox_counts(&store)
            .await
            .get("sent")
            .copied()
            .unwrap_or(0)
            > 20)
            .then_some(())
    })
    .await;
    let holder = holders(&store).await.get("mb0").cloned().unwrap();
    let (victim, other, other_holder) = if holder == ha { (a, b, hb) } else { (b, a, ha) };
    victim.signal("KILL");
    let t = Instant::now();
    drop(victim);
    let took = time_until(Duration::from_secs(40), "the other takes over", || async {
        holders(&store).await.get("mb0") == Some(&other_holder)
    })
    .await;
    eprintln!(
        "kill -9 mid-backlog: takeover after {took:?} ({:?} since the kill)",
        t.elapsed()
    );
    assert!(took < Duration::from_secs(20));
    all_done(&store, ids.len(), Duration::from_secs(180)).await;
    assert_exactly_once(&store, &ids).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = received(stack, &c.sink).await;
    assert_eq!(
        locals(&got),
        outbox_ids(&store).await,
        "every applicant got their email"
    );
    let total: usize = got.values().sum();
    assert!(
        total <= ids.len() + 1,
        "at most the one email in flight may be repeated: {total} emails for {} rows",
        ids.len()
    );
    drop(other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_stopped_past_its_lease_commits_nothing_after() {
    let Some(stack) = common::stack() else { return };
    let mut c = Cluster::new(stack, "sigstop", 1).await;
    let ids = c.seed(stack, 0, 0, 200).await;
    let store = c.store().await;
    let a = c.spawn();
    let ha = holder_of(&a).await;
    let b = c.spawn();
    let hb = holder_of(&b).await;
    wait_until(Duration::from_secs(60), "progress", || async {
        (processed_count(&store).await > 0).then_some(())
    })
    .await;
    let holder = holders(&store).await.get("mb0").cloned().unwrap();
    let (stopped, other, other_holder) = if holder == ha { (a, b, hb) } else { (b, a, ha) };
    stopped.signal("STOP");
    let took = time_until(Duration::from_secs(40), "the other takes over", || async {
        holders(&store).await.get("mb0") == Some(&other_holder)
    })
    .await;
    eprintln!("SIGSTOP: takeover after {took:?}");
    all_done(&store, ids.len(), Duration::from_secs(120)).await;
    // More mail while the stopped one is still stopped, then let it go on.
    let more = c.seed(stack, 0, 1000, 10).await;
    all_done(&store, ids.len() + more.len(), Duration::from_secs(60)).await;
    let before = stopped.log().len();
    stopped.signal("CONT");
    tokio::time::sleep(Duration::from_secs(8)).await;
    let after = stopped.log()[before..].to_string();
    assert!(
        !after.contains("message processed") && !after.contains("messages processed"),
        "the resumed process committed messages:\n{after}"
    );
    assert!(
        after.matches("email sent").count() <= 1,
        "the resumed process sent more than the one email in flight:\n{after}"
    );
    assert!(
        after.contains("taken for dead") || after.contains("lease lost"),
        "the resumed process did not notice it lost its lease:\n{after}"
    );
    let mut all = ids.clone();
    all.extend(more);
    assert_exactly_once(&store, &all).await;
    let got = received(stack, &c.sink).await;
    let total: usize = got.values().sum();
    assert!(
        total <= all.len() + 1,
        "{total} emails for {} rows",
        all.len()
    );
    // It is a normal member again: it registers afresh and may share out work.
    wait_until(Duration::from_secs(15), "both live again", || async {
        (store.live_instances().await.unwrap() == 2).then_some(())
    })
    .await;
    drop((stopped, other));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_mailboxes_two_each_then_four_after_one_stops() {
    let Some(stack) = common::stack() else { return };
    let mut c = Cluster::new(stack, "share", 4).await;
    let store = c.store().await;
    let a = c.spawn();
    let ha = holder_of(&a).await;
    let mut b = c.spawn();
    let hb = holder_of(&b).await;
    let took = time_until(Duration::from_secs(30), "two mailboxes each", || async {
        let s = shares(&store).await;
        s.get(&ha) == Some(&2) && s.get(&hb) == Some(&2)
    })
    .await;
    eprintln!("balanced 2+2 after {took:?}");
    // Both work theirs: mail in every mailbox is recorded.
    let mut ids = Vec::new();
    for mb in 0..4 {
        ids.extend(c.seed(stack, mb, 0, 3).await);
    }
    all_done(&store, ids.len(), Duration::from_secs(60)).await;
    b.signal("TERM");
    let took = time_until(Duration::from_secs(10), "all four to A", || async {
        shares(&store).await.get(&ha) == Some(&4)
    })
    .await;
    eprintln!("rebalanced to 4 after {took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        b.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        b.log()
    );
    // `leje status` shows who holds what.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leje"))
        .arg("--config")
        .arg(&c.config)
        .arg("status")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for mb in 0..4 {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("mb{mb} ")))
            .unwrap_or_else(|| panic!("mb{mb} missing from `leje status`:\n{text}"));
        assert!(line.contains(&ha) && line.contains("expires"), "{line}");
    }
    assert!(text.contains("INSTANCES") && text.contains(&ha), "{text}");
    drop(a);
}

/// A process that joins is given its share at once: the holder hands its surplus
/// over when it hears of the newcomer, not at its next heartbeat (5 s). B is
/// started right after one of A's heartbeats, so waiting for the next one would
/// take about 5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_gets_its_share_at_once() {
    let Some(stack) = common::stack() else { return };
    let mut c = Cluster::new(stack, "join", 4).await;
    let store = c.store().await;
    let a = c.spawn();
    let ha = holder_of(&a).await;
    time_until(Duration::from_secs(30), "A holds all four", || async {
        shares(&store).await.get(&ha) == Some(&4)
    })
    .await;
    // A heartbeat renews A's leases: wait for one, then start B.
    let expiry = |store: &leje::store::Store| {
        let store = store.clone();
        async move {
            let (leases, _) = store.cluster_status().await.unwrap();
            leases
                .into_iter()
                .find(|l| l.name == "mb0")
                .unwrap()
                .expires_at
        }
    };
    let before = expiry(&store).await;
    time_until(Duration::from_secs(10), "a heartbeat of A", || async {
        expiry(&store).await != before
    })
    .await;
    let mut b = c.spawn();
    let hb = holder_of(&b).await;
    let took = time_until(Duration::from_secs(30), "two mailboxes each", || async {
        let s = shares(&store).await;
        s.get(&ha) == Some(&2) && s.get(&hb) == Some(&2)
    })
    .await;
    eprintln!("B had its share {took:?} after its start line");
    assert!(
        took < Duration::from_secs(3),
        "B waited {took:?} for A's heartbeat; A's log:\n{}",
        a.log()
    );
    b.signal("TERM");
    assert!(
        b.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        b.log()
    );
    drop(a);
}

/// PostgreSQL unreachable for 45 s (an in-process TCP proxy in front of the shared
/// server is cut: every connection dropped, new ones refused): both processes
/// carry on by themselves afterwards, and nothing is lost or done twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_recover_from_a_45s_database_outage() {
    let Some(stack) = common::stack() else { return };
    let mut c = Cluster::new(stack, "outage", 2).await;
    let url = c.db.url.clone();
    let rest = url.split_once("://").unwrap().1;
    let (cred_host, dbname) = rest.split_once('/').unwrap();
    let (cred, hostport) = cred_host.rsplit_once('@').unwrap();
    let proxy = proxy::Proxy::start(hostport.to_string()).await;
    c.store_via(&format!(
        "postgres://{cred}@127.0.0.1:{}/{dbname}",
        proxy.port
    ));
    let mut ids = c.seed(stack, 0, 0, 20).await;
    ids.extend(c.seed(stack, 1, 0, 20).await);
    let store = c.store().await;
    let mut a = c.spawn();
    let ha = holder_of(&a).await;
    let mut b = c.spawn();
    let hb = holder_of(&b).await;
    all_done(&store, ids.len(), Duration::from_secs(90)).await;

    proxy.cut();
    // Mail keeps arriving meanwhile.
    ids.extend(c.seed(stack, 0, 100, 10).await);
    ids.extend(c.seed(stack, 1, 100, 10).await);
    tokio::time::sleep(Duration::from_secs(45)).await;
    assert!(
        a.child.try_wait().unwrap().is_none(),
        "A exited during the outage:\n{}",
        a.log()
    );
    assert!(
        b.child.try_wait().unwrap().is_none(),
        "B exited during the outage:\n{}",
        b.log()
    );
    assert_eq!(
        processed_count(&store).await,
        40,
        "nothing can be recorded while the store is away"
    );
    proxy.restore();
    let t = Instant::now();
    all_done(&store, ids.len(), Duration::from_secs(120)).await;
    eprintln!(
        "recovered: everything recorded and sent {:?} after the database came back",
        t.elapsed()
    );
    assert_exactly_once(&store, &ids).await;
    let got = received_at_least(stack, &c.sink, ids.len()).await;
    assert_eq!(locals(&got), outbox_ids(&store).await);
    let total: usize = got.values().sum();
    assert!(
        total <= ids.len() + 2,
        "{total} emails for {} rows",
        ids.len()
    );
    wait_until(
        Duration::from_secs(30),
        "one mailbox each again",
        || async {
            let s = shares(&store).await;
            (s.get(&ha) == Some(&1) && s.get(&hb) == Some(&1)).then_some(())
        },
    )
    .await;
    a.signal("TERM");
    b.signal("TERM");
    assert!(
        a.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        a.log()
    );
    assert!(
        b.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        b.log()
    );
}
