//! The citizenship clock's email end to end: OpenSMTPD delivering into the
//! applicant's Dovecot mailbox, read back over IMAP; and the daemon's loop. Time
//! is an input: each pass is given its `now`.

mod common;
#[path = "citizenship/support.rs"]
mod support;

use std::time::Duration;

use chrono::Utc;
use leje::citizenship::pass::run_once;
use leje::config::{CitizenshipSettings, Settings, SmtpSettings, TlsMode};
use leje::notify::{send_due_once, SendOptions};
use leje::store::{Cause, FactsChange, OutboxKind, Stage, Store};
use support::*;

async fn mail_fixture(stack: &common::MailStack) -> (tempfile::TempDir, Store, Settings) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = leje::config::load(None).expect("embedded defaults");
    settings.state_dir = dir.path().to_path_buf();
    settings.store_url = format!("sqlite:{}", dir.path().join("leje.db").display());
    settings.instance = common::unique_name("citizenship-test");
    settings.smtp = Some(SmtpSettings {
        host: stack.smtp_host.clone(),
        port: stack.smtp_port,
        tls: TlsMode::None,
        ca_file: None,
        username: None,
        password: None,
        from: "leje <permits@leje.test>".into(),
        cc: Vec::new(),
        retry_for: Duration::from_secs(2 * 86400),
        max_per_recipient_per_day: 5,
        timeout: Duration::from_secs(10),
    });
    let store = Store::open(&settings.store_url, &settings.state_dir)
        .await
        .expect("open store");
    (dir, store, settings)
}

/// `user`'s INBOX holds exactly `n` messages, and still does a moment later.
async fn exactly(stack: &common::MailStack, user: &str, n: usize) -> Vec<common::TestMessage> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut imap = stack.imap(user).await;
        let c = imap.count("INBOX").await as usize;
        imap.logout().await;
        if c >= n || std::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut imap = stack.imap(user).await;
    let msgs = imap.messages("INBOX").await;
    imap.logout().await;
    assert_eq!(msgs.len(), n, "{user}: expected exactly {n} message(s)");
    msgs
}

async fn send(store: &Store, settings: &Settings) -> u32 {
    let r = send_due_once(
        store,
        settings,
        &SendOptions {
            now: Some(Utc::now()),
            ..Default::default()
        },
    )
    .await
    .expect("send pass");
    assert_eq!((r.retried, r.failed), (0, 0), "{r:?}");
    r.sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_fifth_anniversary_exactly_one_email_arrives() {
    let Some(stack) = common::stack() else { return };
    let (_dir, store, settings) = mail_fixture(stack).await;
    let applicant = common::unique_user("citizen");
    let doc = doc();
    ingest(
        &store,
        &approval(&doc, &applicant, "2021-03-10T10:00:00+01:00"),
    )
    .await;
    store
        .citizenship_set(
            &doc,
            &FactsChange {
                born: Some(Some(d("1990-04-12"))),
                ..Default::default()
            },
            "cli",
        )
        .await
        .unwrap();
    // The instructions email first.
    assert_eq!(send(&store, &settings).await, 1);
    exactly(stack, &applicant, 1).await;

    let cz = &settings.citizenship;
    // The day before the fifth anniversary, late in the evening in Tirana.
    let r = run_once(&store, cz, at(2026, 3, 9, 22)).await.unwrap();
    assert!(r.queued.is_empty(), "{r:?}");
    assert_eq!(send(&store, &settings).await, 0);
    // The clock jumps past it.
    let r = run_once(&store, cz, at(2026, 3, 10, 8)).await.unwrap();
    assert_eq!(r.queued.len(), 1, "{r:?}");
    assert_eq!(send(&store, &settings).await, 1);
    let msgs = exactly(stack, &applicant, 2).await;
    let m = msgs
        .iter()
        .find(|m| m.header("X-Leje-Kind").as_deref() == Some("citizenship"))
        .expect("the citizenship email");
    let parsed = mail_parser::MessageParser::default().parse(&m.raw).unwrap();
    let subject = parsed.subject().unwrap();
    assert!(
        subject.starts_with("You may now apply for Albanian citizenship"),
        "{subject}"
    );
    let text = parsed.body_text(0).unwrap();
    for want in [
        "Since 10 March 2026",
        "5 consecutive years",
        "article 9",
        "article 17",
        "Tirana",
        "six months",
        "three months",
        "oath",
    ] {
        assert!(text.contains(want), "`{want}` missing in:\n{text}");
    }
    assert!(
        !m.text().contains(&doc),
        "the travel document is not in the email"
    );

    // A second pass, and a pass after a restart, send nothing more.
    assert!(run_once(&store, cz, at(2026, 3, 11, 8))
        .await
        .unwrap()
        .queued
        .is_empty());
    store.close().await;
    let store = Store::open(&settings.store_url, &settings.state_dir)
        .await
        .unwrap();
    assert!(run_once(&store, cz, at(2026, 6, 1, 8))
        .await
        .unwrap()
        .queued
        .is_empty());
    assert_eq!(send(&store, &settings).await, 0);
    exactly(stack, &applicant, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_queued_before_the_case_closed_is_withdrawn_not_sent() {
    let Some(stack) = common::stack() else { return };
    let (_dir, store, settings) = mail_fixture(stack).await;
    let applicant = common::unique_user("closed");
    let doc = doc();
    let id = ingest(
        &store,
        &approval(&doc, &applicant, "2019-03-10T10:00:00+01:00"),
    )
    .await;
    assert_eq!(send(&store, &settings).await, 1, "the instructions");
    let row = store
        .citizenship_enqueue(&notice(id, "general", "2024-03-10"), Utc::now())
        .await
        .unwrap()
        .unwrap();
    store
        .advance(&doc, Stage::Closed, Cause::Cli, None)
        .await
        .unwrap();
    let r = send_due_once(&store, &settings, &SendOptions::default())
        .await
        .unwrap();
    assert_eq!((r.sent, r.failed), (0, 1), "{r:?}");
    let o = store.outbox_get(row).await.unwrap().unwrap();
    assert_eq!(o.status, leje::store::OutboxStatus::Failed);
    assert!(o
        .last_error
        .unwrap()
        .contains("withdrawn: the case is closed"));
    let case = store.case_by_id(id).await.unwrap().unwrap();
    assert_eq!(case.stage, Stage::Closed, "the case stays closed");
    exactly(stack, &applicant, 1).await;
}

/// The daemon's loop: a pass at start on the system clock, the outbox woken, and
/// a prompt stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_loop_queues_at_start_wakes_the_outbox_and_stops() {
    let env = env(false).await.unwrap();
    let doc = doc();
    ingest(
        &env.store,
        &approval(&doc, "l@example.com", "2015-03-10T10:00:00+01:00"),
    )
    .await;
    env.store
        .citizenship_set(
            &doc,
            &FactsChange {
                born: Some(Some(d("1980-01-01"))),
                ..Default::default()
            },
            "cli",
        )
        .await
        .unwrap();
    let kick = std::sync::Arc::new(tokio::sync::Notify::new());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(leje::citizenship::pass::run_loop(
        env.store.clone(),
        CitizenshipSettings::default(),
        kick.clone(),
        async move {
            let _ = stop_rx.await;
        },
    ));
    tokio::time::timeout(Duration::from_secs(20), kick.notified())
        .await
        .expect("the outbox is woken after the first pass");
    let rows: Vec<_> = env
        .store
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == OutboxKind::Citizenship)
        .collect();
    assert_eq!(rows.len(), 1);
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the loop stops")
        .unwrap();
}
