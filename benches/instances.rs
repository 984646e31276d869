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
//! Each throughput run also checks the work (every message recorded once, each a
//! new case), shows how long seeding took, which instances held mailboxes and from
//! when each held at most its share, and where the CPU went (/proc: the `leje`
//! processes, the Dovecot `imap` processes of the run's users, the PostgreSQL
//! backends of its database, and the whole machine).
//!
//! Run: `cargo bench --bench instances` (needs the local mail stack, like the
//! tests). `LEJE_BENCH_MAILBOXES`, `LEJE_BENCH_MESSAGES`, `LEJE_BENCH_FAILOVERS`
//! change the sizes. Without `--bench` (`cargo test --all-targets`) a tiny smoke
//! run. Never gates CI on wall time. The binary it starts is the one cargo builds
//! beside it (`CARGO_BIN_EXE_leje`): under `cargo bench` the bench profile, i.e.
//! `target/release/leje` at opt-level 3 with fat LTO (printed first).
//!
//! ## Measured 2026-12-07, 12 × 2,000 messages, 10 failover rounds
//!
//! Bench profile (`target/release/leje`, opt-level 3, fat LTO); 2 cores shared with
//! four other engineers' compilers: the machine was 100% busy in every run, so the
//! absolute rates follow the load. Two full runs:
//!
//! | instances | msg/s | last committed | vs 1 instance | each at its share from |
//! |---|---|---|---|---|
//! | *02:38 UTC, load 8.7–9.6, commit 9cafed2* | | | | |
//! | 1 | 4,187 | 5.73 s | baseline | 0.20 s |
//! | 2 | 4,139 | 5.80 s | 0.99× msg/s, 1.01× the time | 0.24 s |
//! | 3 | 3,601 | 6.66 s | 0.86× msg/s, 1.16× the time | 1.62 s |
//! | *02:18 UTC, load 11.5–13.1, ba05d2e (before 9cafed2)* | | | | |
//! | 1 | 1,665 | 14.42 s | baseline | 0.18 s |
//! | 2 | 1,869 | 12.84 s | 1.12× msg/s, 0.89× the time | 7.26 s |
//! | 3 | 1,714 | 14.00 s | 1.03× msg/s, 0.97× the time | 11.85 s |
//!
//! Every run: 24,000 messages recorded once each, all `case_created`; every
//! instance held mailboxes. Seeding took 1.8–1.9 s at load 9 (9.8–11.8 s at load 13),
//! less than the measured part.
//!
//! Failover (02:40–02:43 UTC, load 8.7 falling to 5.8, same build), 10 rounds each:
//! after `kill -9` of the holder the other took the mailbox over after a median of
//! 15.01 s, at most 15.05 s (the 15 s lease running out: the standby looks again
//! right when it does); after SIGTERM a median of 0.028 s, at most 0.051 s. The
//! run on ba05d2e (load 13): kill -9 median 14.94 s, max 15.01 s; SIGTERM
//! median 0.068 s, max 0.149 s.
//!
//! **Why 2 and 3 instances are not faster here.** Where the CPU went in the 02:38
//! runs, in CPU seconds ("machine busy": every process on the machine, of the run's
//! wall time × 2 cores):
//!
//! | instances | leje | Dovecot imap | PostgreSQL | machine busy |
//! |---|---|---|---|---|
//! | 1 | 1.9 | 1.0 | 5.0 | 11.5 of 11.5 |
//! | 2 | 1.9 | 1.0 | 5.0 | 11.6 of 11.6 |
//! | 3 | 2.2 | 1.2 | 5.6 | 13.3 of 13.3 |
//!
//! The work is the same whatever the number of processes (about 8 CPU s for 24,000
//! messages), and leje's own part of it is a quarter (one process used a third of
//! one core over the run). Nearly two thirds is PostgreSQL (the groups'
//! transactions, and this bench's polling), all on the one server, and the rest
//! Dovecot; both run on the same 2 cores as every leje process, and those cores
//! were never idle (what leje, Dovecot and PostgreSQL left, 3.6 to 4.3 CPU s a run,
//! went to the other engineers' compilers). More processes bring no spare CPU (the
//! 3-process run used 14% more CPU in all, for the same work). Several instances pay off for failover, and for throughput presumably
//! only where each has cores of its own in front of a database that is not the
//! limit (not measured here). Before 9cafed2 the newcomers also sat idle while the
//! first process held every mailbox until its next heartbeat (each at its share
//! only after 7.3 and 11.9 s); a process now announces itself and is given its
//! share at once.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/daemon/support.rs"]
mod daemon_support;
#[path = "../tests/daemon/mail.rs"]
mod mail;
#[path = "../tests/instances/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sqlx::Connection;
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

    println!("leje binary: {}", env!("CARGO_BIN_EXE_leje"));
    println!("throughput: {m} mailboxes x {n} messages");
    let mut base: Option<Run> = None;
    for k in 1..=3usize {
        let r = throughput(stack, m, n, k).await;
        let vs = base.as_ref().map_or("baseline".to_string(), |b| {
            format!(
                "{:.2}x the msg/s of 1 instance, {:.2}x its time",
                r.rate / b.rate,
                r.last.as_secs_f64() / b.last.as_secs_f64()
            )
        });
        println!(
            "  {k} instance(s): {:>6.0} msg/s; first commit {:>6.2} s, last {:>6.2} s ({vs})",
            r.rate,
            r.first.as_secs_f64(),
            r.last.as_secs_f64()
        );
        let c = &r.cpu;
        println!(
            "      seeded in {:.1} s; {} of {} instance(s) held mailboxes, at most {:?}, each at most its share from {}; \
             CPU s: leje {:.1}, Dovecot imap {:.1}, PostgreSQL {:.1}; machine busy {:.1} of {:.1} ({:.0}%)",
            r.seeding.as_secs_f64(),
            r.most.len(),
            r.instances,
            r.most,
            r.balanced
                .map_or("never".to_string(), |t| format!("{:.2} s", t.as_secs_f64())),
            c.leje,
            c.dovecot,
            c.postgres,
            c.busy,
            c.all,
            100.0 * c.busy / c.all.max(1e-9)
        );
        base.get_or_insert(r);
    }

    let (kills, terms) = failover(stack, rounds).await;
    // The median of an even count is the mean of the middle two.
    let stat = |mut v: Vec<Duration>| {
        v.sort();
        let h = v.len() / 2;
        let median = if v.len().is_multiple_of(2) {
            (v[h - 1] + v[h]) / 2
        } else {
            v[h]
        };
        (median, *v.last().unwrap())
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

/// `k` processes on `m` fresh mailboxes of `n` messages.
async fn throughput(stack: &common::MailStack, m: usize, n: u64, k: usize) -> Run {
    let mut c = Cluster::new(stack, &format!("bench{k}"), m).await;
    c.without_smtp();
    let seeding = Instant::now();
    let mut ids = Vec::new();
    for mb in 0..m {
        ids.extend(c.seed(stack, mb, 0, n).await);
    }
    let seeding = seeding.elapsed();
    let store = c.store().await;
    // NOTE: one COUNT(*) per poll on a connection of our own, not `Store::stats`
    // (five queries, three of them full counts, ten times a second on the server
    // being measured).
    let mut poll = sqlx::PgConnection::connect(&c.db.url)
        .await
        .expect("poll connection");
    let total = m * n as usize;
    let mut meter = cpu::Meter::start(stack, &c);
    let t0 = Instant::now();
    let procs: Vec<Proc> = (0..k).map(|_| c.spawn()).collect();
    meter.watch(&procs.iter().map(|p| p.child.id()).collect::<Vec<_>>());
    let mut first = None;
    let mut most: BTreeMap<String, usize> = BTreeMap::new();
    let mut balanced = None;
    let mut last_cpu = Instant::now();
    loop {
        let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM processed_messages")
            .fetch_one(&mut poll)
            .await
            .expect("count");
        let done = done as usize;
        if done > 0 && first.is_none() {
            first = Some(t0.elapsed());
        }
        let s = shares(&store).await;
        for (h, n) in &s {
            let e = most.entry(h.clone()).or_insert(0);
            *e = (*e).max(*n);
        }
        if balanced.is_none() && s.len() == k.min(m) && s.values().all(|v| *v <= m.div_ceil(k)) {
            balanced = Some(t0.elapsed());
        }
        if last_cpu.elapsed() >= Duration::from_millis(500) {
            last_cpu = Instant::now();
            // The processes' counters vanish when they exit: sampled while they run.
            meter.sample();
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
    meter.sample();
    let cpu = meter.split();
    for p in &procs {
        p.signal("TERM");
    }
    for mut p in procs {
        p.wait_exit(Duration::from_secs(60));
    }
    // Nothing twice, nothing lost, each a new case: the figure counts only
    // correct work.
    daemon_support::assert_exactly_once(&store, &ids).await;
    let outcomes = store.stats().await.unwrap().messages_by_outcome;
    assert_eq!(
        outcomes.get("case_created").copied(),
        Some(total as u64),
        "outcomes: {outcomes:?}"
    );
    Run {
        rate: total as f64 / last.as_secs_f64(),
        first: first.unwrap_or(last),
        last,
        seeding,
        balanced,
        most: most.into_values().collect(),
        instances: k,
        cpu,
    }
}

struct Run {
    rate: f64,
    first: Duration,
    last: Duration,
    seeding: Duration,
    /// When every instance held at most its share (⌈M/k⌉).
    balanced: Option<Duration>,
    /// The most mailboxes each instance held at once (an instance that never held
    /// one is not in it).
    most: Vec<usize>,
    instances: usize,
    cpu: cpu::Split,
}

/// Where the CPU went during a run, from /proc: the `leje run` processes, the
/// Dovecot `imap` processes serving this run's users (by the files they have open
/// in the user's home), the PostgreSQL backends of this run's database (by their
/// process title: the bench's own two connections included), and the whole machine
/// (other engineers' builds included). Each process's counter is kept at its last
/// sample, so one that ended during the run (an IMAP session handed over) still counts.
mod cpu {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::common::MailStack;
    use super::support::Cluster;

    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
    enum Kind {
        Leje,
        Dovecot,
        Postgres,
    }

    /// CPU seconds over the run.
    #[derive(Clone, Default, Debug)]
    pub struct Split {
        pub leje: f64,
        pub dovecot: f64,
        pub postgres: f64,
        /// The machine's busy CPU seconds (every process) and its capacity (cores × wall).
        pub busy: f64,
        pub all: f64,
    }

    pub struct Meter {
        hz: f64,
        homes: Vec<PathBuf>,
        title: String,
        leje: Vec<u32>,
        base: BTreeMap<u32, f64>,
        latest: BTreeMap<u32, (Kind, f64)>,
        machine0: (f64, f64),
        machine: (f64, f64),
    }

    fn ticks() -> f64 {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    }

    /// utime + stime of a process, in clock ticks.
    fn of(pid: u32) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (_, rest) = stat.rsplit_once(')')?;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
        Some(t(11)? + t(12)?)
    }

    /// The machine's (busy, all) clock ticks from /proc/stat.
    fn machine() -> (f64, f64) {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let v: Vec<f64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|x| x.parse().ok())
            .collect();
        let all: f64 = v.iter().sum();
        let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
        (all - idle, all)
    }

    impl Meter {
        /// Before the run: what this run's server processes already used is not counted.
        pub fn start(stack: &MailStack, c: &Cluster) -> Meter {
            let mut m = Meter {
                hz: ticks(),
                homes: c
                    .users
                    .iter()
                    .map(|u| stack.dir.join("mail").join(u))
                    .collect(),
                title: format!(" {} ", c.db.name),
                leje: Vec::new(),
                base: BTreeMap::new(),
                latest: BTreeMap::new(),
                machine0: machine(),
                machine: (0.0, 0.0),
            };
            m.sample();
            m.base = m.latest.iter().map(|(p, (_, t))| (*p, *t)).collect();
            m
        }

        pub fn watch(&mut self, pids: &[u32]) {
            self.leje.extend_from_slice(pids);
        }

        pub fn sample(&mut self) {
            for &pid in &self.leje {
                if let Some(t) = of(pid) {
                    self.latest.insert(pid, (Kind::Leje, t));
                }
            }
            for e in std::fs::read_dir("/proc").unwrap().flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
                let kind = match comm.trim() {
                    // NOTE: an imap process keeps its working directory at `/`; the
                    // files it has open (the user's index) say whose it is.
                    "imap" if self.latest.contains_key(&pid) => Some(Kind::Dovecot),
                    "imap" => std::fs::read_dir(e.path().join("fd"))
                        .into_iter()
                        .flatten()
                        .flatten()
                        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                        .any(|f| self.homes.iter().any(|h| f.starts_with(h)))
                        .then_some(Kind::Dovecot),
                    "postgres" => {
                        let cmd =
                            std::fs::read_to_string(e.path().join("cmdline")).unwrap_or_default();
                        (cmd.starts_with("postgres: ") && cmd.contains(&self.title))
                            .then_some(Kind::Postgres)
                    }
                    _ => None,
                };
                if let (Some(kind), Some(t)) = (kind, of(pid)) {
                    self.latest.insert(pid, (kind, t));
                }
            }
            self.machine = machine();
        }

        pub fn split(&self) -> Split {
            let mut s = Split::default();
            for (pid, (kind, t)) in &self.latest {
                let secs = (t - self.base.get(pid).copied().unwrap_or(0.0)) / self.hz;
                match kind {
                    Kind::Leje => s.leje += secs,
                    Kind::Dovecot => s.dovecot += secs,
                    Kind::Postgres => s.postgres += secs,
                }
            }
            s.busy = (self.machine.0 - self.machine0.0) / self.hz;
            s.all = (self.machine.1 - self.machine0.1) / self.hz;
            s
        }
    }
}
