//! The verdict from headers alone (no DNS): DKIM is off in these settings, so
//! only trusted `Authentication-Results` can verify anything.

use super::*;
use crate::config::trust::TrustSettings;

fn settings() -> TrustSettings {
    TrustSettings {
        authserv_ids: vec!["mx.google.com".into(), "mail.agency.al".into()],
        dkim: false,
        staff_domains: vec!["agency.al".into()],
        ..TrustSettings::default()
    }
}

const NOTICE: &str = "Dear Sir/Madam,\r\n\r\nWe inform you that your Residence Permit for citizen Maria Rossi, Travel Document no. AB1234567, Italy has been approved.\r\n\r\nDrejtoria Vendore p\u{eb}r Kufirin dhe Migracionin TIRANE\r\n";

fn direct(headers: &str) -> Vec<u8> {
    format!(
        "{headers}From: LejeQendrimi@asp.gov.al\r\nTo: maria@example.it\r\nSubject: Residence permit\r\nDate: Mon, 4 Mar 2024 10:00:00 +0100\r\nMessage-ID: <n1@asp.gov.al>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{NOTICE}"
    )
    .into_bytes()
}

fn forward(from: &str, headers: &str) -> Vec<u8> {
    format!(
        "{headers}From: {from}\r\nTo: inbox@agency.al\r\nSubject: Fwd: Residence permit\r\nDate: Mon, 4 Mar 2024 12:00:00 +0100\r\nMessage-ID: <f1@x.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n---------- Forwarded message ---------\r\nFrom: LejeQendrimi@asp.gov.al\r\nDate: Mon, 4 Mar 2024 10:00:00 +0100\r\nSubject: Residence permit\r\nTo: maria@example.it\r\n\r\n{NOTICE}"
    )
    .into_bytes()
}

async fn verdict(raw: &[u8]) -> Verdict {
    let p = crate::parse::parse(raw);
    assert_eq!(p.kind, Kind::PermitApproved, "{p:?}");
    Checker::new(&settings()).assess(raw, &p).await
}

#[tokio::test]
async fn spoofed_office_with_failing_results_is_held() {
    let v = verdict(&direct(
        "Authentication-Results: mx.google.com; dkim=fail header.d=asp.gov.al; spf=fail smtp.mailfrom=asp.gov.al; dmarc=fail header.from=asp.gov.al\r\n",
    ))
    .await;
    assert!(
        !v.forwarder_verified && !v.original_verified && !v.trusted,
        "{v:?}"
    );
    assert!(v.reason.starts_with("held:"), "{}", v.reason);
    assert!(v.reason.contains("dmarc=fail"), "{}", v.reason);
}

#[tokio::test]
async fn office_verified_by_trusted_server_is_trusted() {
    let v = verdict(&direct(
        "Authentication-Results: mx.google.com; dmarc=pass header.from=asp.gov.al\r\n",
    ))
    .await;
    assert!(
        v.forwarder_verified && v.original_verified && v.trusted,
        "{v:?}"
    );
}

#[tokio::test]
async fn a_forged_pass_below_the_receivers_header_is_not_read() {
    // The receiving server's (topmost) header says fail; the sender's own
    // "pass" with the same authserv-id further down counts for nothing.
    let v = verdict(&forward(
        "maria@gmail.com",
        "Authentication-Results: mx.google.com; dmarc=fail header.from=gmail.com\r\nReceived: from evil\r\nAuthentication-Results: mx.google.com; dmarc=pass header.from=gmail.com\r\n",
    ))
    .await;
    assert!(!v.forwarder_verified && !v.trusted, "{v:?}");
    // An untrusted authserv-id is not read at all.
    let v = verdict(&forward(
        "maria@gmail.com",
        "Authentication-Results: mx.evil.example; dmarc=pass header.from=gmail.com\r\n",
    ))
    .await;
    assert!(!v.forwarder_verified, "{v:?}");
}

#[tokio::test]
async fn verified_gmail_forwarder_is_trusted_but_not_its_inline_original() {
    let v = verdict(&forward(
        "maria@gmail.com",
        "Authentication-Results: mx.google.com;\r\n dkim=pass header.i=@gmail.com header.s=s1;\r\n dmarc=pass (p=NONE) header.from=gmail.com\r\n",
    ))
    .await;
    assert!(v.forwarder_verified && v.trusted && !v.staff, "{v:?}");
    assert!(!v.original_verified);
    assert!(v.reason.contains("inline forward"), "{}", v.reason);
}

#[tokio::test]
async fn staff_only_counts_when_verified() {
    let v = verdict(&forward(
        "desk@agency.al",
        "Authentication-Results: mail.agency.al; spf=pass smtp.mailfrom=desk@agency.al\r\n",
    ))
    .await;
    assert!(v.staff && v.trusted, "{v:?}");
    assert!(v.reason.starts_with("trusted (staff)"), "{}", v.reason);
    let v = verdict(&forward("desk@agency.al", "")).await;
    assert!(!v.staff && !v.trusted, "{v:?}");
}

#[tokio::test]
async fn auto_send_policy_is_configurable() {
    let raw = forward(
        "maria@gmail.com",
        "Authentication-Results: mx.google.com; dmarc=pass header.from=gmail.com\r\n",
    );
    let p = crate::parse::parse(&raw);
    let s = TrustSettings {
        auto_send: vec![AutoSend::Staff],
        ..settings()
    };
    let v = Checker::new(&s).assess(&raw, &p).await;
    assert!(v.forwarder_verified && !v.trusted, "{v:?}");
}

#[tokio::test]
async fn other_mail_is_not_checked() {
    let raw = b"From: a@b.example\r\nSubject: hi\r\n\r\nhello there, how are you\r\n";
    let p = crate::parse::parse(raw);
    let v = Checker::new(&settings()).assess(raw, &p).await;
    assert!(
        !v.trusted && v.reason.contains("not a notification"),
        "{v:?}"
    );
}

#[test]
fn headers_unfold() {
    let h = header_lines(b"A: 1\r\n 2\r\nB:3\r\n\r\nC: body\r\n");
    assert_eq!(
        h,
        vec![("A".into(), "1 2".into()), ("B".into(), "3".into())]
    );
    assert_eq!(clip("ab\u{e9}".into(), 3), "ab");
}
