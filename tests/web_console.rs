//! The staff console in a real browser: Debian's chromedriver and headless
//! Chromium, driven over WebDriver. A store holds a notification imported from a
//! fixture `.eml`, a case in review, a hostile name and a failed email; a staff
//! member logs in, finds and advances the case, reads the instructions email,
//! resolves the review, retries the email and logs out. Screenshots of the main
//! pages go to docs/screenshots/. Raw HTTP checks what a browser would not send.

#[path = "web/support.rs"]
mod support;

use fantoccini::Locator;
use leje::parse::{Directorate, Kind, Language, ParsedMessage, Waybill};
use leje::store::{Incoming, Origin, OutboxStatus, Stage, Store};
use sha2::{Digest, Sha256};
use support::*;

/// These messages are vouched for: trust has its own tests (tests/trust.rs).
static VOUCHED: std::sync::LazyLock<leje::trust::Verdict> =
    std::sync::LazyLock::new(|| leje::trust::Verdict::vouched("the tests"));

const XSS: &str = "<img src=x onerror=alert(1)>";

fn approval(doc: &str, name: &str, who: &str) -> ParsedMessage {
    let data = format!("%PDF-1.4 waybill {doc} 5700 Lek").into_bytes();
    ParsedMessage {
        kind: Kind::PermitApproved,
        reason: None,
        language: Some(Language::En),
        name: Some(name.into()),
        travel_document: Some(doc.into()),
        nationality: Some("Italian".into()),
        directorate: Some(Directorate::Tirane),
        original_from: Some("lejeqendrimi@mb.gov.al".into()),
        forwarded_by: Some(who.into()),
        notified_at: Some("2021-12-22T09:14:00+01:00".into()),
        waybills: vec![Waybill {
            filename: Some(format!("mandat-{doc}.pdf")),
            content_type: "application/pdf".into(),
            size: data.len() as u64,
            sha256: hex::encode(Sha256::digest(&data)),
            amount_lek: Some(5700),
            data,
        }],
        message_id: Some(format!("{doc}.{}@mail.example", who.replace('@', "."))),
        references: vec![],
        subject: Some("Fwd: Leje qendrimi".into()),
        original_to: Some(who.into()),
        reply_to: None,
        followup: Default::default(),
    }
}

async fn ingest(store: &Store, path: &str, p: &ParsedMessage, raw: &[u8]) -> leje::store::Ingested {
    let sha = hex::encode(Sha256::digest(raw));
    store
        .ingest(&Incoming {
            origin: Origin::File { path },
            raw_sha256: &sha,
            size: raw.len() as u64,
            parsed: p,
            forwarder_is_staff: false,
            trust: &VOUCHED,
        })
        .await
        .expect("ingest")
}

struct Fixture {
    imported: i64,
    imported_name: String,
    cuci: i64,
    hostile: i64,
    failed_email: i64,
}

/// The store's contents: a real fixture imported, and three made-up cases.
async fn fill(store: &Store) -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/direct-en-gmt-date.eml"
    );
    let raw = std::fs::read(path).unwrap();
    let parsed = leje::parse::parse(&raw);
    let imported = ingest(store, path, &parsed, &raw)
        .await
        .case_id
        .expect("case");
    let imported_name = parsed.name.clone().unwrap();

    let a = approval("CC1112223", "Arbër Çuçi", "arber@example.al");
    let cuci = ingest(store, "/1.eml", &a, b"1").await.case_id.unwrap();
    let b = approval("CC1112223", "Arben Cuci", "arben@example.al");
    let r = ingest(store, "/2.eml", &b, b"2").await;
    assert_eq!(r.case_id, Some(cuci));

    let h = approval("XS0000001", XSS, "x@example.al");
    let r = ingest(store, "/3.eml", &h, b"3").await;
    let hostile = r.case_id.unwrap();
    let failed_email = r.outbox_ids[0];
    store
        .outbox_mark_failed(failed_email, "550 5.1.1 mailbox unavailable")
        .await
        .unwrap();
    store
        .staff_add(
            STAFF,
            Some(&leje::web::password::hash(PASSWORD).unwrap()),
            false,
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .expect("new account");
    Fixture {
        imported,
        imported_name,
        cuci,
        hostile,
        failed_email,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_work_a_day_in_the_browser() {
    let Some(driver) = driver().await else { return };
    let state = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", state.path().join("leje.db").display());
    let store = Store::open(&url, state.path()).await.unwrap();
    let fx = fill(&store).await;
    let site = serve(&store, state.path()).await;
    let base = format!("http://{}", site.addr);
    let c = browser(&driver).await;

    // Not logged in: sent to the login page.
    c.goto(&format!("{base}/cases")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));
    screenshot(&c, "login").await;

    login(&c, &base).await;
    assert_eq!(c.current_url().await.unwrap().path(), "/");
    let review = text(&c, "#today-review").await;
    assert!(review.contains("Arbër Çuçi"), "{review}");
    assert!(text(&c, "#today-failed").await.contains("550 5.1.1"));
    screenshot(&c, "today").await;

    // Find the imported notification's case by a word of its name, lower case.
    let word = fx
        .imported_name
        .split_whitespace()
        .last()
        .unwrap()
        .to_lowercase();
    c.goto(&format!("{base}/cases?q={word}")).await.unwrap();
    let rows = c.find_all(Locator::Css("#cases .case-link")).await.unwrap();
    assert_eq!(rows.len(), 1, "search `{word}`");
    // Diacritics do not matter: `cuci` finds `Çuçi`.
    c.goto(&format!("{base}/cases?q=cuci")).await.unwrap();
    assert!(text(&c, "#cases").await.contains("Arbër Çuçi"));
    c.goto(&format!("{base}/cases")).await.unwrap();
    screenshot(&c, "cases").await;

    // Advance it; the move is recorded with who made it.
    c.goto(&format!("{base}/cases/{}", fx.imported))
        .await
        .unwrap();
    submit(&c, "#move-address_confirmed").await;
    assert_eq!(
        text(&c, "#case-stage").await,
        "address confirmed",
        "stage after the move"
    );
    let timeline = text(&c, "#timeline").await;
    assert!(
        timeline.contains("approved → address_confirmed") && timeline.contains(STAFF),
        "{timeline}"
    );
    screenshot(&c, "case").await;
    let case = store.case_by_id(fx.imported).await.unwrap().unwrap();
    assert_eq!(case.stage, Stage::AddressConfirmed);

    // The instructions email, as the applicant sees it.
    submit(&c, "#case-emails .email-link").await;
    let subject = text(&c, "#email-subject").await;
    let body = text(&c, "#email-text").await;
    assert!(!subject.is_empty());
    assert!(body.contains(&fx.imported_name), "{body}");
    screenshot(&c, "email").await;

    // Resolve the review: keep what the case has.
    c.goto(&format!("{base}/review")).await.unwrap();
    let side = text(&c, &format!("#review-{}", fx.cuci)).await;
    assert!(
        side.contains("Arbër Çuçi") && side.contains("Arben Cuci"),
        "{side}"
    );
    screenshot(&c, "review").await;
    submit(&c, &format!("#keep-{}", fx.cuci)).await;
    assert!(c
        .find_all(Locator::Css(&format!("#review-{}", fx.cuci)))
        .await
        .unwrap()
        .is_empty());
    let k = store.case_by_id(fx.cuci).await.unwrap().unwrap();
    assert_eq!(k.stage, Stage::Approved);
    assert_eq!(k.name.as_deref(), Some("Arbër Çuçi"));

    // Retry the failed email.
    c.goto(&format!("{base}/outbox/{}", fx.failed_email))
        .await
        .unwrap();
    assert_eq!(text(&c, "#row-status").await, "failed");
    submit(&c, "#action-retry").await;
    assert_eq!(text(&c, "#row-status").await, "pending");
    let row = store.outbox_get(fx.failed_email).await.unwrap().unwrap();
    assert_eq!(row.status, OutboxStatus::Pending);
    c.goto(&format!("{base}/outbox")).await.unwrap();
    screenshot(&c, "outbox").await;

    // A hostile name is text: shown as written, nothing runs, no image element.
    c.goto(&format!("{base}/cases/{}", fx.hostile))
        .await
        .unwrap();
    assert!(text(&c, "#case-name").await.contains(XSS));
    assert!(c.find_all(Locator::Css("h1 img")).await.unwrap().is_empty());
    assert!(c.get_alert_text().await.is_err(), "an alert opened");

    // Albanian, by the staff member's choice.
    c.find(Locator::Css("select[name=language]"))
        .await
        .unwrap()
        .select_by_value("sq")
        .await
        .unwrap();
    submit(&c, "form[action='/language'] button").await;
    c.goto(&format!("{base}/")).await.unwrap();
    assert!(text(&c, "h1").await.contains("Sot"));
    screenshot(&c, "today-sq").await;

    // A POST without its CSRF token is refused, even with a live session.
    let cookie = c.get_named_cookie("leje_session").await.unwrap();
    let session = format!("leje_session={}", cookie.value());
    let (code, _, _) = http(
        site.addr,
        "POST",
        &format!("/cases/{}/note", fx.imported),
        Some(&session),
        Some("text=sneaky"),
    )
    .await;
    assert_eq!(code, 403);
    let (code, _, _) = http(
        site.addr,
        "POST",
        &format!("/cases/{}/note", fx.imported),
        Some(&session),
        Some("csrf=0000&text=sneaky"),
    )
    .await;
    assert_eq!(code, 403);
    let tl = store.view_timeline(fx.imported).await.unwrap();
    assert!(!tl.iter().any(|e| e.text.contains("sneaky")));

    // Log out: the session ends on the server, so the old cookie is refused too.
    submit(&c, "#logout").await;
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));
    c.goto(&format!("{base}/cases")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/login"));
    let (code, head, _) = http(site.addr, "GET", "/cases", Some(&session), None).await;
    assert_eq!(code, 303, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("location: /login"),
        "{head}"
    );

    c.close().await.unwrap();
}

/// Ten wrong passwords: after five the account is locked for 15 minutes,
/// and then even the right password is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_throttled() {
    let state = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", state.path().join("leje.db").display());
    let store = Store::open(&url, state.path()).await.unwrap();
    store
        .staff_add(
            STAFF,
            Some(&leje::web::password::hash(PASSWORD).unwrap()),
            false,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let site = serve(&store, state.path()).await;
    let (code, head, page) = http(site.addr, "GET", "/login", None, None).await;
    assert_eq!(code, 200);
    let pre = set_cookies(&head)
        .into_iter()
        .find(|c| c.starts_with("leje_login="))
        .unwrap();
    let csrf = csrf_of(&page);
    // The login form has its own CSRF token.
    let (code, _, _) = http(
        site.addr,
        "POST",
        "/login",
        Some(&pre),
        Some(&form(&[("email", STAFF), ("password", PASSWORD)])),
    )
    .await;
    assert_eq!(code, 403);

    let mut codes = Vec::new();
    for i in 0..10 {
        let (code, _, _) = http(
            site.addr,
            "POST",
            "/login",
            Some(&pre),
            Some(&form(&[
                ("email", STAFF),
                ("password", &format!("wrong {i}")),
                ("csrf", &csrf),
            ])),
        )
        .await;
        codes.push(code);
    }
    assert_eq!(codes[..5], [401; 5], "{codes:?}");
    assert_eq!(codes[5..], [429; 5], "{codes:?}");
    let (code, _, body) = http(
        site.addr,
        "POST",
        "/login",
        Some(&pre),
        Some(&form(&[
            ("email", STAFF),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])),
    )
    .await;
    assert_eq!(code, 429, "{body}");
    assert!(body.contains("Too many failed attempts"));
    // Another account from the same address still logs in.
    store
        .staff_add(
            "ben@agency.example",
            Some(&leje::web::password::hash(PASSWORD).unwrap()),
            false,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let (code, head, _) = http(
        site.addr,
        "POST",
        "/login",
        Some(&pre),
        Some(&form(&[
            ("email", "ben@agency.example"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])),
    )
    .await;
    assert_eq!(code, 303, "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("httponly") && lower.contains("samesite=strict"),
        "{head}"
    );
    // Every console response carries the strict headers.
    let (_, head, _) = http(site.addr, "GET", "/login", None, None).await;
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("frame-ancestors 'none'"), "{head}");
    assert!(lower.contains("x-content-type-options: nosniff"), "{head}");
    assert!(!lower.contains("unsafe-inline"), "{head}");
}
