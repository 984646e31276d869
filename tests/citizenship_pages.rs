//! The Citizenship list's reads (issue 21), on SQLite and PostgreSQL (a fresh
//! database on the local mail stack's server): the store's pages of cases, the
//! list's pages over them, and the index that keeps a page cheap.

mod common;
#[path = "citizenship/support.rs"]
mod support;

use leje::config::CitizenshipSettings;
use leje::store::{Actor, Cause, FactsChange, RecordsOf};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    pages_of_records_and_of_the_list_cover_every_case_once(env(false).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if let Some(env) = env(true).await {
        pages_of_records_and_of_the_list_cover_every_case_once(env).await;
    }
}

/// The console's Citizenship list: the store's pages (a range of case ids each)
/// give exactly what one read of every case gives, and the list's pages, filtered
/// and sorted by earliest date, give every matching case once, in order.
async fn pages_of_records_and_of_the_list_cover_every_case_once(env: Env) {
    use leje::citizenship::list::{self, Cursor, Query, Sort};
    let s = &env.store;
    let mut ids = Vec::new();
    for i in 0..7u32 {
        let doc = doc();
        // Approvals from 2018 to 2024: the general route opens five years later.
        let sent = format!("20{}-0{}-15T10:00:00+01:00", 18 + i, 1 + i % 9);
        let id = ingest(s, &approval(&doc, "p@example.com", &sent)).await;
        if i % 3 != 0 {
            let change = FactsChange {
                born: Some(Some(d("1980-01-01"))),
                ..Default::default()
            };
            s.citizenship_set(&doc, &change, "cli (ana)").await.unwrap();
        }
        if i == 4 {
            s.residence_add(
                &doc,
                d("2010-03-01"),
                None,
                Actor::staff("ben@agency.example"),
            )
            .await
            .unwrap();
            let tl = s.view_timeline(id).await.unwrap();
            let e = tl
                .iter()
                .find(|e| {
                    e.detail
                        .as_deref()
                        .is_some_and(|d| d.contains("2010-03-01"))
                })
                .expect("the residence event");
            assert_eq!(e.actor.as_deref(), Some("ben@agency.example"), "{e:?}");
            let ev = s.case_events(id).await.unwrap();
            assert_eq!(ev.last().unwrap().cause, Cause::Staff);
        }
        ids.push(id);
    }
    let all = s.citizenship_records(None).await.unwrap();
    assert_eq!(all.iter().map(|r| r.case.id).collect::<Vec<_>>(), ids);
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .citizenship_records_after(after, 3, RecordsOf::All)
            .await
            .unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = Some(last.case.id);
        paged.extend(page);
    }
    assert_eq!(paged, all, "pages of 3 = one read of everything");
    let one = s.citizenship_records(Some(ids[4])).await.unwrap();
    assert_eq!(one, vec![all[4].clone()]);
    assert_eq!(one[0].periods.len(), 1);
    assert_eq!(one[0].approvals.len(), 1);
    assert!(s
        .citizenship_records(Some(i64::MIN))
        .await
        .unwrap()
        .is_empty());

    // The list on a fixed day: eligible by 2027-12-31 are the cases with a date of
    // birth whose five years end by then: approvals of 2019 and 2020, and i = 4 (2010).
    let settings = CitizenshipSettings::default();
    let today = d("2026-12-07");
    let by = d("2027-12-31");
    let mut want: Vec<(chrono::NaiveDate, i64)> = all
        .iter()
        .map(|r| leje::citizenship::listed(r, &settings, today))
        .zip(&ids)
        .filter(|(l, _)| list::eligible(l, Some(by)))
        .map(|(l, id)| (l.earliest.unwrap(), *id))
        .collect();
    want.sort();
    assert_eq!(want.len(), 3, "{want:?}");
    for sort in [Sort::Case, Sort::Earliest] {
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let q = Query {
                eligible_by: Some(by),
                sort,
                after,
                limit: 2,
            };
            let page = list::page(s, &settings, today, &q).await.unwrap();
            assert!(page.rows.len() <= 2);
            got.extend(
                page.rows
                    .iter()
                    .map(|r| (r.listed.earliest.unwrap(), r.case_id)),
            );
            match page.next {
                Some(n) => after = Some(Cursor::parse(&n).unwrap()),
                None => break,
            }
        }
        if sort == Sort::Case {
            got.sort_by_key(|(_, id)| *id);
            let mut w = want.clone();
            w.sort_by_key(|(_, id)| *id);
            assert_eq!(got, w, "by case");
        } else {
            assert_eq!(got, want, "by earliest date");
        }
    }
    // Unfiltered, by case: the first page reads only what it shows (and one more).
    let q = Query {
        limit: 2,
        ..Default::default()
    };
    let page = list::page(s, &settings, today, &q).await.unwrap();
    assert_eq!(page.rows.len(), 2);
    assert_eq!(page.read, 3);
    // Filtered, only the cases whose age is known are read (ids 2, 3, 5, 6 of 7:
    // not consecutive, so read by a list of ids); they are the same records.
    let aged = s
        .citizenship_records_after(None, 10, RecordsOf::AgeKnown)
        .await
        .unwrap();
    let want_aged: Vec<_> = all
        .iter()
        .filter(|r| r.facts.born.is_some())
        .cloned()
        .collect();
    assert_eq!(aged, want_aged);
    assert_eq!(aged.len(), 4);
    let q = Query {
        eligible_by: Some(by),
        limit: 50,
        ..Default::default()
    };
    assert_eq!(list::page(s, &settings, today, &q).await.unwrap().read, 4);
    // By earliest date, unfiltered: the dated cases by date, then the others by
    // case, every case once across pages of 2.
    let mut got = Vec::new();
    let mut after = None;
    loop {
        let q = Query {
            sort: Sort::Earliest,
            after,
            limit: 2,
            ..Default::default()
        };
        let page = list::page(s, &settings, today, &q).await.unwrap();
        got.extend(page.rows.iter().map(|r| (r.listed.earliest, r.case_id)));
        match page.next {
            Some(n) => after = Some(Cursor::parse(&n).unwrap()),
            None => break,
        }
    }
    let mut want: Vec<_> = all
        .iter()
        .map(|r| {
            (
                leje::citizenship::listed(r, &settings, today).earliest,
                r.case.id,
            )
        })
        .collect();
    want.sort_by_key(|(e, id)| (e.unwrap_or(chrono::NaiveDate::MAX), *id));
    assert_eq!(got, want);

    // The approvals of a page are read through the index on notifications.case_id.
    if !env.url.starts_with("postgres") {
        let pool = sqlx::SqlitePool::connect(&env.url).await.unwrap();
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "EXPLAIN QUERY PLAN SELECT n.case_id, COALESCE(n.notified_at, n.at) AS t \
             FROM notifications n JOIN processed_messages m ON m.id = n.first_message \
             WHERE n.case_id >= 1 AND n.case_id <= 50 AND m.kind = 'permit_approved'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let plan: Vec<String> = plan.into_iter().map(|r| r.3).collect();
        assert!(
            plan.iter().any(|p| p.contains("notifications_case")),
            "{plan:?}"
        );
        pool.close().await;
    }
}
