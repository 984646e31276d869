//! The instructions email end to end against the real local mail system (OpenSMTPD
//! delivering over LMTP into Dovecot): the email is read back over IMAP from the
//! applicant's own mailbox. Only the 5xx fault uses a small in-process SMTP server,
//! because OpenSMTPD cannot be told to reject one recipient on demand.

mod common;
#[path = "daemon/support.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use chrono::{Duration as Days, Utc};
use leje::config::{Settings, SmtpSettings, TlsMode};
use leje::notify::{send_due_once, SendOptions, SendReport};
use leje::parse::{Directorate, Kind, Language, ParsedMessage, Waybill};
use leje::store::{Incoming, Origin, OutboxRow, OutboxStatus, Stage, Store};
use mail_parser::MimeHeaders;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const OFFICE_ADDRESS: &str = "Rruga e Dibrës, nr. 100, Tiranë";
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% mandatpagese 5700 Lek\n%%EOF\n";

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    settings: Settings,
}

/// A fresh SQLite store and settings pointing SMTP at the local OpenSMTPD.
async fn fixture(stack: &common::MailStack) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = leje::config::load(None).expect("embedded defaults");
    settings.state_dir = dir.path().to_path_buf();
    settings.store_url = format!("sqlite:{}", dir.path().join("leje.db").display());
    settings.instance = common::unique_name("notify-test");
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
    let tirane = settings.offices.get_mut(&Directorate::Tirane).unwrap();
    tirane.address = Some(OFFICE_ADDRESS.into());
    tirane.hours = Some("08:00–16:00".into());
    let store = Store::open(&settings.store_url, &settings.state_dir)
        .await
        .expect("open store");
    Fixture {
        _dir: dir,
        store,
        settings,
    }
}

fn smtp(f: &mut Fixture) -> &mut SmtpSettings {
    f.settings.smtp.as_mut().unwrap()
}

/// A travel-document number no other test uses.
fn doc() -> String {
    format!("BX{:07}", fastrand::u32(..10_000_000))
}

/// An approval notification forwarded by `forwarder`, originally sent to `applicant`.
fn approval(doc: &str, forwarder: &str, applicant: Option<&str>, lang: Language) -> ParsedMessage {
    let mid = format!("{}@mail.leje.test", common::unique_name("fwd"));
    ParsedMessage {
        kind: Kind::PermitApproved,
        reason: None,
        language: Some(lang),
        name: Some("Anna Maria Schmidt".into()),
        travel_document: Some(doc.into()),
        nationality: Some("German".into()),
        directorate: Some(Directorate::Tirane),
        original_from: Some("lejeqendrimi@mb.gov.al".into()),
        forwarded_by: Some(forwarder.into()),
        notified_at: Some("2026-11-20T09:14:00+01:00".into()),
        waybills: vec![Waybill {
            filename: Some("mandatpagesa.pdf".into()),
            content_type: "application/octet-stream".into(),
            size: PDF.len() as u64,
            sha256: hex::encode(Sha256::digest(PDF)),
            amount_lek: Some(5700),
            data: PDF.to_vec(),
        }],
        message_id: Some(mid.clone()),
        references: vec!["office-1@mb.gov.al".into(), mid],
        subject: Some("Fwd: Leje qëndrimi".into()),
        original_to: applicant.map(str::to_string),
        reply_to: None,
        followup: Default::default(),
    }
}

/// Ingest `p` (as a local file would be) and return its outbox row.
async fn enqueue(f: &Fixture, p: &ParsedMessage, staff: bool) -> OutboxRow {
    let path = format!("/test/{}.eml", common::unique_name("in"));
    let raw = hex::encode(Sha256::digest(path.as_bytes()));
    let r = f
        .store
        .ingest(&Incoming {
            origin: Origin::File { path: &path },
            raw_sha256: &raw,
            size: 1000,
            parsed: p,
            forwarder_is_staff: staff,
            trust: &leje::trust::Verdict::vouched("the tests"),
        })
        .await
        .expect("ingest");
    assert_eq!(r.outbox_ids.len(), 1, "{r:?}");
    f.store
        .outbox_get(r.outbox_ids[0])
        .await
        .unwrap()
        .expect("outbox row")
}

async fn send(f: &Fixture, now_offset: Days) -> SendReport {
    send_due_once(
        &f.store,
        &f.settings,
        &SendOptions {
            now: Some(Utc::now() + now_offset),
            ..Default::default()
        },
    )
    .await
    .expect("send pass")
}

async fn row(f: &Fixture, id: i64) -> OutboxRow {
    f.store.outbox_get(id).await.unwrap().unwrap()
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `user`'s INBOX holds exactly `n` messages, and still does a moment later.
// NOTE: a fresh IMAP session per look: a Dovecot session opened before the user's first
// mail was delivered does not see it arrive, and delivery through OpenSMTPD's queue is
// asynchronous.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_threaded_email_with_waybill_and_office_in_the_applicants_mailbox() {
    let Some(stack) = common::stack() else { return };
    let mut f = fixture(stack).await;
    let applicant = common::unique_user("applicant");
    let agency = common::unique_user("agency-copy");
    smtp(&mut f).cc = vec![format!("Agency archive <{agency}>")];
    let p = approval(&doc(), &applicant, Some(&applicant), Language::Sq);
    let r = enqueue(&f, &p, false).await;

    let rep = send(&f, Days::zero()).await;
    assert_eq!((rep.sent, rep.retried, rep.failed), (1, 0, 0), "{rep:?}");

    let msgs = exactly(stack, &applicant, 1).await;
    let m = &msgs[0];
    let fwd_id = p.message_id.as_deref().unwrap();
    // The store's ID, under `smtp.from`'s domain (permits@leje.test).
    let sent_id = format!("<{}>", sent_message_id(&r.message_id));
    assert!(sent_id.ends_with("@leje.test>"), "{sent_id}");
    assert_eq!(m.header("Message-ID"), Some(sent_id.clone()));
    assert_eq!(m.header("In-Reply-To"), Some(format!("<{fwd_id}>")));
    let refs = m.header("References").unwrap();
    assert!(
        refs.contains("<office-1@mb.gov.al>") && refs.contains(&format!("<{fwd_id}>")),
        "{refs}"
    );
    assert_eq!(m.header("Auto-Submitted").as_deref(), Some("auto-replied"));
    assert_eq!(m.header("X-Leje").as_deref(), Some("1"));
    assert_eq!(m.header("X-Leje-Kind").as_deref(), Some("instructions"));

    let parsed = mail_parser::MessageParser::default().parse(&m.raw).unwrap();
    let subject = parsed.subject().unwrap();
    assert!(
        subject.starts_with("Leja e qëndrimit u miratua"),
        "{subject}"
    );
    let text = parsed.body_text(0).unwrap();
    assert!(
        text.contains("Drejtoria Vendore për Kufirin dhe Migracionin Tiranë"),
        "{text}"
    );
    assert!(text.contains(OFFICE_ADDRESS), "{text}");
    assert!(text.contains("5.700 lekë"), "{text}");
    assert!(
        parsed.body_html(0).is_some(),
        "HTML part expected (notify.html = true)"
    );
    assert_eq!(parsed.attachment_count(), 1);
    let a = parsed.attachment(0).unwrap();
    assert_eq!(a.attachment_name(), Some("mandatpagesa.pdf"));
    assert_eq!(a.contents(), PDF);
    let ct = a.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("application", Some("pdf")));
    // The travel-document number is nowhere in what was sent.
    assert!(!m.text().contains(p.travel_document.as_deref().unwrap()));

    let done = row(&f, r.id).await;
    assert_eq!(done.status, OutboxStatus::Sent);
    assert_eq!(done.sent_to, vec![applicant.clone(), agency.clone()]);

    // Another pass sends nothing more; the agency got its copy.
    let rep = send(&f, Days::hours(1)).await;
    assert_eq!(rep, SendReport::default());
    exactly(stack, &applicant, 1).await;
    let c = exactly(stack, &agency, 1).await;
    assert_eq!(c[0].header("Message-ID"), Some(sent_id));
}

/// What a stored outbox Message-ID becomes on the wire with this fixture's
/// `smtp.from` (`permits@leje.test`).
fn sent_message_id(stored: &str) -> String {
    let local = stored
        .strip_suffix("@sender.leje.invalid")
        .expect("the store mints its IDs under sender.leje.invalid");
    format!("{local}@leje.test")
}

/// A renewal a year later: the applicant's second instructions email carries
/// this year's waybill only, and is threaded under the renewal notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_instructions_carry_only_the_new_waybill() {
    let Some(stack) = common::stack() else { return };
    let f = fixture(stack).await;
    let applicant = common::unique_user("renewing");
    let d = doc();
    let mut first = approval(&d, &applicant, Some(&applicant), Language::En);
    // NOTE: a year before the renewal, which must not be dated in the future
    // (that goes to review: issue 23).
    first.notified_at = Some("2025-11-20T09:14:00+01:00".into());
    enqueue(&f, &first, false).await;
    assert_eq!(send(&f, Days::zero()).await.sent, 1);
    for stage in [Stage::Applied, Stage::CardReady, Stage::Collected] {
        f.store
            .advance(&d, stage, leje::store::Cause::Cli, None)
            .await
            .unwrap();
    }
    assert_eq!(send(&f, Days::zero()).await.sent, 1, "the card-ready email");
    // The follow-up threads under the instructions email as it was sent.
    let sent = exactly(stack, &applicant, 2).await;
    let kind = |k: &str| {
        sent.iter()
            .find(|m| m.header("X-Leje-Kind").as_deref() == Some(k))
            .unwrap_or_else(|| panic!("no {k} email"))
    };
    let instructions_id = kind("instructions").header("Message-ID").unwrap();
    assert!(
        instructions_id.ends_with("@leje.test>"),
        "{instructions_id}"
    );
    assert_eq!(
        kind("card_ready").header("In-Reply-To"),
        Some(instructions_id)
    );

    let new_pdf = b"%PDF-1.4\n% mandatpagese 2027, 5700 Lek\n%%EOF\n";
    let mut renewal = approval(&d, &applicant, Some(&applicant), Language::En);
    renewal.notified_at = Some("2026-11-18T10:05:00+01:00".into());
    renewal.waybills[0].filename = Some("mandatpagesa-2027.pdf".into());
    renewal.waybills[0].data = new_pdf.to_vec();
    renewal.waybills[0].size = new_pdf.len() as u64;
    renewal.waybills[0].sha256 = hex::encode(Sha256::digest(new_pdf));
    let r = enqueue(&f, &renewal, false).await;
    assert_eq!(send(&f, Days::zero()).await.sent, 1);

    let msgs = exactly(stack, &applicant, 3).await;
    let m = msgs
        .iter()
        .find(|m| m.header("Message-ID") == Some(format!("<{}>", sent_message_id(&r.message_id))))
        .expect("the renewal's instructions");
    let fwd_id = renewal.message_id.as_deref().unwrap();
    assert_eq!(m.header("In-Reply-To"), Some(format!("<{fwd_id}>")));
    assert_eq!(m.header("X-Leje-Kind").as_deref(), Some("instructions"));
    let parsed = mail_parser::MessageParser::default().parse(&m.raw).unwrap();
    assert_eq!(parsed.attachment_count(), 1, "last year's slip stays home");
    let a = parsed.attachment(0).unwrap();
    assert_eq!(a.attachment_name(), Some("mandatpagesa-2027.pdf"));
    assert_eq!(a.contents(), new_pdf);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_when_due_then_up_delivers_exactly_once() {
    let Some(stack) = common::stack() else { return };
    let mut f = fixture(stack).await;
    let applicant = common::unique_user("down-up");
    let r = enqueue(&f, &approval(&doc(), &applicant, None, Language::En), false).await;

    let good = f.settings.smtp.as_ref().unwrap().port;
    smtp(&mut f).port = closed_port();
    let rep = send(&f, Days::zero()).await;
    assert_eq!((rep.sent, rep.retried, rep.failed), (0, 1, 0), "{rep:?}");
    let waiting = row(&f, r.id).await;
    assert_eq!(waiting.status, OutboxStatus::Pending);
    assert_eq!(waiting.attempts, 1);
    assert!(waiting.last_error.is_some());
    assert!(
        waiting.next_attempt_at > Utc::now(),
        "backoff moves the next attempt"
    );
    // Not due again yet: a pass right away does nothing.
    smtp(&mut f).port = good;
    assert_eq!(send(&f, Days::zero()).await.sent, 0);

    // Later, with the server back: one email, with the same Message-ID.
    let rep = send(&f, Days::hours(2)).await;
    assert_eq!(rep.sent, 1, "{rep:?}");
    let msgs = exactly(stack, &applicant, 1).await;
    assert_eq!(
        msgs[0].header("Message-ID"),
        Some(format!("<{}>", sent_message_id(&r.message_id)))
    );
    assert_eq!(send(&f, Days::hours(4)).await.sent, 0);
    exactly(stack, &applicant, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_failures_give_up_after_retry_for() {
    let Some(stack) = common::stack() else { return };
    let mut f = fixture(stack).await;
    let applicant = common::unique_user("give-up");
    let r = enqueue(&f, &approval(&doc(), &applicant, None, Language::En), false).await;
    smtp(&mut f).port = closed_port();
    // Three days unsent (the daemon was stopped, say), then a first failure: retried,
    // because retry_for counts from the first failure, not from the row's creation.
    let rep = send(&f, Days::days(3)).await;
    assert_eq!((rep.retried, rep.failed), (1, 0), "{rep:?}");
    assert_eq!(row(&f, r.id).await.status, OutboxStatus::Pending);
    // Still failing two days (retry_for) later: given up.
    let rep = send(&f, Days::days(5) + Days::hours(1)).await;
    assert_eq!(rep.failed, 1, "{rep:?}");
    let failed = row(&f, r.id).await;
    assert_eq!(failed.status, OutboxStatus::Failed);
    assert!(failed.last_error.unwrap().contains("gave up"));
    let case = f.store.case_by_id(r.case_id).await.unwrap().unwrap();
    assert_eq!(case.stage, Stage::NeedsReview);
}

/// A minimal SMTP server that rejects every recipient with 550.
async fn rejecting_server() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = l.accept().await {
            tokio::spawn(async move {
                let (rd, mut wr) = sock.into_split();
                let mut lines = BufReader::new(rd).lines();
                let _ = wr.write_all(b"220 fake.leje.test ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake.leje.test\r\n",
                        "RCPT" => b"550 5.1.1 <recipient>: mailbox unavailable\r\n",
                        "QUIT" => b"221 2.0.0 bye\r\n",
                        _ => b"250 2.0.0 ok\r\n",
                    };
                    if wr.write_all(answer).await.is_err() || verb == "QUIT" {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_rejection_fails_the_row_and_flags_the_case() {
    let Some(stack) = common::stack() else { return };
    let mut f = fixture(stack).await;
    smtp(&mut f).host = "127.0.0.1".into();
    smtp(&mut f).port = rejecting_server().await;
    let d = doc();
    let r = enqueue(
        &f,
        &approval(&d, &common::unique_user("gone"), None, Language::En),
        false,
    )
    .await;
    let rep = send(&f, Days::zero()).await;
    assert_eq!((rep.sent, rep.retried, rep.failed), (0, 0, 1), "{rep:?}");
    let failed = row(&f, r.id).await;
    assert_eq!(failed.status, OutboxStatus::Failed);
    let err = failed.last_error.unwrap();
    assert!(
        err.contains("550") || err.contains("mailbox unavailable"),
        "{err}"
    );
    assert!(!err.contains(&d));
    let case = f.store.case_by_id(r.case_id).await.unwrap().unwrap();
    assert_eq!(case.stage, Stage::NeedsReview);
    // Failed rows are not retried by themselves.
    assert_eq!(send(&f, Days::days(1)).await, SendReport::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_recipient_daily_limit_defers_the_rest_to_the_next_day() {
    let Some(stack) = common::stack() else { return };
    let mut f = fixture(stack).await;
    smtp(&mut f).max_per_recipient_per_day = 2;
    let agency = common::unique_user("busy-agency");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let applicant = common::unique_user("limited");
        ids.push(
            enqueue(
                &f,
                &approval(&doc(), &agency, Some(&applicant), Language::En),
                false,
            )
            .await
            .id,
        );
    }
    let rep = send(&f, Days::zero()).await;
    assert_eq!((rep.sent, rep.deferred), (2, 1), "{rep:?}");
    exactly(stack, &agency, 2).await;
    let deferred = row(&f, ids[2]).await;
    assert_eq!(deferred.status, OutboxStatus::Pending);
    let tomorrow = (Utc::now() + Days::days(1)).date_naive();
    assert_eq!(deferred.next_attempt_at.date_naive(), tomorrow);

    let rep = send(&f, Days::days(1) + Days::hours(1)).await;
    assert_eq!(rep.sent, 1, "{rep:?}");
    exactly(stack, &agency, 3).await;
}

/// The hourly caps (issue 23): in all, and per forwarder domain; what is over
/// waits minutes, not a day, and goes out once the hour has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hourly_caps_in_all_and_per_forwarder_domain() {
    let Some(stack) = common::stack() else { return };
    let mut f = fixture(stack).await;
    f.settings.trust.max_per_hour = 2;
    f.settings.trust.max_per_forwarder_domain_per_hour = 0;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let a = common::unique_user("hourly");
        ids.push(
            enqueue(&f, &approval(&doc(), &a, Some(&a), Language::En), false)
                .await
                .id,
        );
    }
    let rep = send(&f, Days::zero()).await;
    assert_eq!((rep.sent, rep.deferred), (2, 1), "{rep:?}");
    let r = row(&f, ids[2]).await;
    assert!(
        r.last_error
            .as_deref()
            .unwrap()
            .contains("2 emails per hour"),
        "{r:?}"
    );
    assert!(r.next_attempt_at < Utc::now() + Days::minutes(11), "{r:?}");
    assert_eq!(send(&f, Days::minutes(70)).await.sent, 1);

    // Per domain: the second email answering mail from one domain waits; staff's do not.
    // (A fresh store: the sender's clock is the test's, `sent_at` the real one.)
    let mut f = fixture(stack).await;
    f.settings.trust.max_per_hour = 0;
    f.settings.trust.max_per_forwarder_domain_per_hour = 1;
    let one = common::unique_user("domain-a");
    let two = common::unique_user("domain-b");
    enqueue(&f, &approval(&doc(), &one, Some(&one), Language::En), false).await;
    enqueue(&f, &approval(&doc(), &two, Some(&two), Language::En), false).await;
    let rep = send(&f, Days::zero()).await;
    assert_eq!((rep.sent, rep.deferred), (1, 1), "{rep:?}");
    f.settings.notify.staff_domains = vec!["leje.test".into()];
    let staff = common::unique_user("desk");
    let applicant = common::unique_user("staff-applicant");
    let p = approval(&doc(), &staff, Some(&applicant), Language::En);
    enqueue(&f, &p, true).await;
    assert_eq!(
        send(&f, Days::zero()).await.sent,
        1,
        "staff forwards are not capped per domain"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_forwarder_reply_goes_to_the_applicant_or_back_with_a_note() {
    let Some(stack) = common::stack() else { return };
    let mut f = fixture(stack).await;
    f.settings.notify.staff_domains = vec!["staff.leje.test".into()];
    let staff = format!("{}@staff.leje.test", common::unique_name("maria"));
    let applicant = common::unique_user("via-staff");

    enqueue(
        &f,
        &approval(&doc(), &staff, Some(&applicant), Language::En),
        true,
    )
    .await;
    enqueue(&f, &approval(&doc(), &staff, None, Language::En), true).await;
    let rep = send(&f, Days::zero()).await;
    assert_eq!(rep.sent, 2, "{rep:?}");

    let got = exactly(stack, &applicant, 1).await;
    assert!(!got[0].text().contains("NOTE FOR STAFF"));
    let got = exactly(stack, &staff, 1).await;
    let parsed = mail_parser::MessageParser::default()
        .parse(&got[0].raw)
        .unwrap();
    assert!(parsed.body_text(0).unwrap().starts_with("NOTE FOR STAFF"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_eml_files_and_leaves_rows_pending() {
    let Some(stack) = common::stack() else { return };
    let f = fixture(stack).await;
    let applicant = common::unique_user("dry");
    let r = enqueue(&f, &approval(&doc(), &applicant, None, Language::En), false).await;
    // Nobody leje may write to: a dry run reports it but changes nothing.
    let nobody = enqueue(
        &f,
        &approval(&doc(), "no-reply@leje.test", None, Language::En),
        false,
    )
    .await;
    let out = f._dir.path().join("preview");
    let opts = SendOptions {
        dry_run_dir: Some(out.clone()),
        ..Default::default()
    };
    let rep = send_due_once(&f.store, &f.settings, &opts).await.unwrap();
    assert_eq!((rep.sent, rep.failed), (0, 1), "{rep:?}");
    let untouched = row(&f, nobody.id).await;
    assert_eq!(
        (untouched.status, untouched.attempts),
        (OutboxStatus::Pending, 0)
    );
    assert_eq!(
        rep.written,
        vec![out.join(format!("outbox-{}-instructions.eml", r.id))]
    );
    let raw = std::fs::read(&rep.written[0]).unwrap();
    let mode = std::fs::metadata(&rep.written[0])
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        parsed.message_id(),
        Some(sent_message_id(&r.message_id).as_str())
    );
    assert_eq!(parsed.attachment_count(), 1);
    assert!(parsed
        .body_text(0)
        .unwrap()
        .contains("Civil Registry Office"));

    // The row is still pending; a real pass then sends it, and the mailbox holds exactly
    // that one email (the dry run delivered nothing).
    assert_eq!(row(&f, r.id).await.status, OutboxStatus::Pending);
    let rep = send(&f, Days::zero()).await;
    assert_eq!((rep.sent, rep.failed), (1, 1), "{rep:?}");
    assert_eq!(row(&f, nobody.id).await.status, OutboxStatus::Failed);
    let got = exactly(stack, &applicant, 1).await;
    assert_eq!(
        got[0].header("Message-ID"),
        Some(format!("<{}>", sent_message_id(&r.message_id)))
    );
}

/// The whole path: a forwarded notification appended to the shared inbox, the daemon
/// (IMAP → parse → store → outbox → SMTP), and exactly one reply in the applicant's own
/// mailbox. Then a bounce of that reply, and the reply itself, land in the shared inbox:
/// neither starts a loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_in_the_shared_inbox_gets_one_reply_and_bounces_do_not_loop() {
    let Some(stack) = common::stack() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inbox = common::unique_user("shared-inbox");
    let applicant = common::unique_user("marco");
    let pw = d.join("imap.pw");
    std::fs::write(&pw, format!("{}\n", stack.password)).unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = d.join("leje.toml");
    std::fs::write(
        &config,
        format!(
            r#"state_dir = "{d}"
store = "sqlite:{d}/leje.db"
instance = "{instance}"

[log]
level = "warn"

[[mailbox]]
name = "shared"
host = "{host}"
port = {imap_port}
tls = "none"
username = "{inbox}"
password_file = "{pw}"
poll_interval = "2s"

[smtp]
host = "{host}"
port = {smtp_port}
tls = "none"
from = "Relocation desk <{inbox}>"

[notify]
agency_name = "Test Relocation"

[trust]
authserv_ids = ["mx.leje-test.invalid"]

[offices.tirane]
address = "{OFFICE_ADDRESS}"
hours = "08:00–16:00"
"#,
            d = d.display(),
            instance = common::unique_name("e2e"),
            host = stack.imap_host,
            imap_port = stack.imap_port,
            smtp_port = stack.smtp_port,
            pw = pw.display(),
        ),
    )
    .unwrap();
    let settings = leje::config::load(Some(&config)).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(&settings.store_url, &settings.state_dir)
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(leje::daemon::run(settings, async move {
        let _ = stopped.await;
    }));

    // A Gmail forward of an English approval with a PDF waybill, from the applicant.
    let fixture = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fwd-gmail-en.eml"),
    )
    .unwrap();
    let fwd_id = format!("{}@mail.leje.test", common::unique_name("fwd"));
    // As the receiving server that verified the applicant's address delivers it.
    let domain = applicant.rsplit_once('@').unwrap().1;
    let raw = format!(
        "Authentication-Results: mx.leje-test.invalid; dmarc=pass header.from={domain}\r\n{}",
        fixture
            .replace("marco.rossi84@gmail.com", &applicant)
            .replace(
                "fwd-gmail-en.0000000000009c7a05e3f1b2@mail.example",
                &fwd_id,
            )
    );
    let mut shared = stack.imap(&inbox).await;
    shared.append("INBOX", raw.as_bytes()).await;

    let got = exactly(stack, &applicant, 1).await;
    let reply = &got[0];
    assert_eq!(reply.header("In-Reply-To"), Some(format!("<{fwd_id}>")));
    assert_eq!(
        reply.header("Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(&reply.raw)
        .unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.starts_with("Dear Marco Rossi,"), "{text}");
    assert!(text.contains("Drejtoria Vendore për Kufirin dhe Migracionin Tiranë"));
    assert!(text.contains(OFFICE_ADDRESS));
    assert!(text.contains("5,700 Lek"));
    assert_eq!(parsed.attachment_count(), 1);
    assert_eq!(
        parsed.attachment(0).unwrap().attachment_name(),
        Some("mandatpagesa_1.pdf")
    );
    assert!(parsed
        .attachment(0)
        .unwrap()
        .contents()
        .starts_with(b"%PDF-"));

    // The reply bounces back into the shared inbox, and a copy of the reply itself
    // lands there too (as when the agency copies itself).
    let reply_headers = reply.text().split("\r\n\r\n").next().unwrap().to_string();
    let bounce = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.leje.test>\r\nTo: {inbox}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\
         Message-ID: <{bid}@mx.leje.test>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nThe mail system: <{applicant}>: mailbox full\r\n\
         --b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.leje.test\r\n\r\n\
         Final-Recipient: rfc822; {applicant}\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n\
         --b1\r\nContent-Type: text/rfc822-headers\r\n\r\n{reply_headers}\r\n--b1--\r\n",
        bid = common::unique_name("bounce"),
    );
    shared.append("INBOX", bounce.as_bytes()).await;
    shared.append("INBOX", &reply.raw).await;
    shared.logout().await;

    // Wait until the daemon has processed all three messages.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n: u64 = store
            .stats()
            .await
            .unwrap()
            .messages_by_outcome
            .values()
            .sum();
        if n >= 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "daemon processed only {n} of 3 messages"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut kinds: Vec<String> = store
        .messages(None, 10)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| m.kind)
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["bounce", "own_mail", "permit_approved"]);
    // Give the sender a chance to (wrongly) send something more.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rows = store.outbox_list(None).await.unwrap();
    assert_eq!(rows.len(), 1, "exactly one email ever queued: {rows:?}");
    assert_eq!(rows[0].status, OutboxStatus::Sent);
    assert_eq!(rows[0].sent_to, vec![applicant.clone()]);
    exactly(stack, &applicant, 1).await;

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), daemon)
        .await
        .expect("daemon stops")
        .unwrap()
        .unwrap();
}

/// What leje sends is recognised as its own mail by its own parser (loop protection).
#[test]
fn sent_mail_parses_as_own_mail() {
    use leje::notify::message::{build, Envelope};
    let f = leje::notify::render::Facts {
        language: Language::En,
        name: Some("A B".into()),
        directorate: None,
        office: None,
        waybill_amounts: vec![],
        attachments: vec![],
        fee_default_lek: 5700,
        payment: leje::notify::Payment::Bank,
        missing_applicant_address: false,
        agency_name: None,
        retry_from: None,
        citizenship: None,
        stage: None,
        links: None,
    };
    let r = leje::notify::render(
        &leje::notify::Templates::embedded(),
        Language::En,
        leje::notify::TemplateKind::Instructions,
        &leje::notify::EmailContext::new(&f),
        true,
    )
    .unwrap();
    let m = build(
        &Envelope {
            from: "leje <permits@leje.test>".into(),
            to: vec!["a@leje.test".into()],
            cc: vec![],
            message_id: "x@leje.test".into(),
            in_reply_to: None,
            references: vec![],
            case_id: 1,
            kind: "instructions",
            extra: Vec::new(),
        },
        &r,
        &[],
    )
    .unwrap();
    let p = leje::parse::parse(&m.formatted());
    assert_eq!(p.kind, Kind::OwnMail);
}

/// Runs the real `leje` binary with the embedded defaults (no [smtp]) on `store_url`.
fn leje_cli(state_dir: &std::path::Path, store_url: &str, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leje"))
        .args(["--store", store_url])
        .args(args)
        .env_remove("LEJE_CONFIG")
        .env("STATE_DIRECTORY", state_dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_cli_list_send_dry_run_and_retry() {
    if std::path::Path::new("/etc/leje/leje.toml").exists() {
        return common::skip("/etc/leje/leje.toml exists; the CLI would read it");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = format!("sqlite:{}", d.join("leje.db").display());
    let store = Store::open(&url, d).await.unwrap();
    let f = Fixture {
        _dir: tempfile::tempdir().unwrap(),
        store: store.clone(),
        settings: leje::config::load(None).unwrap(),
    };
    let applicant = "ana.cli@example.com";
    let r = enqueue(&f, &approval(&doc(), applicant, None, Language::En), false).await;

    let (ok, out, err) = leje_cli(d, &url, &["outbox", "list"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("instructions") && out.contains("pending"),
        "{out}"
    );
    assert!(out.contains(&format!("→ {applicant}")), "{out}");

    // Without [smtp] a real send refuses with a clear message and changes nothing.
    let (ok, _, err) = leje_cli(d, &url, &["outbox", "send"]);
    assert!(!ok);
    assert!(err.contains("no [smtp] section"), "{err}");

    let preview = d.join("preview");
    let (ok, out, err) = leje_cli(
        d,
        &url,
        &["outbox", "send", "--dry-run", preview.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    let file = preview.join(format!("outbox-{}-instructions.eml", r.id));
    assert!(out.contains(&file.display().to_string()), "{out}");
    let raw = std::fs::read(&file).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        parsed.attachment_count(),
        1,
        "waybill read from the state dir"
    );

    let (ok, out, _) = leje_cli(d, &url, &["outbox", "list", "--json"]);
    assert!(ok);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["id"], r.id);
    assert_eq!(rows[0]["status"], "pending");

    // A failed row goes back in the queue with `retry`.
    store.outbox_mark_failed(r.id, "550 test").await.unwrap();
    let (ok, out, _) = leje_cli(d, &url, &["outbox", "list", "--status", "failed", "--json"]);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()[0]["id"],
        r.id
    );
    let (ok, _, err) = leje_cli(d, &url, &["outbox", "retry", &r.id.to_string()]);
    assert!(ok, "{err}");
    assert_eq!(row(&f, r.id).await.status, OutboxStatus::Pending);
    let (ok, _, err) = leje_cli(d, &url, &["outbox", "retry", "999999"]);
    assert!(!ok);
    assert!(err.contains("999999"), "{err}");
    let (ok, _, err) = leje_cli(d, &url, &["outbox", "list", "--status", "lost"]);
    assert!(!ok);
    assert!(err.contains("pending, sent, failed"), "{err}");
}

/// Two leje processes sharing one PostgreSQL store send each email once: the outbox
/// lease lets only one pass run at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_on_one_postgres_store_send_each_email_once() {
    let Some(stack) = common::stack() else { return };
    let db = stack.fresh_postgres().await;
    let mut a = fixture(stack).await;
    a.store = Store::open(&db.url, &a.settings.state_dir).await.unwrap();
    a.settings.store_url = db.url.clone();
    let mut applicants = Vec::new();
    for _ in 0..4 {
        let who = common::unique_user("pg");
        enqueue(&a, &approval(&doc(), &who, None, Language::En), false).await;
        applicants.push(who);
    }
    let b_store = Store::open(&db.url, &a.settings.state_dir).await.unwrap();
    let mut b_settings = a.settings.clone();
    b_settings.instance = common::unique_name("other-host");
    let opts = SendOptions::default();
    let (ra, rb) = tokio::join!(
        send_due_once(&a.store, &a.settings, &opts),
        send_due_once(&b_store, &b_settings, &opts)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.sent + rb.sent, 4, "{ra:?} {rb:?}");
    for who in &applicants {
        exactly(stack, who, 1).await;
    }
    a.store.close().await;
    b_store.close().await;
}

/// What a real relay (Gmail, Microsoft 365) asks for: STARTTLS or implicit TLS with a
/// certificate from the configured CA, and AUTH. A wrong password is a temporary
/// failure that names the reason; an untrusted certificate is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_with_starttls_implicit_tls_and_auth() {
    let Some(stack) = common::stack() else { return };
    let own = support::OwnDovecot::start_submission(stack);
    let ca = own.ca_file.clone().unwrap();
    let mut f = fixture(stack).await;
    let pw = f._dir.path().join("smtp.pw");
    std::fs::write(&pw, format!("{}\n", stack.password)).unwrap();
    for (tls, port) in [
        (TlsMode::StartTls, own.submission_port.unwrap()),
        (TlsMode::Implicit, own.submissions_port.unwrap()),
    ] {
        let s = smtp(&mut f);
        s.host = "localhost".into();
        s.port = port;
        s.tls = tls;
        s.ca_file = Some(ca.clone());
        s.username = Some(common::unique_user("relay-login"));
        s.password = Some(leje::config::Secret::File(pw.clone()));
        let applicant = common::unique_user(&format!("tls-{}", tls.as_str()));
        let r = enqueue(&f, &approval(&doc(), &applicant, None, Language::En), false).await;
        let rep = send(&f, Days::zero()).await;
        assert_eq!(rep.sent, 1, "{tls:?}: {rep:?}");
        let got = exactly(stack, &applicant, 1).await;
        assert_eq!(
            got[0].header("Message-ID"),
            Some(format!("<{}>", sent_message_id(&r.message_id))),
            "{tls:?}"
        );
    }

    // A wrong password: not sent, kept for a retry, and the reason is on the row.
    let bad = f._dir.path().join("bad.pw");
    std::fs::write(&bad, "not-the-password\n").unwrap();
    smtp(&mut f).password = Some(leje::config::Secret::File(bad));
    let applicant = common::unique_user("tls-badauth");
    let r = enqueue(&f, &approval(&doc(), &applicant, None, Language::En), false).await;
    let rep = send(&f, Days::zero()).await;
    assert_eq!((rep.sent, rep.retried + rep.failed), (0, 1), "{rep:?}");
    let err = row(&f, r.id)
        .await
        .last_error
        .unwrap_or_default()
        .to_lowercase();
    assert!(err.contains("auth") || err.contains("535"), "{err}");

    // Without the private CA the certificate is not trusted: nothing is sent.
    let s = smtp(&mut f);
    s.password = Some(leje::config::Secret::File(pw));
    s.ca_file = None;
    let applicant = common::unique_user("tls-untrusted");
    let r = enqueue(&f, &approval(&doc(), &applicant, None, Language::En), false).await;
    let rep = send(&f, Days::zero()).await;
    assert_eq!(rep.sent, 0, "{rep:?}");
    let err = row(&f, r.id)
        .await
        .last_error
        .unwrap_or_default()
        .to_lowercase();
    assert!(err.contains("certificate") || err.contains("tls"), "{err}");
}
