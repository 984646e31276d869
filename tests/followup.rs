//! After the first email, end to end (issue 20), against the real mail system
//! (OpenSMTPD → Dovecot, read back over IMAP) and the public pages served on a
//! real loopback listener, with a controllable clock:
//!
//! approval → instructions in the applicant's mailbox → 10 days pass → exactly
//! one reminder → the applicant POSTs "I have paid" through the link in it →
//! fee_paid, next reminder rescheduled → the applicant replies by email with a
//! photo → the case shows it → applied → collected, and no reminder after.

mod common;
#[path = "followup/common.rs"]
mod fc;

use std::time::Duration;

use chrono::Utc;
use leje::config::{Settings, SmtpSettings, TlsMode};
use leje::links::Signer;
use leje::notify::{send_due_once, SendOptions};
use leje::parse::Language;
use leje::store::{Cause, MailKind, Outcome, RemindState, Stage, Store};
use leje::web::public::PublicState;
use mail_parser::MessageParser;

use fc::{approval, days, http, ingest, serve_public, stage, TestClock};

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    settings: Settings,
    clock: TestClock,
    base: String,
}

async fn world(stack: &common::MailStack, inbox: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = leje::config::load(None).expect("embedded defaults");
    settings.state_dir = dir.path().to_path_buf();
    settings.store_url = format!("sqlite:{}", dir.path().join("leje.db").display());
    settings.instance = common::unique_name("followup-test");
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
        max_per_recipient_per_day: 0,
        timeout: Duration::from_secs(10),
    });
    // The whole day, so the test's clock may stand at any hour (the window has its own test).
    settings.followup.window = (0, 24 * 60);
    settings.followup.reply_to = Some(inbox.to_string());
    let store = Store::open(&settings.store_url, &settings.state_dir)
        .await
        .expect("open store");
    // A minute ahead, so rows the store creates at the wall clock are due at once.
    let clock = TestClock::new(Utc::now() + chrono::Duration::minutes(1));
    let signer = Signer::load_or_create(&leje::links::Signer::key_path(&settings)).unwrap();
    let base = serve_public(PublicState {
        store: store.clone(),
        signer: std::sync::Arc::new(signer),
        clock: clock.as_clock(),
        default_language: Language::En,
    })
    .await;
    settings.followup.public_url = Some(base.clone());
    World {
        _dir: dir,
        store,
        settings,
        clock,
        base,
    }
}

impl World {
    async fn send(&self) -> u32 {
        let r = send_due_once(
            &self.store,
            &self.settings,
            &SendOptions {
                now: Some(self.clock.now()),
                ..Default::default()
            },
        )
        .await
        .expect("send pass");
        assert_eq!((r.retried, r.failed), (0, 0), "{r:?}");
        r.sent
    }

    async fn pass(&self) -> leje::followup::PassReport {
        leje::followup::run_pass(&self.store, &self.settings.followup, self.clock.now(), true)
            .await
            .expect("reminder pass")
    }

    fn advance(&self, d: chrono::Duration) {
        self.clock.set(self.clock.now() + d);
    }
}

/// `user`'s INBOX holds exactly `n` messages (waiting for delivery, then a moment more).
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
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut imap = stack.imap(user).await;
    let msgs = imap.messages("INBOX").await;
    imap.logout().await;
    assert_eq!(msgs.len(), n, "{user}: expected exactly {n} message(s)");
    msgs
}

/// The decoded plain-text body.
fn body(m: &common::TestMessage) -> String {
    let p = MessageParser::default().parse(&m.raw).expect("parse");
    p.body_text(0).expect("text part").into_owned()
}

/// The URL after `label: ` in the text.
fn link(text: &str, label: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.contains(&format!("{label}: http")))
        .unwrap_or_else(|| panic!("no `{label}` link in:\n{text}"));
    line.split(": ").nth(1).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_approval_to_collected_with_reminders_links_and_a_reply() {
    let Some(stack) = common::stack() else { return };
    let applicant = common::unique_user("applicant");
    let inbox = common::unique_user("shared-inbox");
    let w = world(stack, &inbox).await;
    let doc = format!("EE{:07}", fastrand::u32(..10_000_000));

    // Approval → instructions in the applicant's mailbox, with links and the follow-up headers.
    let r = ingest(&w.store, &approval(&doc, &applicant)).await;
    assert_eq!(r.outcome, Outcome::CaseCreated);
    let case = r.case_id.unwrap();
    assert_eq!(w.send().await, 1);
    let msgs = exactly(stack, &applicant, 1).await;
    let first = &msgs[0];
    assert_eq!(first.header("Reply-To").as_deref(), Some(inbox.as_str()));
    let unsub = first.header("List-Unsubscribe").expect("List-Unsubscribe");
    assert!(unsub.starts_with(&format!("<{}/l/", w.base)), "{unsub}");
    assert_eq!(
        first.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let text = body(first);
    assert!(text.contains("I have paid: http"), "{text}");
    let instructions_id = first.header("Message-ID").unwrap();

    // Five days: nothing. Ten days: exactly one reminder, threaded under the instructions.
    w.advance(days(5));
    assert!(w.pass().await.reminded.is_empty());
    w.advance(days(5) + chrono::Duration::minutes(1));
    assert_eq!(w.pass().await.reminded.len(), 1);
    assert!(
        w.pass().await.reminded.is_empty(),
        "the same instant again: nothing"
    );
    assert_eq!(w.send().await, 1);
    let msgs = exactly(stack, &applicant, 2).await;
    let reminder = msgs
        .iter()
        .find(|m| m.header("X-Leje-Kind").as_deref() == Some("reminder"))
        .expect("the reminder");
    assert_eq!(
        reminder.header("In-Reply-To"),
        Some(instructions_id.clone())
    );
    let text = body(reminder);
    let paid = link(&text, "I have paid");
    assert!(paid.starts_with(&w.base), "{paid}");

    // GET shows a confirmation and changes nothing; only the first name is shown.
    let (status, page) = http("GET", &paid, "").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<form method=\"post\"") && page.contains("I have paid"),
        "{page}"
    );
    assert!(page.contains("Maria") && !page.contains("Rossi") && !page.contains(&doc));
    assert_eq!(stage(&w.store, case).await, Stage::Approved);
    // A tampered link is refused, by GET and by POST.
    let mut tampered = paid.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(http("GET", &tampered, "").await.0, 403);
    assert_eq!(http("POST", &tampered, "").await.0, 403);
    assert_eq!(stage(&w.store, case).await, Stage::Approved);
    // POST records it: fee_paid, reported by the applicant.
    let (status, page) = http("POST", &paid, "").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("We have recorded it"), "{page}");
    assert_eq!(stage(&w.store, case).await, Stage::FeePaid);
    let events = w.store.case_events(case).await.unwrap();
    assert_eq!(events.last().unwrap().cause, Cause::Applicant);
    // Clicked again: already recorded, nothing moves.
    let (_, page) = http("POST", &paid, "").await;
    assert!(page.contains("Already recorded"), "{page}");

    // The next reminder counts from the click.
    let clicked = w.clock.now();
    w.advance(days(9));
    assert!(w.pass().await.reminded.is_empty());
    w.clock
        .set(clicked + days(10) + chrono::Duration::minutes(1));
    assert_eq!(w.pass().await.reminded.len(), 1);
    assert_eq!(w.send().await, 1);
    let msgs = exactly(stack, &applicant, 3).await;
    let second = msgs
        .iter()
        .rfind(|m| m.header("X-Leje-Kind").as_deref() == Some("reminder"))
        .unwrap();
    let second_id = second.header("Message-ID").unwrap();
    let text2 = body(second);
    let applied = link(&text2, "I have applied");
    let collected = link(&text2, "I have collected my card");

    // The applicant answers the reminder with a photo of the receipt: it reaches the
    // shared inbox, and from there the case.
    let reply = format!(
        "From: Maria Rossi <{applicant}>\r\nTo: {inbox}\r\nSubject: Re: reminder\r\n\
         Message-ID: <{}@leje.test>\r\nIn-Reply-To: {second_id}\r\nReferences: {instructions_id} {second_id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nHere is my receipt.\r\n--b\r\n\
         Content-Type: image/jpeg; name=receipt.jpg\r\nContent-Disposition: attachment; filename=receipt.jpg\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQSkZJRgABAQ==\r\n--b--\r\n",
        common::unique_name("reply")
    );
    stack
        .smtp_send(&applicant, &[&inbox], reply.as_bytes())
        .await;
    let arrived = exactly(stack, &inbox, 1).await;
    let r = fc::ingest_raw(&w.store, &arrived[0].raw).await;
    assert_eq!(
        (r.outcome, r.case_id),
        (Outcome::CaseUpdated, Some(case)),
        "{r:?}"
    );
    let mail = w.store.case_mail(case).await.unwrap();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].kind, MailKind::Reply);
    assert_eq!(mail[0].files.len(), 1);
    assert_eq!(mail[0].files[0].content_type, "image/jpeg");
    assert_eq!(w.store.waiting_mail().await.unwrap().len(), 1);

    // Applied, then collected: no reminder after that, ever.
    assert_eq!(http("POST", &applied, "").await.0, 200);
    assert_eq!(stage(&w.store, case).await, Stage::Applied);
    assert_eq!(http("POST", &collected, "").await.0, 200);
    assert_eq!(stage(&w.store, case).await, Stage::Collected);
    for _ in 0..3 {
        w.advance(days(30));
        let r = w.pass().await;
        assert!(r.reminded.is_empty() && r.stalled.is_empty(), "{r:?}");
    }
    assert_eq!(w.send().await, 0);
    exactly(stack, &applicant, 3).await;

    // Sixty-one days after it was sent, the first email's link has expired.
    let first_paid = link(&body(first), "I have paid");
    w.clock.set(clicked + days(62));
    let (status, page) = http("GET", &first_paid, "").await;
    assert_eq!(status, 410, "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_click_unsubscribe_stops_the_reminders() {
    let Some(stack) = common::stack() else { return };
    let applicant = common::unique_user("unsub");
    let inbox = common::unique_user("shared-inbox");
    let w = world(stack, &inbox).await;
    let doc = format!("EU{:07}", fastrand::u32(..10_000_000));
    let case = ingest(&w.store, &approval(&doc, &applicant))
        .await
        .case_id
        .unwrap();
    assert_eq!(w.send().await, 1);
    let msgs = exactly(stack, &applicant, 1).await;
    let url = msgs[0].header("List-Unsubscribe").unwrap();
    let url = url.trim_matches(['<', '>']);
    // A link preview's GET changes nothing.
    let (status, _) = http("GET", url, "").await;
    assert_eq!(status, 200);
    assert_eq!(w.store.followup(case).await.unwrap().unwrap().state, None);
    // RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click`.
    let (status, page) = http("POST", url, "List-Unsubscribe=One-Click").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        w.store.followup(case).await.unwrap().unwrap().state,
        Some(RemindState::Unsubscribed)
    );
    w.advance(days(30));
    assert!(w.pass().await.reminded.is_empty());
    // A forged token (another case number, the same MAC) is refused.
    let forged = url.replacen(&format!("/l/{case}."), &format!("/l/{}.", case + 1), 1);
    assert_eq!(http("POST", &forged, "").await.0, 403);
}

#[tokio::test]
async fn the_pass_waits_for_the_applicants_day() {
    let state = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", state.path().join("leje.db").display());
    let store = Store::open(&url, state.path()).await.unwrap();
    ingest(&store, &approval("EW0000001", "w@example.org")).await;
    let f = leje::config::followup::FollowupSettings::default();
    let day = (Utc::now() + days(11)).date_naive();
    // 03:00 UTC = 04:00 or 05:00 in Tirana: outside 09:00-19:00; 10:00 UTC is inside.
    let night = day.and_hms_opt(3, 0, 0).unwrap().and_utc();
    let r = leje::followup::run_pass(&store, &f, night, true)
        .await
        .unwrap();
    assert!(r.outside_window && r.reminded.is_empty(), "{r:?}");
    let morning = day.and_hms_opt(10, 0, 0).unwrap().and_utc();
    let r = leje::followup::run_pass(&store, &f, morning, true)
        .await
        .unwrap();
    assert_eq!(r.reminded.len(), 1, "{r:?}");
}

/// A reminder queued before the case moved on is withdrawn, not sent, and the
/// case stays where it is (not sent to review as a failed email would be).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_whose_case_moved_on_is_withdrawn() {
    let Some(stack) = common::stack() else { return };
    let applicant = common::unique_user("withdrawn");
    let inbox = common::unique_user("shared-inbox");
    let w = world(stack, &inbox).await;
    let doc = format!("EX{:07}", fastrand::u32(..10_000_000));
    let case = ingest(&w.store, &approval(&doc, &applicant))
        .await
        .case_id
        .unwrap();
    assert_eq!(w.send().await, 1);
    w.advance(days(11));
    let queued = w.pass().await.reminded;
    assert_eq!(queued.len(), 1);
    // Before the sender's next pass, the applicant reports the card collected.
    let r = w
        .store
        .report_step(case, Stage::Collected, "tok", w.clock.now())
        .await
        .unwrap();
    assert!(
        matches!(r, leje::store::StepOutcome::Recorded { .. }),
        "{r:?}"
    );
    let rep = send_due_once(
        &w.store,
        &w.settings,
        &SendOptions {
            now: Some(w.clock.now()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((rep.sent, rep.failed), (0, 1), "{rep:?}");
    let row = w.store.outbox_get(queued[0].2).await.unwrap().unwrap();
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .starts_with("withdrawn: the case is collected"),
        "{row:?}"
    );
    assert_eq!(stage(&w.store, case).await, Stage::Collected);
    exactly(stack, &applicant, 1).await;
}
