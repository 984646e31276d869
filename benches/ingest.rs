//! Ingest benchmark (issue 6), each figure beside its baseline from the same run:
//!
//! 1. Raw fetch rate of a 10,000-message backlog of realistic mail (≈70 % notifications,
//!    most with a PDF waybill): one `UID FETCH 1:* BODY.PEEK[]` on a bare TCP socket,
//!    read to the tagged OK. This is the limit: the server cannot hand mail out faster.
//!    The backlog is old mail: written into the Maildir's `cur/` under the names
//!    Dovecot gives its own deliveries (with their sizes), as if another client had
//!    seen it.
//! 2. leje's end-to-end rate on the same mailbox: the real `leje run` binary with a
//!    SQLite store, with two stopping points on one clock:
//!    - "all committed": every message has a processed row in the store (parse, case,
//!      outbox, checkpoint), seen by reading the checkpoint every 20 ms. Printed as
//!      a ratio of (1); target ≥ 25 %. The time to the first committed message is
//!      printed too: start-up (exec, store, login, SELECT, the oversize search) is
//!      in leje's figure, not in the raw fetch's; so is leje's rate from its first
//!      commit to the last, which leaves start-up out as the raw fetch leaves its
//!      own login and EXAMINE out.
//!    - "INBOX settled": every after-processing action has reached the server, seen
//!      by `STATUS INBOX (MESSAGES UNSEEN)` on a separate connection every 100 ms once
//!      all is committed: INBOX holds only the ignored messages (default action `seen`
//!      leaves them there) and none is unseen, so every MOVE (to `leje/processed`, …)
//!      and STORE is applied. The daemon defers these actions during a backlog and
//!      applies them in large batches, so this can be well after "all committed".
//! 3. Peak resident memory of that process (VmHWM) over the whole run; target < 25 MB.
//! 4. Arrival-to-case latency with IDLE: ~200 notifications appended one at a time into
//!    a quiet INBOX (after leje has moved the previous one out and that has been
//!    announced, plus a random 50–300 ms), so appends are in step with nothing. Three
//!    figures over the same messages, median and p99:
//!    - floor: APPEND completing → a bare-socket client that stays in one IDLE on the
//!      same INBOX reads the untagged `* N EXISTS`. Dovecot 2.3 holds every IDLE
//!      notification back for a hard-coded 500 ms after the first change it sees
//!      (`NOTIFY_DELAY_MSECS`, lib-storage/mailbox-watch.c), so no IDLE client can learn
//!      of new mail sooner; this is the server's floor.
//!    - leje: APPEND completing → the case readable in the store (polled every 2 ms);
//!      target p99 < 0.5 s, which is below the floor.
//!    - leje's own share: per message, leje minus floor (can be slightly negative: the
//!      two sessions are notified independently).
//!
//!    Some messages are never announced to the bare client: its sync at the 500 ms mark
//!    does not see them and leje has moved them out before the next one (the two
//!    sessions race on the same Maildir; about one in five here). They are counted
//!    and left out of all three figures; a fourth, leje's arrival-to-case over every
//!    message, includes them.
//!
//! 5. leje's CPU time (user + system) until all is committed, per message: what
//!    the pipeline costs, apart from how busy the shared machine was.
//!
//! Run: `cargo bench --bench ingest` (needs the local mail stack, like the tests;
//! `LEJE_BENCH_MESSAGES` and `LEJE_BENCH_LATENCY` change the sizes,
//! `LEJE_BENCH_BATCH` the mailbox's `batch_size`, default 500 as in leje;
//! `LEJE_BENCH_LOG=debug` keeps leje's log, `trace` with every module's debug
//! lines). Never gates CI.

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
    // LEJE_BENCH_LOG=debug keeps leje's log (one "batch done" line per FETCH, saying
    // where its time went) in target/bench-ingest-leje.log.
    let level = match std::env::var("LEJE_BENCH_LOG").as_deref() {
        Ok("debug") => "warn,leje::daemon=debug",
        Ok("trace") => "warn,leje=debug,async_imap=debug",
        _ => "warn",
    };
    let opts = support::Opts {
        batch: env_num("LEJE_BENCH_BATCH", 500) as u32,
        level,
        ..Default::default()
    };
    let h = support::Harness::new(stack, &user, stack.imap_port, &opts);
    let store = h.store().await;
    // Separate from leje's connection; STATUS only, and only once all is committed.
    let mut watch = imap.into_session();
    let t = Instant::now();
    let mut child = h.spawn_binary();
    let pid = child.id();
    let mut hwm_kb = 0u64;
    let mut committed: Option<f64> = None;
    // When the first message was committed: what start-up (exec, store, login,
    // SELECT, the first FETCH and commit) takes out of the end-to-end time.
    let mut first: Option<(f64, u64)> = None;
    let mut cpu_at_commit = None;
    let mut left_in_inbox = 0u64;
    let mut next_status = Instant::now();
    let mut last_status = (n as u32, None);
    let settled_secs = loop {
        hwm_kb = hwm_kb.max(vm_hwm_kb(pid).unwrap_or(0));
        if committed.is_none() {
            // NOTE: the checkpoint, not a count: it is committed in the same
            // transaction as its messages, and the seeded UIDs are 1..=n, so its
            // last UID is how many are committed. One indexed row, where counting
            // (store.stats() groups every processed row and case) cost this poller
            // about 7 % of the two-core machine leje was being measured on.
            let done = store
                .checkpoint("shared")
                .await
                .expect("checkpoint")
                .map_or(0, |c| u64::from(c.last_uid));
            if done > 0 && first.is_none() {
                first = Some((t.elapsed().as_secs_f64(), done));
            }
            if done >= n {
                committed = Some(t.elapsed().as_secs_f64());
                cpu_at_commit = cpu_secs(pid);
                // Default actions: `ignored` is `seen` (stays in INBOX); every other
                // outcome is moved out.
                let stats = store.stats().await.expect("stats");
                left_in_inbox = stats
                    .messages_by_outcome
                    .get("ignored")
                    .copied()
                    .unwrap_or(0);
            }
        } else if Instant::now() >= next_status {
            let mb = watch
                .status("INBOX", "(MESSAGES UNSEEN)")
                .await
                .expect("STATUS INBOX");
            last_status = (mb.exists, mb.unseen);
            if u64::from(mb.exists) == left_in_inbox && mb.unseen == Some(0) {
                break t.elapsed().as_secs_f64();
            }
            next_status = Instant::now() + Duration::from_millis(100);
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("leje run exited early ({st}):\n{}", h.log());
        }
        if t.elapsed() > Duration::from_secs(1800) {
            panic!(
                "leje did not finish in 30 min ({}/{n} committed; INBOX: {} messages, {:?} unseen, {left_in_inbox} expected to stay)",
                support::count_processed(&store).await,
                last_status.0,
                last_status.1,
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let leje_secs = committed.unwrap();
    hwm_kb = hwm_kb.max(vm_hwm_kb(pid).unwrap_or(0));
    sigterm(pid);
    let _ = child.wait();
    if level != "warn" {
        let _ = std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-ingest-leje.log"),
            h.log(),
        );
    }
    let leje_rate = n as f64 / leje_secs;
    let (rows, cases, outbox) = support::totals(&store).await;
    assert_eq!((rows, cases, outbox), (n, notifications, notifications));
    println!(
        "leje run end to end: {n} messages all committed in {leje_secs:.2}s = {leje_rate:.0} msg/s"
    );
    println!(
        "leje run end to end: INBOX settled (after-processing MOVEs and STOREs applied; {left_in_inbox} ignored left there, all \\Seen) in {settled_secs:.2}s = {:.0} msg/s",
        n as f64 / settled_secs
    );
    println!(
        "ratio leje (all committed) / raw fetch: {:.1} % (target >= 25 %)",
        100.0 * leje_rate / raw_rate
    );
    if let Some((first, first_done)) = first {
        println!(
            "of which start-up, until the first message was committed: {:.0} ms (polled every 20 ms)",
            first * 1e3
        );
        // NOTE: a second view, not the target's: the raw fetch is timed after its
        // login and EXAMINE, so this leaves leje's start-up (exec, store, login,
        // SELECT, the first group) out too. The headline above keeps it in.
        if first < leje_secs && first_done < n {
            let steady = (n - first_done) as f64 / (leje_secs - first);
            println!(
                "leje after its first commit: {} messages in {:.2}s = {steady:.0} msg/s ({:.1} % of the raw fetch; start-up left out as the raw fetch's login and EXAMINE are)",
                n - first_done,
                leje_secs - first,
                100.0 * steady / raw_rate
            );
        }
    }
    println!(
        "peak RSS (VmHWM) of leje run: {:.1} MB (target < 25 MB)",
        hwm_kb as f64 / 1024.0
    );
    if let Some(cpu) = cpu_at_commit {
        println!(
            "leje's CPU time until all committed: {cpu:.2}s user+sys = {:.0} µs per message ({:.0} % of one core over {leje_secs:.2}s)",
            cpu * 1e6 / n as f64,
            100.0 * cpu / leje_secs
        );
    }
    let _ = watch.logout().await;

    // --- latency with IDLE, beside the server's floor ---------------------------------
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
    let mut floor_client = IdleWatch::start(stack, &user).await;
    let mut child = h.spawn_binary();
    // Wait until it is connected and idling: the first checkpoint-less check is silent,
    // so use a first message as the "ready" signal.
    let warm = mail::notification(salt, 1_000_000, false, false, true);
    imap.append("INBOX", &warm.raw).await;
    support::wait_until(Duration::from_secs(30), "warm-up message", || async {
        (support::count_processed(&store).await == 1).then_some(())
    })
    .await;
    // leje may have found (and moved) the warm-up message before any IDLE notification,
    // so the bare client may never announce it: let every notification about it arrive.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    floor_client.drain();
    let mut floor = Vec::with_capacity(lat_n as usize);
    let mut lat = Vec::with_capacity(lat_n as usize);
    let mut share = Vec::with_capacity(lat_n as usize);
    // leje's latency for every message, announced to the bare client or not.
    let mut lat_all = Vec::with_capacity(lat_n as usize);
    let mut unannounced = 0u64;
    for i in 0..lat_n {
        // Dovecot arms its 500 ms notification delay on the first change after the last
        // notification and does not re-arm it for later ones. The bare client idles
        // throughout, so leje's MOVE of the previous message arms its delay; an APPEND
        // in that window would be announced early (seen: ~400 ms) while leje still
        // waits the full 500 ms. So wait until that MOVE has been announced, then a
        // random gap, then APPEND into a quiet mailbox.
        floor_client
            .wait_empty(&format!("before message {i}"))
            .await;
        tokio::time::sleep(Duration::from_millis(fastrand::u64(50..=300))).await;
        floor_client.expect_quiet(i);
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
        let leje_ms = arrived.elapsed().as_secs_f64() * 1e3;
        lat_all.push(leje_ms);
        // Not seen by the bare session's sync and moved away by leje before its next
        // one: never announced (neither EXISTS nor EXPUNGE). Left out of all three.
        let Some(seen) = floor_client.next_exists(Duration::from_secs(5)).await else {
            unannounced += 1;
            continue;
        };
        let floor_ms = seen.saturating_duration_since(arrived).as_secs_f64() * 1e3;
        floor.push(floor_ms);
        lat.push(leje_ms);
        share.push(leje_ms - floor_ms);
    }
    sigterm(child.id());
    let _ = child.wait();
    floor_client.stop().await;
    imap.logout().await;
    let k = lat.len();
    if k == 0 {
        println!("latency with IDLE: none of {lat_n} messages announced to the bare IDLE client; no figures");
        return;
    }
    let (f, l, o) = (Pctl::of(floor), Pctl::of(lat), Pctl::of(share));
    if unannounced > 0 {
        println!(
            "{unannounced} of {lat_n} messages never announced to the bare IDLE client (leje moved them out before its sync saw them); left out below"
        );
    }
    println!(
        "IDLE floor over {k} messages (APPEND done -> a bare client idling on INBOX reads `* N EXISTS`): median {:.0} ms, p99 {:.0} ms, max {:.0} ms (Dovecot 2.3 holds every IDLE notification back 500 ms; no IDLE client can be faster)",
        f.median, f.p99, f.max
    );
    println!(
        "arrival-to-case latency with IDLE over the same {k} messages: median {:.0} ms, p99 {:.0} ms, max {:.0} ms (target p99 < 500 ms; below the floor above, so out of reach with Dovecot IDLE)",
        l.median, l.p99, l.max
    );
    println!(
        "leje's own share (arrival-to-case minus floor, per message): median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        o.median, o.p99, o.max
    );
    // NOTE: the figures above leave out what the bare client never saw; this one
    // does not, so a message leje was slow on cannot hide among those.
    let a = Pctl::of(lat_all);
    println!(
        "arrival-to-case latency with IDLE over all {lat_n} messages: median {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        a.median, a.p99, a.max
    );
}

/// Median, p99 and maximum of a sample, in the sample's unit.
struct Pctl {
    median: f64,
    p99: f64,
    max: f64,
}

impl Pctl {
    fn of(mut v: Vec<f64>) -> Pctl {
        assert!(!v.is_empty(), "no samples");
        v.sort_by(f64::total_cmp);
        let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
        Pctl {
            median: at(0.5),
            p99: at(0.99),
            max: v[v.len() - 1],
        }
    }
}

/// A bare-socket IMAP session that stays in one IDLE on INBOX for the whole latency
/// run and reports every untagged `* N EXISTS` / `* N EXPUNGE` with the time it read
/// the line. Its EXISTS timing is the server's floor for any IDLE client.
struct IdleWatch {
    wr: tokio::net::tcp::OwnedWriteHalf,
    /// (when the line was read, messages in INBOX after it, how many it added)
    events: tokio::sync::mpsc::UnboundedReceiver<(Instant, u32, u32)>,
    reader: tokio::task::JoinHandle<()>,
    /// Messages in INBOX as far as the events received so far tell.
    exists: u32,
}

impl IdleWatch {
    /// LOGIN, SELECT INBOX, IDLE; returns once the server answered `+ idling`.
    async fn start(stack: &common::MailStack, user: &str) -> IdleWatch {
        let tcp = tokio::net::TcpStream::connect((stack.imap_host.as_str(), stack.imap_port))
            .await
            .expect("connect");
        tcp.set_nodelay(true).ok();
        let (rd, mut wr) = tcp.into_split();
        let mut rd = BufReader::new(rd);
        let mut exists = 0u32;
        let mut line = Vec::new();
        rd.read_until(b'\n', &mut line).await.unwrap();
        let login = format!("a LOGIN \"{user}\" \"{}\"\r\n", stack.password);
        for (cmd, done) in [
            (login.as_str(), &b"a "[..]),
            ("b SELECT INBOX\r\n", b"b "),
            ("c IDLE\r\n", b"+"),
        ] {
            wr.write_all(cmd.as_bytes()).await.unwrap();
            loop {
                line.clear();
                let k = rd.read_until(b'\n', &mut line).await.unwrap();
                assert!(k > 0, "bare IDLE client: connection closed");
                if line.starts_with(done) {
                    assert!(
                        done == b"+" || line[done.len()..].starts_with(b"OK"),
                        "bare IDLE client: {}",
                        String::from_utf8_lossy(&line)
                    );
                    break;
                }
                let _ = track_exists(&line, &mut exists);
            }
        }
        let start = exists;
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut line = Vec::new();
            loop {
                line.clear();
                match rd.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let at = Instant::now();
                // `* OK Still here`, `* N FETCH (FLAGS …)`, `* N RECENT` and, after
                // DONE, the tagged answers are no events.
                if let Some(new) = track_exists(&line, &mut exists) {
                    if tx.send((at, exists, new)).is_err() {
                        return;
                    }
                }
            }
        });
        IdleWatch {
            wr,
            events,
            reader,
            exists: start,
        }
    }

    /// The next event before `deadline`, if any.
    async fn event(&mut self, deadline: Instant) -> Option<(Instant, u32)> {
        match tokio::time::timeout_at(deadline.into(), self.events.recv()).await {
            Ok(Some((at, exists, new))) => {
                self.exists = exists;
                Some((at, new))
            }
            Ok(None) => panic!("bare IDLE client: connection closed"),
            Err(_) => None,
        }
    }

    /// When the EXISTS for the one message just appended was read; None if none came
    /// within `wait`.
    async fn next_exists(&mut self, wait: Duration) -> Option<Instant> {
        let deadline = Instant::now() + wait;
        loop {
            match self.event(deadline).await? {
                (at, 1) => return Some(at),
                (_, 0) => continue,
                (_, new) => panic!("bare IDLE client: {new} messages announced at once"),
            }
        }
    }

    /// Waits until every message seen in INBOX has been announced gone.
    async fn wait_empty(&mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.exists > 0 {
            if self.event(deadline).await.is_none() {
                panic!(
                    "bare IDLE client: INBOX still holds {} message(s) after 30 s, {what}",
                    self.exists
                );
            }
        }
    }

    /// Takes in whatever has been announced so far.
    fn drain(&mut self) {
        while let Ok((_, exists, _)) = self.events.try_recv() {
            self.exists = exists;
        }
    }

    /// No message announced between messages: each EXISTS belongs to one APPEND.
    fn expect_quiet(&mut self, i: u64) {
        while let Ok((_, exists, new)) = self.events.try_recv() {
            self.exists = exists;
            assert_eq!(
                new, 0,
                "bare IDLE client: unexpected new mail before message {i}"
            );
        }
    }

    async fn stop(mut self) {
        let _ = self.wr.write_all(b"DONE\r\nd LOGOUT\r\n").await;
        if tokio::time::timeout(Duration::from_secs(5), &mut self.reader)
            .await
            .is_err()
        {
            self.reader.abort();
        }
    }
}

/// Follows the message count through untagged `* N EXISTS` / `* N EXPUNGE`; for those
/// two, returns how many messages the line added (0 for EXPUNGE).
fn track_exists(line: &[u8], exists: &mut u32) -> Option<u32> {
    let s = std::str::from_utf8(line).ok()?.trim_end();
    let (num, word) = s.strip_prefix("* ")?.split_once(' ')?;
    let num: u32 = num.parse().ok()?;
    if word.eq_ignore_ascii_case("EXPUNGE") {
        *exists = exists.saturating_sub(1);
        Some(0)
    } else if word.eq_ignore_ascii_case("EXISTS") {
        let new = num.saturating_sub(*exists);
        *exists = num;
        Some(new)
    } else {
        None
    }
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

/// User + system CPU seconds the process has used so far (/proc/PID/stat).
fn cpu_secs(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`, which may itself hold spaces.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // NOTE: USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
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
