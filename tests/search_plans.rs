//! Every way a search reads its page (`src/store/views/search_page.rs`: terms
//! walked in page order and merged, a prefix range read whole, a driving word with
//! the others checked per case, ranges intersected) gives exactly the page a scan
//! gives: the case list in the same sort with no search, filtered in Rust by the
//! terms each case is found by. Three sorts, three pages each, on SQLite and
//! PostgreSQL, with no filter and with each filter; the test also asserts which
//! way each search is read, so it keeps covering all of them. The list's pages
//! without search are checked against the same scan (on SQLite a small page is
//! read along the sort order, a large one from the filter's index).

mod common;

use chrono::{Duration, TimeZone, Utc};
use leje::parse::{Directorate, Kind, Language, ParsedMessage};
use leje::store::views::{search, CaseQuery, CaseSort};
use leje::store::{Case, CaseEdit, Incoming, Origin, Stage, Store};

static VOUCHED: std::sync::LazyLock<leje::trust::Verdict> =
    std::sync::LazyLock::new(|| leje::trust::Verdict::vouched("the tests"));

const N: usize = 1200;
const FIRST: [&str; 7] = ["Ana", "Arbër", "Zoë", "Li", "Ivan", "Sofía", "Ömer"];
const LAST: [&str; 5] = ["Silva", "Çuçi", "Müller", "Hoxha", "Kaya"];

fn notice(i: usize) -> ParsedMessage {
    let who = format!("u{i}@d{}.example", i % 3);
    ParsedMessage {
        kind: Kind::PermitApproved,
        reason: None,
        language: Some(Language::En),
        name: Some(format!("{} {} x{i}", FIRST[i % 7], LAST[(i / 7) % 5])),
        // Distinct, and not in the order of the cases.
        travel_document: Some(format!("DOC{:06}", (i * 7) % N)),
        // With the address's domain (`d{i % 3}`), some filtered searches are empty.
        nationality: Some(["Italian", "German", "Chinese"][i % 3].into()),
        directorate: Some([Directorate::Tirane, Directorate::Durres][i % 2]),
        original_from: Some("lejeqendrimi@mb.gov.al".into()),
        forwarded_by: Some(who.clone()),
        notified_at: Some("2021-12-22T09:14:00+01:00".into()),
        waybills: vec![],
        message_id: Some(format!("plan-{i}@example.com")),
        references: vec![],
        subject: None,
        original_to: Some(who),
        reply_to: None,
        followup: Default::default(),
    }
}

async fn fill(s: &Store) {
    let notices: Vec<ParsedMessage> = (0..N).map(notice).collect();
    let raws: Vec<String> = (0..N).map(|i| format!("raw-{i}")).collect();
    for (ps, rs) in notices.chunks(400).zip(raws.chunks(400)) {
        let incoming: Vec<Incoming<'_>> = ps
            .iter()
            .zip(rs)
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
    }
    // Some cases changed later, one by one, so the newest-first order is not the
    // order of the ids; the renamed ones gain the word `late`.
    let t0 = Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).unwrap();
    let all = s.view_cases(&everything(CaseSort::Created)).await.unwrap();
    for (k, c) in all.iter().filter(|c| c.id % 13 == 0).enumerate() {
        let name = format!("{} late", c.name.as_deref().unwrap());
        let at = t0 + Duration::minutes(((k * 7919) % 101) as i64);
        s.edit_case(c.id, CaseEdit::Name(Some(name)), "staff@agency.example", at)
            .await
            .unwrap();
    }
    s.sync_case_terms().await.unwrap();
}

fn everything(sort: CaseSort) -> CaseQuery {
    CaseQuery {
        sort,
        limit: 10 * N as u64,
        ..Default::default()
    }
}

/// No filter, and each filter of the case list (the renamed cases are the ones
/// changed after `stalled_before`).
fn filters() -> [CaseQuery; 5] {
    let none = CaseQuery::default();
    [
        none.clone(),
        CaseQuery {
            nationality: Some("Italian".into()),
            ..none.clone()
        },
        CaseQuery {
            directorate: Some(Directorate::Durres),
            stage: Some(Stage::Approved),
            ..none.clone()
        },
        CaseQuery {
            stalled_before: Some(Utc.with_ymd_and_hms(2029, 1, 1, 0, 0, 0).unwrap()),
            ..none.clone()
        },
        CaseQuery {
            stage: Some(Stage::Applied),
            ..none
        },
    ]
}

fn found_by(c: &Case, words: &[String]) -> bool {
    let terms = search::terms(c.name.as_deref(), &c.travel_document, &c.contacts);
    words
        .iter()
        .all(|w| terms.iter().any(|t| t.starts_with(w.as_str())))
}

/// Each search, and how it is read at this size (1,200 cases).
const SEARCHES: [(&str, &str); 14] = [
    ("silva", "terms(1)"),       // one term, 240 cases
    ("a", "terms(2)"),           // ana, arber: two walks merged
    ("late", "terms(1)"),        // the renamed cases
    ("x1", "range"),             // 311 terms
    ("u1", "range"),             // two terms per case (u1…, u1…@d….example)
    ("d1", "terms(1)"),          // d1.example
    ("doc00", "range"),          // 100 documents
    ("ana silva", "terms(1)+1"), // both one term: the rarer walks
    ("x11 ana", "range+1"),      // x11…: 111 rows, many terms
    ("d1 x", "terms(1)+1"),      // x: 1,200 terms
    ("x u", "intersect"),        // both common, both many terms
    ("doc0 u1", "intersect"),
    ("x1 silva late", "terms(1)+2"),
    ("zzz silva", "nothing"),
];

async fn plans_agree_with_a_scan(s: &Store) {
    fill(s).await;
    let pages = [(0u64, 25u64), (30, 25), (0, 500)];
    let mut checked = 0;
    let mut empty = 0;
    for (f, filter) in filters().into_iter().enumerate() {
        for sort in [CaseSort::Updated, CaseSort::Created, CaseSort::Name] {
            let scan = s
                .view_cases(&CaseQuery {
                    sort,
                    limit: 10 * N as u64,
                    ..filter.clone()
                })
                .await
                .unwrap();
            if f == 0 {
                assert_eq!(scan.len(), N);
            }
            // The list alone, a page at a time: read along the sort order or from a
            // filter's index (SQLite chooses by the page's end), the scan's pages.
            for (offset, limit) in pages {
                let page = s
                    .view_cases(&CaseQuery {
                        sort,
                        offset,
                        limit,
                        ..filter.clone()
                    })
                    .await
                    .unwrap();
                let want: Vec<i64> = scan
                    .iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .map(|c| c.id)
                    .collect();
                let got: Vec<i64> = page.iter().map(|c| c.id).collect();
                assert_eq!(
                    got, want,
                    "list {sort:?} offset {offset} limit {limit}, filter {f}"
                );
            }
            for (q, plan) in SEARCHES {
                let words = search::query_words(q);
                let matching: Vec<i64> = scan
                    .iter()
                    .filter(|c| found_by(c, &words))
                    .map(|c| c.id)
                    .collect();
                for (offset, limit) in pages {
                    let cq = CaseQuery {
                        words: words.clone(),
                        sort,
                        offset,
                        limit,
                        ..filter.clone()
                    };
                    assert_eq!(s.search_plan(&cq).await.unwrap(), plan, "{q:?}");
                    let got: Vec<i64> = s
                        .view_cases(&cq)
                        .await
                        .unwrap()
                        .iter()
                        .map(|c| c.id)
                        .collect();
                    let want: Vec<i64> = matching
                        .iter()
                        .copied()
                        .skip(offset as usize)
                        .take(limit as usize)
                        .collect();
                    assert_eq!(
                        got, want,
                        "{q:?} {sort:?} offset {offset} limit {limit}, filter {f}"
                    );
                    checked += 1;
                }
                // Without filters the searches are not trivial: each finds something.
                if plan != "nothing" && f == 0 {
                    assert!(!matching.is_empty(), "{q:?} finds nothing");
                }
                empty += usize::from(matching.is_empty());
            }
        }
    }
    assert_eq!(checked, 5 * 3 * SEARCHES.len() * pages.len());
    // Some filtered searches find nothing, each read to its end: `d1` with Italian
    // (`d1` is German), every search with the last filter (no case has applied).
    assert!(empty > 3 * (1 + SEARCHES.len()), "{empty}");
}

/// A case changed outside the console (ingest, another instance) is filtered on its
/// term rows only once the background job has caught up; until then a filtered
/// search checks each case of its page as it is now, so it never shows a case that
/// no longer passes the filter.
async fn stale_terms_never_pass_a_filter(s: &Store, url: &str) {
    let silva = |stage: Stage| CaseQuery {
        words: search::query_words("silva"),
        stage: Some(stage),
        limit: 10 * N as u64,
        ..Default::default()
    };
    let before = s.view_cases(&silva(Stage::Approved)).await.unwrap();
    let moved = before[3].id;
    let later = Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).unwrap();
    // With a quarter of the cases changed, the backlog is the job's: a search does
    // not catch up itself (more than `terms::INLINE_MAX`).
    let sql = format!(
        "UPDATE cases SET stage = CASE WHEN id = {moved} THEN 'applied' ELSE stage END, \
         updated_at = $1 WHERE id % 4 = 1 OR id = {moved}"
    );
    if url.starts_with("sqlite:") {
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        sqlx::query(&sql).bind(later).execute(&mut c).await.unwrap();
    } else {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        sqlx::query(&sql).bind(later).execute(&mut c).await.unwrap();
    }
    let ids = |v: Vec<Case>| v.iter().map(|c| c.id).collect::<Vec<_>>();
    let now = ids(s.view_cases(&silva(Stage::Approved)).await.unwrap());
    assert!(!now.contains(&moved));
    assert_eq!(now.len(), before.len() - 1);
    let applied = ids(s.view_cases(&silva(Stage::Applied)).await.unwrap());
    assert!(applied.is_empty(), "{applied:?}, moved {moved}");
    // Once the job has run, the term rows say `applied` too.
    assert!(s.sync_case_terms().await.unwrap() >= N as u64 / 4);
    assert_eq!(
        ids(s.view_cases(&silva(Stage::Applied)).await.unwrap()),
        vec![moved]
    );
    assert_eq!(
        s.view_cases(&silva(Stage::Approved)).await.unwrap().len(),
        before.len() - 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_plans_agree_with_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("leje.db").display());
    let s = Store::open(&url, dir.path()).await.unwrap();
    plans_agree_with_a_scan(&s).await;
    stale_terms_never_pass_a_filter(&s, &url).await;
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_plans_agree_with_a_scan() {
    let Some(stack) = common::stack() else { return };
    let db = stack.fresh_postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&db.url, dir.path()).await.unwrap();
    plans_agree_with_a_scan(&s).await;
    stale_terms_never_pass_a_filter(&s, &db.url).await;
    s.close().await;
}
