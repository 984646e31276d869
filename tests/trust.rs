//! Issue 23's attacks on sender trust, through `leje import` (the daemon's own
//! pipeline, as a separate process) and through the daemon on the real mail
//! system: forged mail is held, never sent; the applicant's email never carries
//! an outsider's waybill; contacts and names from outsiders go to review. And
//! the genuine senders still get their instructions automatically: a verified
//! Gmail forward, a staff forward, and the Directorate's own DKIM-signed notice
//! attached as message/rfc822 (signed here with a test key that a local DNS
//! server publishes).

mod common;
#[path = "trust/dns.rs"]
mod dns;
#[path = "trust/mail.rs"]
mod mail;
#[path = "daemon/support.rs"]
mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use leje::store::{OutboxRow, OutboxStatus, Stage, Store};
use mail::{attached_forward, direct, inline_forward, pdf, Key, AGENCY_MX, GMAIL};
use mail_parser::MimeHeaders;

/// A store, a config and a DNS server publishing the Directorate's test key.
struct Env {
    dir: tempfile::TempDir,
    config: PathBuf,
    key: Key,
    n: std::cell::Cell<u32>,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let dns = dns::Dns::start();
        let key = Key::new("asp.gov.al");
        let (name, txt) = key.record();
        dns.add_txt(&name, &txt);
        let d = dir.path();
        let config = d.join("leje.toml");
        std::fs::write(
            &config,
            format!(
                "state_dir = \"{d}\"\nstore = \"sqlite:{d}/leje.db\"\n\n[log]\nlevel = \"warn\"\n\n\
                 [notify]\nstaff_domains = [\"agency.example\"]\n\n\
                 [trust]\nauthserv_ids = [\"{GMAIL}\", \"{AGENCY_MX}\"]\n\
                 dns_servers = [\"127.0.0.1:{port}\"]\ndns_timeout = \"3s\"\n",
                d = d.display(),
                port = dns.port,
            ),
        )
        .unwrap();
        Env {
            dir,
            config,
            key,
            n: 0.into(),
        }
    }

    fn leje(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_leje"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("LEJE_STORE")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "leje {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Writes each message to a file and imports them, in order, one `leje import` each.
    fn import(&self, raws: &[Vec<u8>]) -> Vec<serde_json::Value> {
        raws.iter()
            .map(|raw| {
                let n = self.n.get() + 1;
                self.n.set(n);
                let p = self.dir.path().join(format!("m{n:03}.eml"));
                std::fs::write(&p, raw).unwrap();
                let out = self.leje(&["import", "--json", p.to_str().unwrap()]);
                serde_json::from_str(out.trim()).unwrap()
            })
            .collect()
    }

    async fn store(&self) -> Store {
        let d = self.dir.path();
        Store::open(&format!("sqlite:{}/leje.db", d.display()), d)
            .await
            .unwrap()
    }

    /// `leje outbox send --dry-run`: the emails that would go out now.
    fn would_send(&self) -> Vec<mail_parser::Message<'static>> {
        let out = self.dir.path().join(format!("dry-{}", self.n.get()));
        self.leje(&["outbox", "send", "--dry-run", out.to_str().unwrap()]);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|f| {
                let raw = std::fs::read(f).unwrap();
                mail_parser::MessageParser::default()
                    .parse(&raw)
                    .unwrap()
                    .into_owned()
            })
            .collect()
    }
}

fn outcome(v: &serde_json::Value) -> String {
    v["outcomes"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .cloned()
        .unwrap_or_default()
}

fn to_of(m: &mail_parser::Message<'_>) -> Vec<String> {
    m.to()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.address().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn attachments(m: &mail_parser::Message<'_>) -> Vec<Vec<u8>> {
    m.attachments().map(|a| a.contents().to_vec()).collect()
}

async fn rows(s: &Store, status: OutboxStatus) -> Vec<OutboxRow> {
    s.outbox_list(Some(status)).await.unwrap()
}

fn pass(server: &str, domain: &str) -> String {
    format!("{server}; dkim=pass header.d={domain}; dmarc=pass header.from={domain}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_office_mail_is_held_and_never_sent() {
    let env = Env::new();
    // From the office, but the receiving server says every check failed.
    let raw = format!(
        "Authentication-Results: {GMAIL}; dkim=fail header.d=asp.gov.al; spf=fail smtp.mailfrom=asp.gov.al; dmarc=fail header.from=asp.gov.al\r\n{}",
        direct("Ana Spoof", "SP1000001", "victim@example.com", 1, Some(("slip.pdf", &pdf("9900 Lek, IBAN AL00 EVIL"))))
    );
    // An inline forward whose "original" came from the attacker's own domain.
    let evil_original = inline_forward(
        None,
        "x@evil.example",
        "Bo Spoof",
        "SP1000002",
        Some("victim2@example.com"),
        1,
        None,
        "e1",
    )
    .into_iter()
    .collect::<Vec<u8>>();
    let r = env.import(&[raw.into_bytes(), evil_original]);
    assert_eq!(outcome(&r[0]), "case_created", "{r:?}");
    assert_eq!(outcome(&r[1]), "case_created", "{r:?}");
    let s = env.store().await;
    assert_eq!(rows(&s, OutboxStatus::Held).await.len(), 2);
    assert!(rows(&s, OutboxStatus::Pending).await.is_empty());
    assert!(env.would_send().is_empty(), "nothing may go out");
    let msgs = s.messages(None, 10).await.unwrap();
    assert!(msgs.iter().all(|m| m.trusted == Some(false)), "{msgs:?}");
    assert!(
        msgs.iter().any(|m| m
            .trust_reason
            .as_deref()
            .is_some_and(|r| r.contains("dmarc=fail"))),
        "{msgs:?}"
    );
    // No case took an address from these messages.
    for c in s.cases(Default::default()).await.unwrap() {
        assert!(c.contacts.is_empty(), "{c:?}");
    }
    let listed = env.leje(&["messages", "list"]);
    assert!(listed.contains("untrusted"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_forged_forwards_relay_nothing() {
    let env = Env::new();
    let raws: Vec<Vec<u8>> = (0..30)
        .map(|i| {
            inline_forward(
                None,
                &format!("boss{i}@forged{}.example", i % 7),
                &format!("Relay Person{i}"),
                &format!("RL{:07}", 2_000_000 + i),
                Some(&format!("target{i}@outside{}.example", i % 21)),
                1,
                Some(("slip.pdf", &pdf("9900 Lek"))),
                &format!("relay{i}"),
            )
        })
        .collect();
    // One import of all thirty (the batch path), as an attacker would send them.
    let dir = env.dir.path().join("relay");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, r) in raws.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:02}.eml")), r).unwrap();
    }
    let out = env.leje(&["import", "--json", dir.to_str().unwrap()]);
    assert!(out.contains("\"case_created\":30"), "{out}");
    let s = env.store().await;
    assert_eq!(rows(&s, OutboxStatus::Held).await.len(), 30);
    assert!(rows(&s, OutboxStatus::Pending).await.is_empty());
    assert!(env.would_send().is_empty());
    // Released by mistake, one still goes only where a person saw it go.
    let id = rows(&s, OutboxStatus::Held).await[0].id.to_string();
    env.leje(&["outbox", "release", &id, "--by", "tester"]);
    assert_eq!(env.would_send().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outsiders_payment_slip_never_reaches_the_applicant() {
    let env = Env::new();
    let real = pdf("5700 Lek");
    // The applicant forwards the notice from Gmail, verified by Gmail.
    let genuine = inline_forward(
        Some(&pass(GMAIL, "gmail.com")),
        "ana.applicant@gmail.com",
        "Ana Applicant",
        "AP1000001",
        Some("ana.applicant@gmail.com"),
        8,
        Some(("mandatpagesa.pdf", &real)),
        "g1",
    );
    // An outsider forwards the same notice dated six days later, with their slip.
    let fraud = inline_forward(
        None,
        "helpdesk@evil.example",
        "Ana Applicant",
        "AP1000001",
        Some("ana.applicant@gmail.com"),
        2,
        Some(("mandatpagesa.pdf", &pdf("9900 Lek, pay to IBAN AL00 EVIL"))),
        "f1",
    );
    // A forged "renewal" in the applicant's own name, dated in 2099.
    let renewal = format!(
        "From: ana.applicant@gmail.com\r\nTo: permits@agency.example\r\nSubject: Fwd\r\nDate: {}\r\nMessage-ID: <r1@gmail.com>\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         ---------- Forwarded message ---------\r\nFrom: Leje Qendrimi <LejeQendrimi@asp.gov.al>\r\n\
         Date: Fri, 1 May 2099 10:00:00 +0200\r\nSubject: Residence Permit\r\nTo: <ana.applicant@gmail.com>\r\n\r\n{}\r\n\
         --b\r\nContent-Type: application/pdf; name=\"renewal.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        mail::date(0),
        mail::notice_text("Ana Applicant", "AP1000001"),
        mail::b64(&pdf("9900 Lek renewal"))
    );
    let r = env.import(&[genuine, fraud, renewal.into_bytes()]);
    assert_eq!(outcome(&r[0]), "case_created", "{r:?}");
    assert_eq!(outcome(&r[2]), "needs_review", "{r:?}");
    let s = env.store().await;
    let case = s.case_by_document("AP1000001").await.unwrap().unwrap();
    assert_eq!(case.contacts, ["ana.applicant@gmail.com"]);
    let conflicts = s.case_conflicts(case.id, true).await.unwrap();
    assert!(
        conflicts.iter().any(|c| c.field == "notice_date"),
        "{conflicts:?}"
    );
    // One email, pending, to the applicant, with the applicant's own slip only.
    let sent = env.would_send();
    assert_eq!(sent.len(), 1);
    assert_eq!(to_of(&sent[0]), ["ana.applicant@gmail.com"]);
    assert_eq!(attachments(&sent[0]), vec![real]);
    assert_eq!(
        s.outbox_list(None).await.unwrap().len(),
        1,
        "no second email"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_takeover_and_name_fill_go_to_review() {
    let env = Env::new();
    // Staff forward, verified by the agency's own server, without the applicant's address.
    let staff = inline_forward(
        Some(&format!(
            "{AGENCY_MX}; spf=pass smtp.mailfrom=desk@agency.example"
        )),
        "desk@agency.example",
        "Chen Staffcase",
        "ST1000001",
        None,
        5,
        None,
        "s1",
    );
    // A verified outsider forwards the same notice (another day): their address
    // would become the case's contact.
    let takeover = inline_forward(
        Some(&pass(GMAIL, "gmail.com")),
        "attacker@gmail.com",
        "Chen Staffcase",
        "ST1000001",
        Some("attacker@gmail.com"),
        3,
        None,
        "t1",
    );
    let r = env.import(&[staff, takeover]);
    assert_eq!(outcome(&r[0]), "case_created", "{r:?}");
    assert_eq!(outcome(&r[1]), "needs_review", "{r:?}");
    let s = env.store().await;
    let case = s.case_by_document("ST1000001").await.unwrap().unwrap();
    assert!(case.contacts.is_empty(), "{case:?}");
    assert_eq!(case.stage, Stage::NeedsReview);
    let c = s.case_conflicts(case.id, true).await.unwrap();
    assert!(
        c.iter()
            .any(|c| c.field == "contacts" && c.old_value.is_none()),
        "{c:?}"
    );
    // The staff's email (trusted) never goes to the outsider.
    for m in env.would_send() {
        assert!(
            !to_of(&m).contains(&"attacker@gmail.com".to_string()),
            "{:?}",
            to_of(&m)
        );
    }

    // A case without a name: an outsider's name goes to review, the staff's own fills it.
    let noname = |auth: &str, from: &str, name: &str, days: i64, id: &str| {
        inline_forward(Some(auth), from, name, "ST1000002", None, days, None, id)
    };
    let staff_auth = format!("{AGENCY_MX}; spf=pass smtp.mailfrom=desk@agency.example");
    let r = env.import(&[
        noname(&staff_auth, "desk@agency.example", "", 5, "n1"),
        noname(
            &pass(GMAIL, "gmail.com"),
            "someone@gmail.com",
            "Evil Name",
            4,
            "n2",
        ),
    ]);
    assert_eq!(outcome(&r[0]), "case_created", "{r:?}");
    assert_eq!(outcome(&r[1]), "needs_review", "{r:?}");
    let case = s.case_by_document("ST1000002").await.unwrap().unwrap();
    assert_eq!(case.name, None);
    let c = s.case_conflicts(case.id, true).await.unwrap();
    assert!(
        c.iter()
            .any(|c| c.field == "name" && c.new_value.as_deref() == Some("Evil Name")),
        "{c:?}"
    );
    let env2 = Env::new();
    let r = env2.import(&[
        noname(&staff_auth, "desk@agency.example", "", 5, "n3"),
        noname(&staff_auth, "desk@agency.example", "Real Name", 4, "n4"),
    ]);
    assert_eq!(outcome(&r[1]), "case_updated", "{r:?}");
    let s2 = env2.store().await;
    let case = s2.case_by_document("ST1000002").await.unwrap().unwrap();
    assert_eq!(case.name.as_deref(), Some("Real Name"));

    let shown = env.leje(&["cases", "show", "ST1000001"]);
    assert!(
        shown.contains("Messages (who sent them):") && shown.contains("trusted (staff)"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genuine_senders_still_get_their_instructions() {
    let env = Env::new();
    // 1. A verified Gmail user forwards their own notice.
    let gmail = inline_forward(
        Some(&pass(GMAIL, "gmail.com")),
        "gianni.user@gmail.com",
        "Gianni User",
        "GU1000001",
        Some("gianni.user@gmail.com"),
        2,
        Some(("mandatpagesa.pdf", &pdf("5700 Lek"))),
        "gm1",
    );
    // 2. A verified staff member forwards an applicant's notice.
    let staff = inline_forward(
        Some(&format!("{AGENCY_MX}; dkim=pass header.d=agency.example")),
        "desk@agency.example",
        "Sara Staff",
        "SS1000001",
        Some("sara.applicant@example.org"),
        2,
        None,
        "st1",
    );
    // 3. Someone unverified forwards the Directorate's signed notice as an attachment.
    let signed = env.key.sign(&direct(
        "Dana Signed",
        "DS1000001",
        "dana@example.net",
        2,
        None,
    ));
    let attached = attached_forward(None, "friend@unknown.example", &signed, "at1");
    // 4. The same, with the signed notice's text changed after signing.
    let tampered = String::from_utf8(env.key.sign(&direct(
        "Tom Tampered",
        "TT1000001",
        "tom@example.net",
        2,
        None,
    )))
    .unwrap()
    .replace("Italy", "Itály")
    .into_bytes();
    let tampered = attached_forward(None, "friend@unknown.example", &tampered, "at2");
    let r = env.import(&[gmail, staff, attached, tampered]);
    for v in &r {
        assert_eq!(outcome(v), "case_created", "{r:?}");
    }
    let s = env.store().await;
    let msgs = s.messages(None, 10).await.unwrap();
    let reason = |i: usize| msgs[3 - i].trust_reason.clone().unwrap_or_default();
    assert!(
        reason(0).starts_with("trusted (verified forwarder)"),
        "{}",
        reason(0)
    );
    assert!(reason(1).starts_with("trusted (staff)"), "{}", reason(1));
    assert!(
        reason(2).contains("attached notice signed by asp.gov.al"),
        "{}",
        reason(2)
    );
    assert!(reason(3).starts_with("held:"), "{}", reason(3));
    assert_eq!(rows(&s, OutboxStatus::Held).await.len(), 1);
    let sent = env.would_send();
    let mut to: Vec<Vec<String>> = sent.iter().map(to_of).collect();
    to.sort();
    assert_eq!(
        to,
        [
            vec!["dana@example.net".to_string()],
            vec!["gianni.user@gmail.com".to_string()],
            vec!["sara.applicant@example.org".to_string()],
        ],
        "the signed notice's recipient, never its unverified forwarder"
    );
    // The held one is released by a person, and the history says who.
    let held = rows(&s, OutboxStatus::Held).await.remove(0);
    env.leje(&["outbox", "release", &held.id.to_string(), "--by", "maria"]);
    let row = s.outbox_get(held.id).await.unwrap().unwrap();
    assert_eq!(
        (row.status, row.released_by.as_deref()),
        (OutboxStatus::Pending, Some("maria"))
    );
    let last = s.case_events(row.case_id).await.unwrap().pop().unwrap();
    assert!(last.detail.unwrap().contains("released by maria"));
}

/// The daemon on the real mail system: a spoofed office notice and a
/// Directorate notice with a valid signature arrive in the shared inbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_holds_forgeries_and_answers_signed_notices() {
    let Some(stack) = common::stack() else { return };
    let user = common::unique_user("trust-inbox");
    let dns = dns::Dns::start();
    let key = Key::new("asp.gov.al");
    let (name, txt) = key.record();
    dns.add_txt(&name, &txt);
    let h = support::Harness::new(stack, &user, stack.imap_port, &support::Opts::default());
    // The harness's config ends in its [trust] section: add the test DNS server.
    let mut text = std::fs::read_to_string(&h.config).unwrap();
    text.push_str(&format!("dns_servers = [\"127.0.0.1:{}\"]\n", dns.port));
    std::fs::write(&h.config, text).unwrap();
    let store = h.store().await;
    let daemon = h.start();
    let mut imap = stack.imap(&user).await;
    let spoof = format!(
        "Authentication-Results: mx.leje-test.invalid; dmarc=fail header.from=asp.gov.al\r\n{}",
        direct(
            "Ana Spoof",
            "DX1000001",
            "victim@example.com",
            1,
            Some(("slip.pdf", &pdf("9900 Lek")))
        )
    );
    let signed = key.sign(&direct(
        "Dana Signed",
        "DX1000002",
        "dana@example.net",
        1,
        None,
    ));
    let fwd = attached_forward(None, "someone@unknown.example", &signed, "dx2");
    imap.append("INBOX", spoof.as_bytes()).await;
    imap.append("INBOX", &fwd).await;
    support::wait_until(Duration::from_secs(20), "two messages", || async {
        (support::count_processed(&store).await == 2).then_some(())
    })
    .await;
    let held = rows(&store, OutboxStatus::Held).await;
    let pending = rows(&store, OutboxStatus::Pending).await;
    assert_eq!((held.len(), pending.len()), (1, 1), "{held:?} {pending:?}");
    let spoofed = store.case_by_document("DX1000001").await.unwrap().unwrap();
    assert_eq!(held[0].case_id, spoofed.id);
    assert!(!pending[0].forwarder_verified && pending[0].original_verified);
    daemon.stop().await;
}

/// DKIM work is bounded: a resolver that never answers costs `dns_timeout`,
/// not a stalled parser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_dns_server_costs_only_the_timeout() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let t = leje::config::TrustSettings {
        dns: leje::config::trust::Dns::Servers(vec![silent.local_addr().unwrap()]),
        dns_timeout: Duration::from_millis(800),
        ..Default::default()
    };
    let key = Key::new("asp.gov.al");
    let signed = key.sign(&direct(
        "Tim Timeout",
        "TO1000001",
        "tim@example.net",
        1,
        None,
    ));
    let raw = attached_forward(None, "someone@unknown.example", &signed, "to1");
    let p = leje::parse::parse(&raw);
    let started = std::time::Instant::now();
    let v = leje::trust::Checker::new(&t).assess(&raw, &p).await;
    let took = started.elapsed();
    assert!(!v.trusted && v.reason.contains("timed out"), "{v:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

/// An email is not a carrier: of a verified sender's 40 attachments and an
/// executable declared as an image, at most three real PDFs go out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_few_and_what_they_claim() {
    let env = Env::new();
    let mut parts = String::new();
    parts.push_str(&format!(
        "--b1\r\nContent-Type: image/png; name=\"Invoice.exe\"\r\nContent-Disposition: attachment; filename=\"Invoice.exe\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        mail::b64(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00 this program cannot be run in DOS mode")
    ));
    for i in 0..40 {
        parts.push_str(&format!(
            "--b1\r\nContent-Type: application/pdf; name=\"w{i}.pdf\"\r\nContent-Disposition: attachment; filename=\"w{i}.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            mail::b64(&pdf(&format!("slip {i}")))
        ));
    }
    let raw = format!(
        "Authentication-Results: {}\r\nFrom: many@gmail.com\r\nTo: permits@agency.example\r\nSubject: Fwd\r\nDate: {}\r\n\
         Message-ID: <many@gmail.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n---------- Forwarded message ---------\r\n\
         From: Leje Qendrimi <LejeQendrimi@asp.gov.al>\r\nDate: {}\r\nSubject: Residence Permit\r\n\r\n{}\r\n{parts}--b1--\r\n",
        pass(GMAIL, "gmail.com"),
        mail::date(0),
        mail::date(1),
        mail::notice_text("Many Attachments", "MA1000001"),
    );
    let r = env.import(&[raw.into_bytes()]);
    assert_eq!(outcome(&r[0]), "case_created", "{r:?}");
    let sent = env.would_send();
    assert_eq!(sent.len(), 1);
    let names: Vec<String> = sent[0]
        .attachments()
        .map(|a| a.attachment_name().unwrap_or("").to_owned())
        .collect();
    assert!(names.len() <= 3 && !names.is_empty(), "{names:?}");
    assert!(names.iter().all(|n| n.ends_with(".pdf")), "{names:?}");
    for a in attachments(&sent[0]) {
        assert!(a.starts_with(b"%PDF-"));
    }
}
