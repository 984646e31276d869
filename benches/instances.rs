//! Several instances on one PostgreSQL store (issue 24), each figure beside its
//! baseline from the same run:
//!
//! 1. Throughput: M mailboxes × N messages (default 12 × 2,000) seeded into Dovecot,
//!    then 1, 2 and 3 real `leje run` processes started together on one identical
//!    config (no `[smtp]`: emails stay queued; this measures ingestion). Messages per
//!    second and the time until the last message is committed; 2 and 3 instances
//!    as ratios of 1 instance (the baseline), each on a fresh store and fresh
//!    mailboxes.
//! 2. Failover: two processes on one mailbox; the holder is killed with `kill -9`
//!    and the time until the other holds the lease is measured (R rounds, default
//!    10: median and max), beside the SIGTERM handover of the same rounds and the
//!    lease's 15 s TTL, which bounds the kill -9 figure from above (plus one 5 s
//!    heartbeat).
//!
//! Run: `cargo bench --bench instances` (needs the local mail stack, like the
//! tests). `LEJE_BENCH_MAILBOXES`, `LEJE_BENCH_MESSAGES`, `LEJE_BENCH_FAILOVERS`
//! change the sizes. Without `--bench` (`cargo test --all-targets`) a tiny smoke
//! run. Never gates CI on wall time.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/daemon/support.rs"]
mod daemon_support;
#[path = "../tests/daemon/mail.rs"]
mod mail;
#[path = "../tests/instances/support.rs"]
mod support;

use std::time::{Duration, Instant};

use support::*;

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(smoke));
}

async fn run(smoke: bool) {
    let Some(stack) = common::stack() else {
        eprintln!("instances bench: no mail stack; skipped");
        return;
    };
    let m = env_num("LEJE_BENCH_MAILBOXES", if smoke { 2 } else { 12 }) as usize;
    let n = env_num("LEJE_BENCH_MESSAGES", if smoke { 10 } else { 2000 });
    let rounds = env_num("LEJE_BENCH_FAILOVERS", if smoke { 1 } else { 10 }) as usize;

    println!("throughput: {m} mailboxes x {n} messages");
    let mut base: Option<f64> = None;
    for k in 1..=3usize {
        let (rate, first, last) = throughput(stack, m, n, k).await;
        let vs = base.map_or("baseline".to_string(), |b| {
            format!("{:.2}x of 1 instance", rate / b)
        });
        base.get_or_insert(rate);
        println!(
            "  {k} instance(s): {rate:>8.0} msg/s; first commit {:>6.2} s, last {:>6.2} s ({vs})",
            first.as_secs_f64(),
            last.as_secs_f64()
        );
    }

    let (kills, terms) = failover(stack, rounds).await;
    let stat = |mut v: Vec<Duration>| {
        v.sort();
        (v[v.len() / 2], *v.last().unwrap())
    };
    let (km, kx) = stat(kills);
    let (tm, tx) = stat(terms);
    println!("failover over {rounds} round(s), lease TTL 15 s, heartbeat 5 s:");
    println!(
        "  kill -9: median {:.2} s, max {:.2} s (SIGTERM in the same rounds: median {:.3} s, max {:.3} s)",
        km.as_secs_f64(),
        kx.as_secs_f64(),
        tm.as_secs_f64(),
        tx.as_secs_f64()
    );
}

/// `k` processes on `m` fresh mailboxes of `n` messages: (msg/s, first commit, last commit).
async fn throughput(
    stack: &common::MailStack,
    m: usize,
    n: u64,
    k: usize,
) -> (f64, Duration, Duration) {
    let mut c = Cluster::new(stack, &format!("bench{k}"), m).await;
    c.without_smtp();
    for mb in 0..m {
        c.seed(stack, mb, 0, n).await;
    }
    let store = c.store().await;
    let total = m * n as usize;
    let t0 = Instant::now();
    let procs: Vec<Proc> = (0..k).map(|_| c.spawn()).collect();
    let mut first = None;
    loop {
        let done = processed_count(&store).await;
        if done > 0 && first.is_none() {
            first = Some(t0.elapsed());
        }
        if done >= total {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(1800),
            "not done in 30 min: {done}/{total}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last = t0.elapsed();
    for p in &procs {
        p.signal("TERM");
    }
    for mut p in procs {
        p.wait_exit(Duration::from_secs(60));
    }
    (
        total as f64 / last.as_secs_f64(),
        first.unwrap_or(last),
        last,
    )
}

/// Rounds of kill -9 of the holder (and of SIGTERM): time until another holds the mailbox.
async fn failover(stack: &common::MailStack, rounds: usize) -> (Vec<Duration>, Vec<Duration>) {
    let mut c = Cluster::new(stack, "failover", 1).await;
    c.without_smtp();
    let store = c.store().await;
    let mut procs = vec![c.spawn(), c.spawn()];
    let mut kills = Vec::new();
    let mut terms = Vec::new();
    for round in 0..rounds * 2 {
        // Two live processes, one holding the mailbox.
        let live_two = async {
            loop {
                let held = holders(&store).await.contains_key("mb0");
                if held && store.live_instances().await.unwrap() == 2 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), live_two)
            .await
            .expect("two live processes, one holding the mailbox");
        let holder = holders(&store).await["mb0"].clone();
        let mut names = Vec::new();
        for p in &procs {
            names.push(holder_of(p).await);
        }
        let i = names
            .iter()
            .position(|h| *h == holder)
            .expect("the holder is ours");
        let mut victim = procs.remove(i);
        let kill = round % 2 == 0;
        victim.signal(if kill { "KILL" } else { "TERM" });
        let t = Instant::now();
        loop {
            if holders(&store)
                .await
                .get("mb0")
                .is_some_and(|h| *h != holder)
            {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(60), "no takeover in 60 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let took = t.elapsed();
        if kill {
            kills.push(took);
        } else {
            terms.push(took);
        }
        victim.wait_exit(Duration::from_secs(60));
        procs.push(c.spawn());
    }
    (kills, terms)
}
