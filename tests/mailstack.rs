//! The local mail system itself works: IMAP keeps what is appended, SMTP mail reaches the recipient's
//! own mailbox, and PostgreSQL answers queries. Every other integration test stands on this.

mod common;

use std::time::Duration;

use sqlx::{Connection, PgConnection, Row};

#[tokio::test]
async fn imap_append_then_read_back() {
    let Some(stack) = common::stack() else { return };
    let user = common::unique_user("append");
    let mut imap = stack.imap(&user).await;
    assert_eq!(imap.count("INBOX").await, 0, "a fresh user starts empty");

    let first = common::simple_message("a@leje.test", &user, "first", "één — ë, ç\nline 2");
    let second = common::simple_message("b@leje.test", &user, "second", "body two");
    imap.append("INBOX", &first).await;
    imap.append_with_flags("leje/processed", Some("(\\Seen)"), &second)
        .await;

    let inbox = imap.messages("INBOX").await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].raw, first, "bytes come back unchanged");
    assert!(
        !inbox[0].has_flag("\\Seen"),
        "reading with PEEK leaves it unseen"
    );
    assert_eq!(inbox[0].header("subject").as_deref(), Some("first"));

    let folders = imap.folders().await;
    assert!(
        folders.contains(&"leje/processed".to_string()),
        "{folders:?}"
    );
    let processed = imap.messages("leje/processed").await;
    assert_eq!(processed.len(), 1);
    assert!(processed[0].has_flag("\\Seen"), "{:?}", processed[0].flags);
    assert_eq!(processed[0].raw, second);
    assert_eq!(imap.count("does/not/exist").await, 0);

    // Another user does not see this user's mail.
    let mut other = stack.imap(&common::unique_user("other")).await;
    assert_eq!(other.count("INBOX").await, 0);
    other.logout().await;
    imap.logout().await;
}

#[tokio::test]
async fn smtp_mail_reaches_the_recipients_own_mailbox() {
    let Some(stack) = common::stack() else { return };
    let alice = common::unique_user("alice");
    let bob = common::unique_user("bob");
    let subject = common::unique_name("subject");
    let raw = common::simple_message("sender@leje.test", &alice, &subject, "hello over SMTP");
    // A session that looked at the empty INBOX before the mail came must still see it arrive.
    let mut early = stack.imap(&alice).await;
    assert!(early.messages("INBOX").await.is_empty());
    // Mixed case in the envelope: the mailbox is the lower-case address.
    let alice_upper = alice.to_uppercase();
    stack
        .smtp_send("sender@leje.test", &[&alice_upper, &bob], &raw)
        .await;

    let got = early.wait_for("INBOX", 1, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 1);
    early.logout().await;
    for user in [&alice, &bob] {
        let mut imap = stack.imap(user).await;
        let got = imap.wait_for("INBOX", 1, Duration::from_secs(20)).await;
        assert_eq!(got.len(), 1, "{user}: exactly one delivery");
        assert_eq!(got[0].header("Subject").as_deref(), Some(subject.as_str()));
        assert!(got[0].text().contains("hello over SMTP"));
        imap.logout().await;
    }
}

#[tokio::test]
async fn idle_reports_mail_delivered_over_smtp() {
    // The daemon waits for new mail with IDLE: Dovecot must push it without polling.
    use async_imap::extensions::idle::IdleResponse;

    let Some(stack) = common::stack() else { return };
    let user = common::unique_user("idle");
    let mut session = stack.imap(&user).await.into_session();
    let mb = session.select("INBOX").await.expect("SELECT INBOX");
    assert_eq!(mb.exists, 0);
    let mut idle = session.idle();
    idle.init().await.expect("IDLE");
    let (wait, _stop) = idle.wait_with_timeout(Duration::from_secs(20));
    let raw = common::simple_message("sender@leje.test", &user, "while idling", "ping");
    let send = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stack.smtp_send("sender@leje.test", &[&user], &raw).await;
    };
    let (woke, ()) = tokio::join!(wait, send);
    let woke = woke.expect("IDLE wait");
    assert!(
        matches!(woke, IdleResponse::NewData(_)),
        "IDLE ended without news: {woke:?}"
    );
    let mut session = idle.done().await.expect("DONE");
    let mb = session.select("INBOX").await.expect("SELECT INBOX");
    assert_eq!(mb.exists, 1);
    let _ = session.logout().await;
}

#[tokio::test]
async fn postgres_answers_and_gives_each_test_its_own_database() {
    let Some(stack) = common::stack() else { return };
    let mut shared = PgConnection::connect(&stack.postgres_url)
        .await
        .expect("connect to leje_test");
    let row = sqlx::query("SELECT 40 + 2 AS n, current_database() AS db")
        .fetch_one(&mut shared)
        .await
        .expect("query");
    assert_eq!(row.get::<i32, _>("n"), 42);
    assert_eq!(row.get::<String, _>("db"), "leje_test");

    let db = stack.fresh_postgres().await;
    let name = db.name.clone();
    let mut conn = PgConnection::connect(&db.url).await.expect("connect");
    sqlx::raw_sql("CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
        .execute(&mut conn)
        .await
        .expect("create table");
    let x: i32 = sqlx::query_scalar("SELECT x FROM t")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(x, 7);
    // `conn` is still open on purpose: dropping the TestDb must succeed anyway (FORCE).
    drop(db);
    drop(conn);
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut shared)
        .await
        .unwrap();
    assert_eq!(
        exists, None,
        "test database `{name}` is dropped with its TestDb"
    );
}

#[test]
fn unique_names_differ_and_are_valid_dovecot_users() {
    let a = common::unique_user("Some Test");
    let b = common::unique_user("Some Test");
    assert_ne!(a, b);
    for u in [&a, &b] {
        assert!(
            u.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.@".contains(c)),
            "{u}"
        );
    }
}
