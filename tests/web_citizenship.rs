//! The citizenship clock in the console (issue 21), in a real browser (Debian's
//! chromedriver and headless Chromium over WebDriver): a staff member opens the
//! Citizenship list, finds a case by its residence start and general-route date,
//! filters by "eligible by", opens the case, sets a date of birth and a marriage
//! date and adds and removes a period of residence through the forms, and sees the
//! marriage route and the earliest date change. Raw HTTP checks what a browser
//! would not send (no CSRF token, bad dates, a forged cursor). Screenshots go to
//! docs/screenshots/.

#[path = "web/support.rs"]
mod support;

use fantoccini::Locator;
use leje::parse::{Directorate, Kind, Language, ParsedMessage};
use leje::store::{Cause, FactsChange, Incoming, Origin, Store};
use sha2::{Digest, Sha256};
use support::*;

const XSS: &str = "<img src=x onerror=alert(1)>";

fn approval(doc: &str, name: &str, notified_at: &str) -> ParsedMessage {
    ParsedMessage {
        kind: Kind::PermitApproved,
        reason: None,
        language: Some(Language::En),
        name: Some(name.into()),
        travel_document: Some(doc.into()),
        nationality: Some("Italian".into()),
        directorate: Some(Directorate::Tirane),
        original_from: Some("lejeqendrimi@mb.gov.al".into()),
        forwarded_by: Some("applicant@example.it".into()),
        notified_at: Some(notified_at.into()),
        waybills: vec![],
        message_id: Some(format!("{doc}@mail.example")),
        references: vec![],
        subject: Some("Fwd: Leje qendrimi".into()),
        original_to: Some("applicant@example.it".into()),
        reply_to: None,
        followup: Default::default(),
    }
}

async fn ingest(store: &Store, p: &ParsedMessage) -> i64 {
    let path = format!("/{}.eml", p.travel_document.as_deref().unwrap());
    let sha = hex::encode(Sha256::digest(path.as_bytes()));
    store
        .ingest(&Incoming {
            origin: Origin::File { path: &path },
            raw_sha256: &sha,
            size: 100,
            parsed: p,
            forwarder_is_staff: false,
            trust: &leje::trust::Verdict::vouched("the tests"),
        })
        .await
        .expect("ingest")
        .case_id
        .expect("a case")
}

fn d(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Marco: resident since 2021-03-10 (the approval's day in Tirana), born 1984, so
/// the general route opens on 2026-03-10. Lena: nothing known. A hostile name.
struct Fixture {
    marco: i64,
    lena: i64,
    hostile: i64,
}

async fn fill(store: &Store) -> Fixture {
    let marco = ingest(
        store,
        &approval("CZ1000001", "Marco Rossi", "2021-03-10T10:00:00+01:00"),
    )
    .await;
    let born = FactsChange {
        born: Some(Some(d("1984-07-02"))),
        ..Default::default()
    };
    store
        .citizenship_set("CZ1000001", &born, "cli (ana)")
        .await
        .unwrap();
    let lena = ingest(
        store,
        &approval("CZ1000002", "Lena Berg", "2024-11-02T10:00:00+01:00"),
    )
    .await;
    let hostile = ingest(
        store,
        &approval("CZ1000003", XSS, "2019-01-20T10:00:00+01:00"),
    )
    .await;
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
        marco,
        lena,
        hostile,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_follow_the_citizenship_clock_in_the_browser() {
    let Some(driver) = driver().await else { return };
    let state = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", state.path().join("leje.db").display());
    let store = Store::open(&url, state.path()).await.unwrap();
    let fx = fill(&store).await;
    let site = serve(&store, state.path()).await;
    let base = format!("http://{}", site.addr);
    let c = browser(&driver).await;
    login(&c, &base).await;

    // The list, from the navigation bar.
    submit(&c, "#nav-citizenship").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/citizenship");
    let marco = format!("#citz-{}", fx.marco);
    assert_eq!(text(&c, &format!("{marco} .since")).await, "2021-03-10");
    let general = text(&c, &format!("{marco} .route-general")).await;
    assert!(general.contains("2026-03-10"), "{general}");
    assert!(text(&c, &format!("{marco} .earliest"))
        .await
        .contains("2026-03-10"));
    let lena = text(&c, &format!("#citz-{} .route-general", fx.lena)).await;
    assert!(
        lena.contains("unknown") && lena.contains("date of birth"),
        "{lena}"
    );
    // A name from email is text: shown as written, no image element.
    let row = text(&c, &format!("#citz-{}", fx.hostile)).await;
    assert!(row.contains(XSS), "{row}");
    assert_eq!(count(&c, "#citizenship img").await, 0);
    assert!(c.get_alert_text().await.is_err(), "an alert opened");
    screenshot(&c, "citizenship").await;

    // Eligible by mid-2026: Marco only (Lena and the hostile case have no date of birth).
    type_in(&c, "#eligible-by", "2026-06-30").await;
    c.find(Locator::Css("#citz-sort"))
        .await
        .unwrap()
        .select_by_value("earliest")
        .await
        .unwrap();
    submit(&c, "#citz-filter").await;
    assert_eq!(count(&c, "#citizenship tbody tr[id]").await, 1);
    assert_eq!(count(&c, &marco).await, 1);
    let q = c.current_url().await.unwrap();
    assert!(
        q.query().unwrap_or("").contains("eligible_by=2026-06-30"),
        "{q}"
    );

    // The case: the clock, then the facts changed through the form.
    submit(&c, &format!("{marco} .case-link")).await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        format!("/cases/{}", fx.marco)
    );
    assert_eq!(text(&c, "#citz-since").await, "2021-03-10");
    assert!(text(&c, "#citz-route-general .opens")
        .await
        .contains("2026-03-10"));
    let marriage = text(&c, "#citz-route-marriage .opens").await;
    assert!(marriage.contains("unknown"), "{marriage}");
    assert!(text(&c, "#citz-earliest").await.contains("2026-03-10"));
    type_in(&c, "#citz-born", "1990-05-01").await;
    type_in(&c, "#citz-married", "2022-01-15").await;
    submit(&c, "#citz-save").await;
    // Married three years on 2025-01-15, resident a year by then, adult: it opens first.
    let marriage = text(&c, "#citz-route-marriage .opens").await;
    assert!(marriage.contains("2025-01-15"), "{marriage}");
    let earliest = text(&c, "#citz-earliest").await;
    assert!(
        earliest.contains("2025-01-15") && earliest.contains("Marriage"),
        "{earliest}"
    );
    assert!(text(&c, "#citz-route-general .opens")
        .await
        .contains("2026-03-10"));
    let timeline = text(&c, "#timeline").await;
    assert!(
        timeline.contains("date of birth 1984-07-02 → 1990-05-01")
            && timeline.contains(&format!("citizenship facts by {STAFF}")),
        "{timeline}"
    );
    let last = store.case_events(fx.marco).await.unwrap().pop().unwrap();
    assert_eq!(last.cause, Cause::Staff);
    screenshot(&c, "case-citizenship").await;

    // An earlier period of residence, still going on, moves the start back; removed, it is undone.
    type_in(&c, "#citz-from", "2015-01-01").await;
    submit(&c, "#citz-add").await;
    assert_eq!(text(&c, "#citz-since").await, "2015-01-01");
    assert!(text(&c, "#citz-route-general .opens")
        .await
        .contains("2020-01-01"));
    submit(&c, "#citz-remove-2015-01-01").await;
    assert_eq!(text(&c, "#citz-since").await, "2021-03-10");
    assert!(text(&c, "#timeline").await.contains(&format!(
        "residence period from 2015-01-01 removed by {STAFF}"
    )));

    // What a browser would not send, with the live session.
    let cookie = c.get_named_cookie("leje_session").await.unwrap();
    let session = format!("leje_session={}", cookie.value());
    let facts = format!("/cases/{}/citizenship", fx.marco);
    let residence = format!("/cases/{}/residence", fx.marco);
    for (path, body) in [
        (&facts, "born=2000-01-01".to_string()),
        (&facts, "csrf=0000&born=2000-01-01".to_string()),
        (&residence, "action=add&from=2000-01-01".to_string()),
    ] {
        let (code, _, _) = http(site.addr, "POST", path, Some(&session), Some(&body)).await;
        assert_eq!(code, 403, "{path} {body}");
    }
    let rec = store.citizenship_records(Some(fx.marco)).await.unwrap();
    assert_eq!(rec[0].facts.born, Some(d("1990-05-01")), "unchanged");
    assert!(rec[0].periods.is_empty(), "unchanged");

    // Bad input is refused with the reason, and changes nothing.
    let (_, _, page) = http(site.addr, "GET", "/citizenship", Some(&session), None).await;
    let csrf = csrf_of(&page);
    for (path, fields, says) in [
        (&facts, vec![("born", "2999-01-01")], "in the future"),
        (&facts, vec![("born", "01/05/1990")], "YYYY-MM-DD"),
        (&facts, vec![("albanian_origin", "maybe")], "yes"),
        (
            &residence,
            vec![
                ("action", "add"),
                ("from", "2020-01-01"),
                ("to", "2019-01-01"),
            ],
            "cannot end",
        ),
        (
            &residence,
            vec![("action", "absent"), ("from", "2020-01-01")],
            "last day",
        ),
        (
            &residence,
            vec![("action", "remove"), ("from", "2001-01-01")],
            "no residence period",
        ),
    ] {
        let mut pairs = vec![("csrf", csrf.as_str())];
        pairs.extend(fields.iter().copied());
        let (code, _, body) =
            http(site.addr, "POST", path, Some(&session), Some(&form(&pairs))).await;
        assert!(code == 409 || code == 404, "{fields:?}: {code}");
        assert!(body.contains(says), "{fields:?}: {body}");
    }
    let rec = store.citizenship_records(Some(fx.marco)).await.unwrap();
    assert_eq!(rec[0].facts.born, Some(d("1990-05-01")));
    for bad in [
        "/citizenship?eligible_by=tomorrow",
        "/citizenship?after=%3Cscript%3E",
    ] {
        let (code, _, body) = http(site.addr, "GET", bad, Some(&session), None).await;
        assert_eq!(code, 409, "{bad}");
        assert!(!body.contains("<script>"), "{body}");
    }
    // Not logged in: the list is behind the login like every page.
    let (code, _, _) = http(site.addr, "GET", "/citizenship", None, None).await;
    assert_eq!(code, 303);

    c.close().await.unwrap();
}

/// With `[citizenship] enabled = false` the console neither links nor serves the clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_hides_a_clock_that_is_off() {
    let state = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", state.path().join("leje.db").display());
    let store = Store::open(&url, state.path()).await.unwrap();
    let fx = fill(&store).await;
    let site = serve_with(&store, state.path(), "[citizenship]\nenabled = false\n").await;
    let session = login_http(site.addr).await;
    let (code, _, page) = http(site.addr, "GET", "/", Some(&session), None).await;
    assert_eq!(code, 200);
    assert!(!page.contains("/citizenship"), "{page}");
    let (code, _, _) = http(site.addr, "GET", "/citizenship", Some(&session), None).await;
    assert_eq!(code, 404);
    let (code, _, page) = http(
        site.addr,
        "GET",
        &format!("/cases/{}", fx.marco),
        Some(&session),
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert!(!page.contains("id=\"citizenship\""));
    let body = form(&[("csrf", &csrf_of(&page)), ("born", "2000-01-01")]);
    let (code, _, _) = http(
        site.addr,
        "POST",
        &format!("/cases/{}/citizenship", fx.marco),
        Some(&session),
        Some(&body),
    )
    .await;
    assert_eq!(code, 404);
}
