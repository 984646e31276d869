//! The daemon against the real Dovecot of `scripts/mailstack` (issue 6): new mail by
//! IDLE and by polling, exactly-once across graceful restarts and kill -9, a
//! UIDVALIDITY change, the server going away under the daemon, oversize mail, a
//! 10,000-message first start, `since`, /healthz + /metrics, and XOAUTH2 (`oauth.rs`).
//!
//! Every test has its own IMAP user and its own SQLite store, so they run in parallel.

mod common;
#[path = "daemon/mail.rs"]
mod mail;
#[path = "daemon/oauth.rs"]
mod oauth;
#[path = "daemon/support.rs"]
mod support;

use std::time::Duration;

use mail::{noise, notification, realistic};
use support::{assert_exactly_once, count_processed, totals, wait_until, Harness, Opts};

fn salt() -> u32 {
    fastrand::u32(..)
}

/// Every generated notification is recognised by the real parser (else the tests
/// below would prove nothing about cases).
#[test]
fn generated_mail_is_recognised() {
    let s = salt();
    for seq in 0..40 {
        let m = realistic(s, seq);
        let p = leje::parse::parse(&m.raw);
        match &m.doc {
            Some(doc) => {
                assert_eq!(
                    p.kind,
                    leje::parse::Kind::PermitApproved,
                    "seq {seq}: {:?}",
                    p.reason
                );
                assert_eq!(p.travel_document.as_deref(), Some(doc.as_str()));
            }
            None => assert_ne!(p.kind, leje::parse::Kind::PermitApproved),
        }
        assert_eq!(p.message_id.as_deref(), Some(m.message_id.as_str()));
    }
    let with_pdf = notification(s, 1, true, true, true);
    let p = leje::parse::parse(&with_pdf.raw);
    assert_eq!(p.waybills.len(), 1);
    assert_eq!(p.waybills[0].amount_lek, Some(5700));
}

async fn new_mail_arrives(idle: bool) {
    let Some(stack) = common::stack() else { return };
    let user = common::unique_user(if idle { "d-idle" } else { "d-poll" });
    let http = support::free_port();
    let opts = Opts {
        idle,
        poll: if idle { "30s" } else { "1s" },
        http_port: Some(http),
        stale_after: "20s",
        ..Default::default()
    };
    let h = Harness::new(stack, &user, stack.imap_port, &opts);
    let mut imap = stack.imap(&user).await;
    let store = h.store().await; // migrated before the daemon opens it
    let daemon = h.start();
    // Connected and idle (or polling) on an empty INBOX.
    wait_until(Duration::from_secs(10), "first check", || async {
        let (code, body) = support::http_get(http, "/healthz").await;
        (code == 200 && body.contains("last check 0s ago")).then_some(())
    })
    .await;

    let s = salt();
    let n = notification(s, 1, false, false, true);
    let q = noise(s, 3);
    imap.append("INBOX", &n.raw).await;
    imap.append("INBOX", &q.raw).await;
    // With IDLE this is immediate; the 30 s poll interval would be too slow for the deadline.
    let deadline = if idle { 5 } else { 10 };
    wait_until(
        Duration::from_secs(deadline),
        "two processed messages",
        || async { (count_processed(&store).await == 2).then_some(()) },
    )
    .await;
    let (rows, cases, outbox) = totals(&store).await;
    assert_eq!((rows, cases, outbox), (2, 1, 1));
    let case = store
        .case_by_document(n.doc.as_deref().unwrap())
        .await
        .unwrap()
        .expect("case");
    assert_eq!(case.name.as_deref(), Some("Maria Smith"));
    // The console's search terms are written by the daemon's background job, not
    // by a search (nobody searches here).
    let url = h.store_url.clone();
    wait_until(Duration::from_secs(20), "search terms indexed", || {
        let url = url.clone();
        async move {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&url).await.ok()?;
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_terms WHERE term = 'smith'")
                .fetch_one(&mut c)
                .await
                .ok()?;
            (n == 1).then_some(())
        }
    })
    .await;

    // Actions: the notification moved to leje/processed, the noise marked \Seen in place.
    let moved = imap
        .wait_for("leje/processed", 1, Duration::from_secs(5))
        .await;
    assert_eq!(moved[0].raw, n.raw);
    let inbox = imap.messages("INBOX").await;
    assert_eq!(inbox.len(), 1);
    assert!(inbox[0].has_flag("\\Seen"), "{:?}", inbox[0].flags);

    let (code, metrics) = support::http_get(http, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("leje_messages{outcome=\"case_created\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("leje_outbox{status=\"pending\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("leje_cases{stage=\"approved\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("leje_mailbox_connected{mailbox=\"shared\"} 1\n"),
        "{metrics}"
    );
    assert!(metrics.contains("leje_mailbox_last_check_age_seconds{mailbox=\"shared\"} "));
    daemon.stop().await;
    imap.logout().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_mail_by_idle() {
    new_mail_arrives(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_mail_by_polling() {
    new_mail_arrives(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_batch_processes_each_message_once() {
    let Some(stack) = common::stack() else { return };
    let user = common::unique_user("d-restart");
    let s = salt();
    // NOTE: enough mail that the stops below land mid-backlog: with commits grouped,
    // 150 messages were sometimes all done between reaching 75 and the stop.
    let msgs: Vec<_> = (0..600).map(|i| realistic(s, i)).collect();
    support::seed_maildir(stack, &user, msgs.iter().map(|m| m.raw.clone()), None).await;
    let opts = Opts {
        batch: 20,
        ..Default::default()
    };
    let h = Harness::new(stack, &user, stack.imap_port, &opts);
    let store = h.store().await;

    // Stop in the middle of a batch (after 30 messages: the second batch of 20), twice.
    for stop_at in [30usize, 75] {
        let daemon = h.start();
        wait_until(Duration::from_secs(60), "partial progress", || async {
            (count_processed(&store).await >= stop_at).then_some(())
        })
        .await;
        daemon.stop().await;
        let done = count_processed(&store).await;
        assert!(
            done < msgs.len(),
            "finished before the stop; test proves nothing"
        );
        // Stopped means stopped: nothing moves afterwards.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(count_processed(&store).await, done);
    }
    let daemon = h.start();
    wait_until(Duration::from_secs(120), "all messages", || async {
        (count_processed(&store).await == msgs.len()).then_some(())
    })
    .await;
    daemon.stop().await;
    let ids: Vec<String> = msgs.iter().map(|m| m.message_id.clone()).collect();
    assert_exactly_once(&store, &ids).await;
    let notifications = msgs.iter().filter(|m| m.doc.is_some()).count() as u64;
    let (_, cases, outbox) = totals(&store).await;
    assert_eq!(cases, notifications);
    assert_eq!(outbox, notifications);
    // And every message left the INBOX or was marked \Seen: actions ran for all.
    let mut imap = stack.imap(&user).await;
    let processed = imap.count("leje/processed").await as u64;
    assert_eq!(processed, notifications);
    imap.logout().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_ingest_loses_and_repeats_nothing() {
    let Some(stack) = common::stack() else { return };
    let user = common::unique_user("d-kill");
    let s = salt();
    let msgs: Vec<_> = (0..1000).map(|i| realistic(s, i)).collect();
    support::seed_maildir(stack, &user, msgs.iter().map(|m| m.raw.clone()), None).await;
    let h = Harness::new(stack, &user, stack.imap_port, &Opts::default());
    let store = h.store().await;
    let mut kills = 0;
    for round in 0..4 {
        let before = count_processed(&store).await;
        if before == msgs.len() {
            break;
        }
        let mut child = h.spawn_binary();
        // Wait for progress in this round, then kill at a random point.
        wait_until(
            Duration::from_secs(60),
            "progress before the kill",
            || async { (count_processed(&store).await > before).then_some(()) },
        )
        .await;
        // NOTE: a whole 1,000-message backlog takes about a second now; kill early.
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..150))).await;
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        kills += 1;
        eprintln!(
            "round {round}: killed after {} processed",
            count_processed(&store).await
        );
    }
    assert!(
        kills >= 2,
        "the ingest was too fast to be killed twice; test proves little"
    );
    let mut child = h.spawn_binary();
    wait_until(Duration::from_secs(180), "all 1000 messages", || async {
        (count_processed(&store).await == msgs.len()).then_some(())
    })
    .await;
    let notification_ids: std::collections::HashSet<&str> = msgs
        .iter()
        .filter(|m| m.doc.is_some())
        .map(|m| m.message_id.as_str())
        .collect();
    // NOTE: when the last kill came after the last commit, "all processed" is true
    // before this run has even started; wait for its replay of the pending actions
    // to empty INBOX of notifications (bounded, so a lost move still fails below).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut imap = stack.imap(&user).await;
        let left = imap.messages("INBOX").await;
        imap.logout().await;
        let settled = left
            .iter()
            .all(|m| !notification_ids.contains(message_id(m).as_str()));
        if settled || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // SIGTERM: graceful.
    unsafe_sigterm(child.id());
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "leje run exited with {status}; log:\n{}",
        h.log()
    );

    let ids: Vec<String> = msgs.iter().map(|m| m.message_id.clone()).collect();
    assert_exactly_once(&store, &ids).await;
    let notifications = msgs.iter().filter(|m| m.doc.is_some()).count() as u64;
    let (_, cases, outbox) = totals(&store).await;
    assert_eq!(cases, notifications, "each case exactly once");
    assert_eq!(outbox, notifications, "one outbox row per case");
    for m in msgs.iter().filter_map(|m| m.doc.as_deref()).take(50) {
        assert!(store.case_by_document(m).await.unwrap().is_some());
    }
    // The after-processing actions pending at each kill were applied after the
    // restart: no notification is left in INBOX, and what is left (ignored mail,
    // whose default action is \Seen) was flagged.
    let mut imap = stack.imap(&user).await;
    let left = imap.messages("INBOX").await;
    for m in &left {
        let mid = message_id(m);
        assert!(
            !notification_ids.contains(mid.as_str()),
            "notification {mid} still in INBOX after the restart: its move was lost"
        );
        assert!(
            m.has_flag("\\Seen"),
            "ignored message {mid} not flagged \\Seen"
        );
    }
    assert_eq!(
        imap.count("leje/processed").await as usize,
        notification_ids.len(),
        "every notification moved exactly once"
    );
    imap.logout().await;
}

/// The Message-ID of a fetched message without its angle brackets.
fn message_id(m: &common::TestMessage) -> String {
    let mid = m.header("Message-ID").unwrap_or_default();
    mid.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

fn unsafe_sigterm(pid: u32) {
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uidvalidity_change_sends_nothing_again() {
    let Some(stack) = common::stack() else { return };
    let user = common::unique_user("d-uidv");
    let opts = Opts {
        folder: "shared",
        ..Default::default()
    };
    let h = Harness::new(stack, &user, stack.imap_port, &opts);
    let store = h.store().await;
    let s = salt();
    let msgs: Vec<_> = (0..6).map(|i| realistic(s, i * 7)).collect();
    let mut imap = stack.imap(&user).await;
    for m in &msgs {
        imap.append("shared", &m.raw).await;
    }
    let daemon = h.start();
    wait_until(Duration::from_secs(20), "first pass", || async {
        (count_processed(&store).await == msgs.len()).then_some(())
    })
    .await;
    daemon.stop().await;
    let before = totals(&store).await;
    let cp_before = store
        .checkpoint("shared")
        .await
        .unwrap()
        .expect("checkpoint");

    // The folder is deleted and recreated (new UIDVALIDITY), and the same messages come back.
    support::delete_folder(stack, &user, "shared").await;
    tokio::time::sleep(Duration::from_millis(1100)).await; // a new second: a new UIDVALIDITY
    for m in &msgs {
        imap.append("shared", &m.raw).await;
    }
    let fresh = notification(s, 999, true, false, true);
    imap.append("shared", &fresh.raw).await;

    let daemon = h.start();
    wait_until(Duration::from_secs(20), "the new message", || async {
        store
            .case_by_document(fresh.doc.as_deref().unwrap())
            .await
            .unwrap()
            .map(|_| ())
    })
    .await;
    // Give it time to (wrongly) process the old ones too, then compare.
    wait_until(
        Duration::from_secs(20),
        "checkpoint past every message",
        || async {
            let cp = store.checkpoint("shared").await.unwrap()?;
            (cp.uidvalidity != cp_before.uidvalidity && cp.last_uid > msgs.len() as u32)
                .then_some(())
        },
    )
    .await;
    daemon.stop().await;
    let after = totals(&store).await;
    assert_eq!(
        after.1,
        before.1 + 1,
        "cases: only the new notification adds one"
    );
    assert_eq!(
        after.2,
        before.2 + 1,
        "outbox: only the new notification adds one"
    );
    assert_eq!(
        after.0,
        before.0 + 1,
        "processed rows: the re-appended ones are not recorded again"
    );
    imap.logout().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dovecot_restart_under_the_daemon() {
    let Some(stack) = common::stack() else { return };
    let own = support::OwnDovecot::start(stack);
    let user = common::unique_user("d-bounce");
    let http = support::free_port();
    let opts = Opts {
        poll: "2s",
        http_port: Some(http),
        stale_after: "3s",
        reconnect_max: "1s",
        ..Default::default()
    };
    let h = Harness::new(stack, &user, own.port, &opts);
    let store = h.store().await;
    let mut imap = stack.imap(&user).await; // the shared instance: same Maildir
    let s = salt();
    let daemon = h.start();
    let first = notification(s, 1, false, true, true);
    imap.append("INBOX", &first.raw).await;
    wait_until(Duration::from_secs(15), "first message", || async {
        (count_processed(&store).await == 1).then_some(())
    })
    .await;

    own.down();
    // Mail keeps arriving while the server is down.
    let second = notification(s, 2, true, false, true);
    imap.append("INBOX", &second.raw).await;
    // /healthz turns 503 once the last check is older than stale_after.
    wait_until(Duration::from_secs(15), "/healthz to fail", || async {
        let (code, body) = support::http_get(http, "/healthz").await;
        (code == 503 && body.contains("disconnected")).then_some(())
    })
    .await;
    assert_eq!(count_processed(&store).await, 1);
    let (_, metrics) = support::http_get(http, "/metrics").await;
    assert!(
        metrics.contains("leje_errors_total{component=\"shared\",kind=\"connect\"}")
            || metrics.contains("leje_errors_total{component=\"shared\",kind=\"io\"}"),
        "{metrics}"
    );

    own.up();
    wait_until(
        Duration::from_secs(20),
        "second message after the restart",
        || async { (count_processed(&store).await == 2).then_some(()) },
    )
    .await;
    wait_until(Duration::from_secs(10), "/healthz to recover", || async {
        (support::http_get(http, "/healthz").await.0 == 200).then_some(())
    })
    .await;
    daemon.stop().await;
    assert_exactly_once(&store, &[first.message_id, second.message_id]).await;
    imap.logout().await;
}

/// `Session::oversize` asks the server (`SEARCH LARGER`) which messages are over
/// the limit: one byte over is, the limit itself is not, and only UIDs asked about
/// come back, each with its size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_search_draws_the_line_at_the_limit() {
    let Some(stack) = common::stack() else { return };
    let user = common::unique_user("d-larger");
    let h = Harness::new(stack, &user, stack.imap_port, &Opts::default());
    let mut imap = stack.imap(&user).await;
    let limit = 4096u64;
    let sized = |n: u64| {
        let head = "Subject: padded\r\n\r\n";
        format!("{head}{}", "x".repeat(n as usize - head.len())).into_bytes()
    };
    for n in [limit - 1, limit, limit + 1, 3 * limit] {
        imap.append("INBOX", &sized(n)).await;
    }
    let mb = &h.settings().mailboxes[0];
    let mut s = leje::imap::session::Session::open(mb).await.expect("open");
    s.select("INBOX").await.expect("select");
    let all = s.uids_since(None).await.expect("search");
    assert_eq!(all.len(), 4);
    let big = s.oversize(&all, limit).await.expect("oversize");
    assert_eq!(big, vec![(all[2], limit + 1), (all[3], 3 * limit)]);
    // Only what was asked about.
    let big = s.oversize(&all[..3], limit).await.expect("oversize");
    assert_eq!(big, vec![(all[2], limit + 1)]);
    // No limit a 32-bit size can pass.
    assert!(s
        .oversize(&all, u64::from(u32::MAX))
        .await
        .unwrap()
        .is_empty());
    s.logout().await;
    imap.logout().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_message_is_recorded_and_moved_aside_unfetched() {
    let Some(stack) = common::stack() else { return };
    let user = common::unique_user("d-big");
    let opts = Opts {
        max_size: "64KiB",
        ..Default::default()
    };
    let h = Harness::new(stack, &user, stack.imap_port, &opts);
    let store = h.store().await;
    let mut imap = stack.imap(&user).await;
    let s = salt();
    let small1 = notification(s, 1, false, false, true);
    let mut big = notification(s, 2, false, false, true);
    // A 300 KB scan-like attachment pushes it over the limit.
    let filler = mail::base64_mime(&vec![0x5a; 300 * 1024]);
    let text = String::from_utf8(big.raw.clone()).unwrap();
    let boundary_end = text.rfind("--\r\n").unwrap();
    let boundary_start = text[..boundary_end].rfind("\r\n--").unwrap() + 2;
    let boundary = &text[boundary_start..boundary_end];
    big.raw = format!(
        "{}{boundary}\r\nContent-Type: image/png; name=\"scan.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{filler}\r\n{boundary}--\r\n",
        &text[..boundary_start]
    )
    .into_bytes();
    assert!(big.raw.len() > 300 * 1024);
    let small2 = notification(s, 3, true, false, true);
    imap.append("INBOX", &small1.raw).await;
    imap.append("INBOX", &big.raw).await;
    imap.append("INBOX", &small2.raw).await;

    let daemon = h.start();
    wait_until(Duration::from_secs(20), "three rows", || async {
        (count_processed(&store).await == 3).then_some(())
    })
    .await;
    let oversize = imap
        .wait_for("leje/oversize", 1, Duration::from_secs(5))
        .await;
    assert_eq!(oversize[0].raw, big.raw);
    daemon.stop().await;
    let rows = support::processed(&store).await;
    let skipped: Vec<_> = rows
        .iter()
        .filter(|r| r.outcome == leje::store::Outcome::Skipped)
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        skipped[0].message_id.as_deref(),
        Some(big.message_id.as_str())
    );
    let reason = skipped[0].reason.as_deref().unwrap_or("");
    assert!(reason.contains("max_message_size"), "{reason}");
    // The size is the server's, asked for this message alone.
    assert!(
        reason.contains(&format!("message is {} bytes", big.raw.len())),
        "{reason}"
    );
    let (_, cases, _) = totals(&store).await;
    assert_eq!(
        cases, 2,
        "both small notifications became cases, the big one did not"
    );
    assert!(store
        .case_by_document(big.doc.as_deref().unwrap())
        .await
        .unwrap()
        .is_none());
    // Order kept: the checkpoint is past all three.
    let cp = store.checkpoint("shared").await.unwrap().unwrap();
    assert_eq!(cp.last_uid, 3);
    imap.logout().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_on_first_start() {
    let Some(stack) = common::stack() else { return };
    let user = common::unique_user("d-10k");
    let s = salt();
    let n = 10_000u64;
    let seeded =
        support::seed_maildir(stack, &user, (0..n).map(|i| realistic(s, i).raw), None).await;
    assert_eq!(seeded as u64, n);
    let opts = Opts {
        batch: 100,
        level: "info",
        ..Default::default()
    };
    let h = Harness::new(stack, &user, stack.imap_port, &opts);
    let store = h.store().await;
    let t = std::time::Instant::now();
    // The real binary, for its log (at the default level, `info`).
    let mut daemon = h.spawn_binary();
    wait_until(Duration::from_secs(900), "10,000 messages", || async {
        (count_processed(&store).await == n as usize).then_some(())
    })
    .await;
    let took = t.elapsed();
    // The after-processing actions reach the server: every notification is moved
    // out, the ignored mail stays. Ignored mail sits between them, so the moved UIDs
    // make a set longer than the test server takes on one command line
    // (`imap_max_line_length = 10k` in scripts/mailstack): it must be split.
    let moved: Vec<u32> = (0..n)
        .filter(|&i| realistic(s, i).doc.is_some())
        .map(|i| i as u32 + 1)
        .collect();
    let notifications = moved.len() as u64;
    let set_len = leje::imap::uid_set(&moved).len();
    assert!(set_len > 10 * 1024, "the moved set is only {set_len} bytes");
    let mut imap = stack.imap(&user).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut inbox = imap.count("INBOX").await as u64;
    while inbox != n - notifications {
        assert!(
            std::time::Instant::now() < deadline,
            "INBOX still holds {inbox} messages, {} expected (the ignored ones):\n{}",
            n - notifications,
            h.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        inbox = imap.count("INBOX").await as u64;
    }
    assert_eq!(
        imap.count("leje/processed").await as u64,
        notifications,
        "every notification moved out"
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    assert!(daemon.wait().unwrap().success(), "{}", h.log());
    eprintln!(
        "10,000 messages in {:.1}s ({:.0}/s, debug build)",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
    let (rows, cases, outbox) = totals(&store).await;
    assert_eq!((rows, cases, outbox), (n, notifications, notifications));
    let cp = store.checkpoint("shared").await.unwrap().unwrap();
    assert_eq!(cp.last_uid, n as u32);
    // Group commit: the messages of one transaction share its timestamp. No group
    // is over `batch_size`, and a backlog is not committed one message at a time.
    let mut groups: std::collections::HashMap<_, usize> = Default::default();
    for m in store.messages(None, n as u32).await.unwrap() {
        *groups.entry(m.at).or_default() += 1;
    }
    let largest = groups.values().copied().max().unwrap_or(0);
    eprintln!(
        "{} transactions, the largest {largest} messages",
        groups.len()
    );
    assert!(
        largest <= opts.batch as usize,
        "a group over batch_size: {largest}"
    );
    assert!(
        groups.len() < n as usize / 4,
        "{} transactions for {n} messages: commits are not grouped",
        groups.len()
    );
    // At the default level the backlog is logged a group at a time, and every
    // message is accounted for: in a group's line, or on its own (small groups).
    let log = h.log();
    let one_by_one = log.matches(" message processed").count();
    let in_groups: usize = log
        .lines()
        .filter(|l| l.contains(" messages processed"))
        .map(|l| {
            let k = l.split(" messages=").nth(1).expect("a count");
            k.split(' ')
                .next()
                .unwrap()
                .parse::<usize>()
                .expect("a number")
        })
        .sum();
    assert_eq!(
        one_by_one + in_groups,
        n as usize,
        "log lines account for every message"
    );
    assert!(
        one_by_one < n as usize / 10,
        "{one_by_one} per-message lines for a backlog of {n}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_skips_older_messages_on_first_start() {
    let Some(stack) = common::stack() else { return };
    let user = common::unique_user("d-since");
    let s = salt();
    let old: Vec<_> = (0..5)
        .map(|i| notification(s, i, false, false, false))
        .collect();
    let long_ago = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000); // 2020-09
    support::seed_maildir(
        stack,
        &user,
        old.iter().map(|m| m.raw.clone()),
        Some(long_ago),
    )
    .await;
    let opts = Opts {
        since: Some("2024-01-01"),
        ..Default::default()
    };
    let h = Harness::new(stack, &user, stack.imap_port, &opts);
    let store = h.store().await;
    let mut imap = stack.imap(&user).await;
    let recent = notification(s, 100, true, true, true);
    imap.append("INBOX", &recent.raw).await;
    let daemon = h.start();
    wait_until(Duration::from_secs(20), "the recent message", || async {
        (count_processed(&store).await == 1).then_some(())
    })
    .await;
    // A message arriving later is picked up too; the old ones never.
    let later = notification(s, 101, false, false, true);
    imap.append("INBOX", &later.raw).await;
    wait_until(Duration::from_secs(20), "the later message", || async {
        (count_processed(&store).await == 2).then_some(())
    })
    .await;
    daemon.stop().await;
    assert_exactly_once(&store, &[recent.message_id, later.message_id]).await;
    assert_eq!(imap.count("INBOX").await, 5, "the old ones stay untouched");
    imap.logout().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_backs_off_and_reports() {
    let Some(stack) = common::stack() else { return };
    let user = common::unique_user("d-auth");
    let http = support::free_port();
    let opts = Opts {
        http_port: Some(http),
        reconnect_max: "1s",
        ..Default::default()
    };
    let h = Harness::new(stack, &user, stack.imap_port, &opts);
    std::fs::write(h.dir.path().join("imap.pw"), "not-the-password\n").unwrap();
    let daemon = h.start();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, metrics) = support::http_get(http, "/metrics").await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("leje_errors_total{component=\"shared\",kind=\"auth\"}"))
        .unwrap_or_else(|| panic!("no auth errors counted:\n{metrics}"));
    let n: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    // Backoff, not a busy loop: 3 s with delays of 0.5 s .. 1 s allow at most ~7 tries.
    assert!((1..=8).contains(&n), "{n} login attempts in 3 s");
    let (_, health) = support::http_get(http, "/healthz").await;
    assert!(health.contains("login as"), "{health}");
    assert!(!health.contains("not-the-password"));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_valid_config_and_keeps_old_on_invalid() {
    let Some(stack) = common::stack() else { return };
    let user = common::unique_user("d-hup");
    let opts = Opts {
        level: "info",
        ..Default::default()
    };
    let h = Harness::new(stack, &user, stack.imap_port, &opts);
    let store = h.store().await;
    let mut imap = stack.imap(&user).await;
    let s = salt();
    let mut child = h.spawn_binary();
    let hup = |pid: u32| {
        let _ = std::process::Command::new("kill")
            .arg("-HUP")
            .arg(pid.to_string())
            .status();
    };
    let first = notification(s, 1, false, false, true);
    imap.append("INBOX", &first.raw).await;
    wait_until(Duration::from_secs(20), "first message", || async {
        (count_processed(&store).await == 1).then_some(())
    })
    .await;

    // An invalid file: logged, and the daemon goes on with the old settings.
    let good = std::fs::read_to_string(&h.config).unwrap();
    std::fs::write(
        &h.config,
        good.replace("batch_size = 50", "batch_size = -3"),
    )
    .unwrap();
    hup(child.id());
    wait_until(
        Duration::from_secs(10),
        "the reload error in the log",
        || async { h.log().contains("keeping the running config").then_some(()) },
    )
    .await;
    assert!(h.log().contains("batch_size"), "{}", h.log());
    let second = notification(s, 2, false, false, true);
    imap.append("INBOX", &second.raw).await;
    wait_until(Duration::from_secs(20), "second message", || async {
        (count_processed(&store).await == 2).then_some(())
    })
    .await;
    // Still the old actions: moved.
    imap.wait_for("leje/processed", 2, Duration::from_secs(10))
        .await;

    // A valid change: processed mail now gets a keyword and stays in the INBOX.
    std::fs::write(
        &h.config,
        format!("{good}\n[mailbox.actions]\nprocessed = \"keyword:$LejeDone\"\n"),
    )
    .unwrap();
    hup(child.id());
    wait_until(Duration::from_secs(10), "the reload", || async {
        h.log()
            .contains("settings changed: restarting its worker")
            .then_some(())
    })
    .await;
    let third = notification(s, 3, false, false, true);
    imap.append("INBOX", &third.raw).await;
    wait_until(Duration::from_secs(20), "third message", || async {
        (count_processed(&store).await == 3).then_some(())
    })
    .await;
    let inbox = wait_until(Duration::from_secs(10), "the keyword", || async {
        let mut imap = stack.imap(&user).await;
        let m = imap.messages("INBOX").await;
        imap.logout().await;
        m.iter().any(|m| m.has_flag("$LejeDone")).then_some(m)
    })
    .await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].raw, third.raw);
    assert_eq!(imap.count("leje/processed").await, 2);

    unsafe_sigterm(child.id());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}\n{}", h.log());
    assert!(h.log().contains("shutting down"), "{}", h.log());
    imap.logout().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_and_starttls_with_a_private_ca() {
    let Some(stack) = common::stack() else { return };
    let own = support::OwnDovecot::start_tls(stack);
    let ca = own.ca_file.clone().unwrap();
    let s = salt();
    for (i, (mode, port)) in [("implicit", own.tls_port.unwrap()), ("starttls", own.port)]
        .into_iter()
        .enumerate()
    {
        let user = common::unique_user(&format!("d-tls-{mode}"));
        let opts = Opts {
            tls: mode,
            host: Some("localhost"),
            ca_file: Some(ca.clone()),
            ..Default::default()
        };
        let h = Harness::new(stack, &user, port, &opts);
        let store = h.store().await;
        let mut imap = stack.imap(&user).await;
        let m = notification(s, i as u64, false, false, true);
        imap.append("INBOX", &m.raw).await;
        let daemon = h.start();
        wait_until(
            Duration::from_secs(20),
            &format!("message over {mode} TLS"),
            || async { (count_processed(&store).await == 1).then_some(()) },
        )
        .await;
        daemon.stop().await;
        imap.logout().await;
    }

    // Without the CA the certificate is not trusted: a TLS error, counted, no mail read.
    let user = common::unique_user("d-tls-untrusted");
    let http = support::free_port();
    let opts = Opts {
        tls: "implicit",
        host: Some("localhost"),
        http_port: Some(http),
        ..Default::default()
    };
    let h = Harness::new(stack, &user, own.tls_port.unwrap(), &opts);
    let store = h.store().await;
    let mut imap = stack.imap(&user).await;
    imap.append("INBOX", &notification(s, 9, false, false, true).raw)
        .await;
    let daemon = h.start();
    let metrics = wait_until(Duration::from_secs(15), "a TLS error", || async {
        let (_, m) = support::http_get(http, "/metrics").await;
        m.contains("leje_errors_total{component=\"shared\",kind=\"tls\"}")
            .then_some(m)
    })
    .await;
    assert!(
        metrics.contains("leje_mailbox_connected{mailbox=\"shared\"} 0"),
        "{metrics}"
    );
    let (_, health) = support::http_get(http, "/healthz").await;
    assert!(health.contains("TLS with `localhost` failed"), "{health}");
    assert_eq!(count_processed(&store).await, 0);
    daemon.stop().await;
    imap.logout().await;
}
