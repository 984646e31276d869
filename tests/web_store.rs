//! The store's side of the console, on SQLite and PostgreSQL: staff accounts,
//! sessions with idle and absolute expiry (time is a parameter), login-failure
//! counts, the diacritics-insensitive search, and actions recorded with their actor.

mod common;

use chrono::{Duration, TimeZone, Utc};
use leje::parse::{Directorate, Kind, Language, ParsedMessage};
use leje::store::views::{search, terms, CaseQuery, CaseSort};
use leje::store::{CaseEdit, Cause, Incoming, Origin, SessionLimits, Stage, Store};

/// These messages are vouched for: trust has its own tests (tests/trust.rs).
static VOUCHED: std::sync::LazyLock<leje::trust::Verdict> =
    std::sync::LazyLock::new(|| leje::trust::Verdict::vouched("the tests"));

struct Env {
    store: Store,
    _state: tempfile::TempDir,
    _db: Option<common::TestDb>,
}

async fn env(pg: bool) -> Option<Env> {
    let state = tempfile::tempdir().unwrap();
    let (url, db) = if pg {
        let db = common::stack()?.fresh_postgres().await;
        (db.url.clone(), Some(db))
    } else {
        (
            format!("sqlite:{}", state.path().join("leje.db").display()),
            None,
        )
    };
    let store = Store::open(&url, state.path()).await.unwrap();
    Some(Env {
        store,
        _state: state,
        _db: db,
    })
}

fn approval(doc: &str, name: &str, who: &str) -> ParsedMessage {
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
        waybills: vec![],
        message_id: Some(format!("{doc}@mail.example")),
        references: vec![],
        subject: None,
        original_to: Some(who.into()),
        reply_to: None,
        followup: Default::default(),
    }
}

async fn case(s: &Store, doc: &str, name: &str, who: &str) -> i64 {
    let p = approval(doc, name, who);
    s.ingest(&Incoming {
        origin: Origin::File { path: doc },
        raw_sha256: doc,
        size: 1,
        parsed: &p,
        forwarder_is_staff: false,
        trust: &VOUCHED,
    })
    .await
    .unwrap()
    .case_id
    .unwrap()
}

macro_rules! both {
    ($($name:ident),+) => {
        mod sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::env(false).await.unwrap()).await }
        )+ }
        mod postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { if let Some(e) = super::env(true).await { super::$name(e).await } }
        )+ }
    };
}

both!(
    sessions_expire,
    search_ignores_case_and_diacritics,
    actions_name_their_actor
);

async fn sessions_expire(e: Env) {
    let s = &e.store;
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let id = s
        .staff_add("Ana@Agency.example", Some("$argon2id$x"), true, t0)
        .await
        .unwrap()
        .unwrap();
    assert!(s
        .staff_add("ana@agency.example", None, false, t0)
        .await
        .unwrap()
        .is_none());
    let limits = SessionLimits {
        idle: Duration::hours(2),
        absolute: Duration::hours(12),
    };
    s.session_create(id, "h1", "csrf1", t0).await.unwrap();
    let got = s
        .session_get("h1", t0 + Duration::minutes(90), limits)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.staff.email.as_str(), got.csrf.as_str()),
        ("ana@agency.example", "csrf1")
    );
    // Used every 90 minutes it lives on, until 12 hours after login.
    let mut t = t0 + Duration::minutes(90);
    while t < t0 + Duration::hours(11) {
        t += Duration::minutes(90);
        assert!(
            s.session_get("h1", t, limits).await.unwrap().is_some(),
            "{t}"
        );
    }
    assert!(s
        .session_get("h1", t0 + Duration::hours(13), limits)
        .await
        .unwrap()
        .is_none());
    // Idle for more than two hours: gone, and stays gone.
    s.session_create(id, "h2", "csrf2", t0).await.unwrap();
    assert!(s
        .session_get("h2", t0 + Duration::minutes(121), limits)
        .await
        .unwrap()
        .is_none());
    assert!(s.session_get("h2", t0, limits).await.unwrap().is_none());
    // Logout and a new password end sessions.
    s.session_create(id, "h3", "c", t0).await.unwrap();
    s.session_delete("h3").await.unwrap();
    assert!(s.session_get("h3", t0, limits).await.unwrap().is_none());
    s.session_create(id, "h4", "c", t0).await.unwrap();
    assert!(s
        .staff_set_password("ANA@agency.example", "$argon2id$y")
        .await
        .unwrap());
    assert!(s.session_get("h4", t0, limits).await.unwrap().is_none());
    // Failures are counted per key within the window.
    s.login_failed(&["account:a", "address:1"], t0, t0 - Duration::days(1))
        .await
        .unwrap();
    s.login_failed(
        &["account:a"],
        t0 + Duration::minutes(20),
        t0 - Duration::days(1),
    )
    .await
    .unwrap();
    assert_eq!(
        s.login_failures("account:a", t0 + Duration::minutes(5))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.login_failures("account:a", t0 - Duration::minutes(5))
            .await
            .unwrap(),
        2
    );
    s.login_failures_clear("account:a").await.unwrap();
    assert_eq!(
        s.login_failures("account:a", t0 - Duration::days(1))
            .await
            .unwrap(),
        0
    );
    assert!(s.staff_remove("ana@agency.example").await.unwrap());
    assert!(s.staff_list().await.unwrap().is_empty());
}

async fn search_ignores_case_and_diacritics(e: Env) {
    let s = &e.store;
    let a = case(s, "AB1000001", "Arbër Çuçi", "arber@example.al").await;
    let b = case(s, "AB1000002", "Zoë Müller", "zoe.m@post.example").await;
    let find = |q: &str| {
        let q = CaseQuery {
            words: search::query_words(q),
            limit: 50,
            ..Default::default()
        };
        async move {
            s.view_cases(&q)
                .await
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(find("cuci").await, vec![a]);
    assert_eq!(find("ÇUÇI arb").await, vec![a]);
    assert_eq!(find("muller").await, vec![b]);
    assert_eq!(find("ab10000").await.len(), 2);
    assert_eq!(find("post.example").await, vec![b]);
    assert!(find("nobody").await.is_empty());
    // A name changed later is found by its new words (the terms follow updated_at).
    s.edit_case(
        b,
        CaseEdit::Name(Some("Zoë Çela".into())),
        "ana@agency.example",
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(find("cela").await, vec![b]);
    assert!(find("muller").await.is_empty());
    // A word thousands of cases share, and three words that only one has.
    let many: Vec<ParsedMessage> = (0..2100)
        .map(|i| {
            approval(
                &format!("PP{i:07}"),
                &format!("Common Person {i}"),
                &format!("p{i}@example.org"),
            )
        })
        .collect();
    let raws: Vec<String> = (0..2100).map(|i| format!("pp{i}")).collect();
    let incoming: Vec<Incoming<'_>> = many
        .iter()
        .zip(&raws)
        .map(|(p, r)| Incoming {
            origin: Origin::File { path: r },
            raw_sha256: r,
            size: 1,
            parsed: p,
            forwarder_is_staff: false,
            trust: &VOUCHED,
        })
        .collect();
    s.ingest_batch(&incoming).await.unwrap();
    // A backlog this big is the background job's, never a search's: the search
    // answers from the terms indexed so far, and indexes nothing itself.
    assert!(find("person").await.is_empty());
    assert_eq!(
        s.sync_case_terms_upto(terms::INLINE_MAX).await.unwrap(),
        None
    );
    // A change made through the console is found at once all the same.
    s.edit_case(
        b,
        CaseEdit::Name(Some("Zoë Dushku".into())),
        "ana@agency.example",
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(find("dushku").await, vec![b]);
    assert!(find("cela").await.is_empty());
    // The daemon's job catches up (cases already indexed at their version are skipped).
    assert!(s.sync_case_terms().await.unwrap() >= 2100);
    assert_eq!(s.sync_case_terms().await.unwrap(), 0);
    let page = s
        .view_cases(&CaseQuery {
            words: search::query_words("person"),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 50);
    // Most recently changed first, each case once; the next page goes on from there.
    let keys: Vec<_> = page.iter().map(|c| (c.updated_at, c.id)).collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(keys, sorted);
    let page2 = s
        .view_cases(&CaseQuery {
            words: search::query_words("person"),
            limit: 50,
            offset: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page2.len(), 50);
    assert!(page2.iter().all(|c| !page.iter().any(|d| d.id == c.id)));
    assert!((page2[0].updated_at, page2[0].id) < keys[49]);
    // Two terms of one case (`p2099`, `p2099@example.org`) still name it once.
    assert_eq!(find("p2099").await.len(), 1);
    // Two common words (their ranges intersected), sorted by name and by creation.
    for sort in [CaseSort::Name, CaseSort::Created] {
        let both = s
            .view_cases(&CaseQuery {
                words: search::query_words("common person"),
                sort,
                limit: 40,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(both.len(), 40);
        let got: Vec<_> = both.iter().map(|c| (c.name.clone(), c.id)).collect();
        let mut want = got.clone();
        match sort {
            CaseSort::Name => want.sort(),
            _ => want.sort_by_key(|x| std::cmp::Reverse(x.1)),
        }
        assert_eq!(got, want, "{sort:?}");
    }
    assert!(page
        .iter()
        .all(|c| c.name.as_deref().unwrap().contains("Person")));
    let one = s
        .view_cases(&CaseQuery {
            words: search::query_words("person 2099 common"),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 1, "{one:?}");
    assert_eq!(one[0].name.as_deref(), Some("Common Person 2099"));
    // Filters and sort.
    let by_name = s
        .view_cases(&CaseQuery {
            sort: CaseSort::Name,
            stage: Some(Stage::Approved),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_name[0].id, a);
    let names: Vec<_> = by_name.iter().map(|c| c.name.clone().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

async fn actions_name_their_actor(e: Env) {
    let s = &e.store;
    let id = case(s, "AB2000001", "Ana Silva", "ana@example.pt").await;
    let at = Utc::now();
    let r = s
        .advance_as(
            id,
            Stage::FeePaid,
            Cause::Staff,
            "ben@agency.example",
            Some("paid at the bank"),
            at,
        )
        .await
        .unwrap();
    assert_eq!((r.from, r.to), (Stage::Approved, Stage::FeePaid));
    let err = s
        .advance_as(
            id,
            Stage::Approved,
            Cause::Staff,
            "ben@agency.example",
            None,
            at,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot move"), "{err}");
    s.add_note(id, "ben@agency.example", "called the applicant", at)
        .await
        .unwrap();
    assert!(s
        .edit_case(
            id,
            CaseEdit::Contacts(vec!["Ana@Example.pt".into(), "a2@example.pt".into()]),
            "ben@agency.example",
            at
        )
        .await
        .unwrap());
    assert!(!s
        .edit_case(
            id,
            CaseEdit::Contacts(vec!["ana@example.pt".into(), "a2@example.pt".into()]),
            "x",
            at
        )
        .await
        .unwrap());
    let out = s.view_case_outbox(id).await.unwrap();
    s.outbox_mark_failed(out[0].id, "550 no").await.unwrap();
    s.outbox_retry_as(out[0].id, "ben@agency.example", at)
        .await
        .unwrap();
    assert_eq!(
        s.view_outbox_row(out[0].id).await.unwrap().unwrap().status,
        "pending"
    );

    let tl = s.view_timeline(id).await.unwrap();
    let line = |kind: &str, text: &str| {
        tl.iter()
            .find(|e| e.kind == kind && e.text.contains(text))
            .unwrap_or_else(|| panic!("no {kind} `{text}` in {tl:#?}"))
    };
    assert_eq!(
        line("stage", "approved → fee_paid").actor.as_deref(),
        Some("ben@agency.example")
    );
    assert_eq!(
        line("note", "called the applicant").actor.as_deref(),
        Some("ben@agency.example")
    );
    assert!(line("edit", "addresses:").text.contains("a2@example.pt"));
    assert_eq!(
        line("retry", "queued again").actor.as_deref(),
        Some("ben@agency.example")
    );
    let c = s.case_by_id(id).await.unwrap().unwrap();
    assert_eq!(c.contacts, vec!["ana@example.pt", "a2@example.pt"]);
}
