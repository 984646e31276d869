//! Ingest benchmark (issue 6), each figure beside its baseline from the same run:
//!
//! 1. Raw fetch rate of a 10,000-message backlog of realistic mail (≈70 % notifications,
//!    most with a PDF waybill): one `UID FETCH 1:* BODY.PEEK[]` on a bare TCP socket,
//!    read to the tagged OK. This is the limit: the server cannot hand mail out faster.
//! 2. leje's end-to-end rate on the same mailbox: the real `leje run` binary with a
//!    SQLite store, until every message is committed (parse, case, outbox, checkpoint,
//!    after-processing MOVE). Printed as a ratio of (1); target ≥ 25 %.
//! 3. Peak resident memory of that process (VmHWM); target < 25 MB.
//! 4. Arrival-to-case latency with IDLE: ~200 messages appended one at a time; median
//!    and p99 from APPEND completing to the case being readable in the store; target
//!    p99 < 0.5 s.
//!
//! Run: `cargo bench --bench ingest` (needs the local mail stack, like the tests;
//! `LEJE_BENCH_MESSAGES` and `LEJE_BENCH_LATENCY` change the sizes). Never gates CI.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/daemon/mail.rs"]
mod mail;
#[path = "../tests/daemon/support.rs"]
mod support;

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; without it (`cargo test --all-targets`) this is a
    // quick smoke run with small sizes.
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
        eprintln!("ingest bench: no mail stack; skipped");
        return;
    };
    let n = env_num("LEJE_BENCH_MESSAGES", if smoke { 200 } else { 10_000 });
    let lat_n = env_num("LEJE_BENCH_LATENCY", if smoke { 5 } else { 200 });
    let salt = fastrand::u32(..);

    // --- seed -------------------------------------------------------------------------
    let user = common::unique_user("bench-ingest");
    let t = Instant::now();
    let mut bytes = 0usize;
    let mut notifications = 0u64;
    let msgs = (0..n).map(|i| {
        let m = mail::realistic(salt, i);
        bytes += m.raw.len();
        notifications += u64::from(m.doc.is_some());
        m.raw
    });
    support::seed_maildir(stack, &user, msgs, None).await;
    println!(
        "seeded {n} messages ({:.1} MB, {notifications} notifications) in {:.1}s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    // Let Dovecot assign UIDs and build its index once, outside both measurements.
    let mut imap = stack.imap(&user).await;
    assert_eq!(imap.count("INBOX").await as u64, n);
    let _ = raw_fetch(stack, &user).await;

    // --- baseline: raw fetch ------------------------------------------------------------
    let mut raw_best = f64::MAX;
    let mut raw_bytes = 0;
    for _ in 0..3 {
        let (secs, b) = raw_fetch(stack, &user).await;
        raw_best = raw_best.min(secs);
        raw_bytes = b;
    }
    let raw_rate = n as f64 / raw_best;
    println!(
        "raw UID FETCH 1:* BODY.PEEK[]: {n} messages, {:.1} MB in {raw_best:.2}s = {raw_rate:.0} msg/s (best of 3)",
        raw_bytes as f64 / 1e6
    );

    // --- leje end to end ---------------------------------------------------------------
    let opts = support::Opts {
        batch: 50,
        level: "warn",
        ..Default::default()
    };
    let h = support::Harness::new(stack, &user, stack.imap_port, &opts);
    let store = h.store().await;
    let t = Instant::now();
    let mut child = h.spawn_binary();
    let pid = child.id();
    let mut hwm_kb = 0u64;
    loop {
        hwm_kb = hwm_kb.max(vm_hwm_kb(pid).unwrap_or(0));
        let done = support::count_processed(&store).await as u64;
        if done >= n {
            break;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("leje run exited early ({st}):\n{}", h.log());
        }
        if t.elapsed() > Duration::from_secs(1800) {
            panic!("leje did not finish in 30 min ({done}/{n})");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let leje_secs = t.elapsed().as_secs_f64();
    hwm_kb = hwm_kb.max(vm_hwm_kb(pid).unwrap_or(0));
    sigterm(pid);
    let _ = child.wait();
    let leje_rate = n as f64 / leje_secs;
    let (rows, cases, outbox) = support::totals(&store).await;
    assert_eq!((rows, cases, outbox), (n, notifications, notifications));
    println!("leje run end to end: {n} messages in {leje_secs:.2}s = {leje_rate:.0} msg/s");
    println!(
        "ratio leje / raw fetch: {:.1} % (target >= 25 %)",
        100.0 * leje_rate / raw_rate
    );
    println!(
        "peak RSS (VmHWM) of leje run: {:.1} MB (target < 25 MB)",
        hwm_kb as f64 / 1024.0
    );
    imap.logout().await;

    // --- latency with IDLE -------------------------------------------------------------
    let user = common::unique_user("bench-latency");
    let opts = support::Opts {
        idle: true,
        poll: "60s",
        ..Default::default()
    };
    let h = support::Harness::new(stack, &user, stack.imap_port, &opts);
    let store = h.store().await;
    let mut imap = stack.imap(&user).await;
    let _ = imap.count("INBOX").await;
    let mut child = h.spawn_binary();
    // Wait until it is connected and idling: the first checkpoint-less check is silent,
    // so use a first message as the "ready" signal.
    let warm = mail::notification(salt, 1_000_000, false, false, true);
    imap.append("INBOX", &warm.raw).await;
    support::wait_until(Duration::from_secs(30), "warm-up message", || async {
        (support::count_processed(&store).await == 1).then_some(())
    })
    .await;
    let mut lat = Vec::with_capacity(lat_n as usize);
    for i in 0..lat_n {
        let m = mail::notification(salt, 2_000_000 + i, i % 3 == 0, i % 2 == 0, true);
        let doc = m.doc.clone().unwrap();
        imap.append("INBOX", &m.raw).await;
        let arrived = Instant::now();
        loop {
            if store.case_by_document(&doc).await.unwrap().is_some() {
                break;
            }
            if arrived.elapsed() > Duration::from_secs(30) {
                panic!("message {i} not processed within 30 s:\n{}", h.log());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        lat.push(arrived.elapsed());
    }
    sigterm(child.id());
    let _ = child.wait();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "arrival-to-case latency with IDLE over {} messages: median {:.0} ms, p99 {:.0} ms, max {:.0} ms (target p99 < 500 ms)",
        lat.len(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat.last().unwrap().as_secs_f64() * 1e3
    );
    imap.logout().await;
}

/// One `UID FETCH 1:* BODY.PEEK[]` on a bare socket, read to the tagged OK.
/// Returns (seconds for the FETCH alone, bytes read).
async fn raw_fetch(stack: &common::MailStack, user: &str) -> (f64, usize) {
    let tcp = tokio::net::TcpStream::connect((stack.imap_host.as_str(), stack.imap_port))
        .await
        .expect("connect");
    tcp.set_nodelay(true).ok();
    let mut rd = BufReader::with_capacity(256 * 1024, tcp);
    let mut line = Vec::new();
    rd.read_until(b'\n', &mut line).await.unwrap();
    send(
        &mut rd,
        &format!("a LOGIN \"{user}\" \"{}\"\r\n", stack.password),
    )
    .await;
    read_to_tag(&mut rd, b"a ").await;
    send(&mut rd, "b EXAMINE INBOX\r\n").await;
    read_to_tag(&mut rd, b"b ").await;
    let t = Instant::now();
    send(&mut rd, "c UID FETCH 1:* BODY.PEEK[]\r\n").await;
    let bytes = read_to_tag(&mut rd, b"c ").await;
    let secs = t.elapsed().as_secs_f64();
    send(&mut rd, "d LOGOUT\r\n").await;
    (secs, bytes)
}

async fn send(rd: &mut BufReader<tokio::net::TcpStream>, s: &str) {
    rd.get_mut().write_all(s.as_bytes()).await.unwrap();
}

/// Reads responses (skipping literals) until the tagged completion; returns bytes read.
async fn read_to_tag(rd: &mut BufReader<tokio::net::TcpStream>, tag: &[u8]) -> usize {
    let mut total = 0;
    let mut line = Vec::with_capacity(256);
    let mut sink = vec![0u8; 64 * 1024];
    loop {
        line.clear();
        let n = rd.read_until(b'\n', &mut line).await.unwrap();
        assert!(n > 0, "connection closed");
        total += n;
        if line.starts_with(tag) {
            assert!(
                line[tag.len()..].starts_with(b"OK"),
                "{}",
                String::from_utf8_lossy(&line)
            );
            return total;
        }
        // `... {1234}\r\n` announces a literal of that many bytes.
        let trimmed = line.strip_suffix(b"\r\n").unwrap_or(&line);
        if let Some(open) = trimmed.iter().rposition(|&b| b == b'{') {
            if trimmed.last() == Some(&b'}') {
                let len: usize = std::str::from_utf8(&trimmed[open + 1..trimmed.len() - 1])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let mut left = len;
                while left > 0 {
                    let k = left.min(sink.len());
                    rd.read_exact(&mut sink[..k]).await.unwrap();
                    left -= k;
                }
                total += len;
            }
        }
    }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn sigterm(pid: u32) {
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}
