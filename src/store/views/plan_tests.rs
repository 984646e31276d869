//! SQLite's plans for the console's pages, read with `EXPLAIN QUERY PLAN` on an
//! empty store of the current schema: every filter and sort of the case list, and
//! a search word's term walk, is read along an index in the page's order (no
//! temporary B-tree sorting every match, no table scan), or, filtered and sorted by
//! name or creation, from the index of the filter [`list_drive`] chose. SQLite has no statistics
//! here (leje does not run ANALYZE), so these plans are the ones it uses at any size.
//! (PostgreSQL plans by its statistics: `benches/console.rs` measures both.)

use super::case_list::{case_list_sql, list_drive, CaseQuery, CaseSort, Drive, Filter};
use super::search_page::{walk_sql, Source};
use crate::parse::Directorate;
use crate::store::query::Q;
use crate::store::{Stage, Store};

async fn plan(s: &Store, stmt: Q) -> String {
    let mut tx = s.pool().read().await.unwrap();
    let rows = tx
        .fetch_all(stmt.prefixed("EXPLAIN QUERY PLAN "))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.get::<String>("detail").unwrap())
        .collect::<Vec<_>>()
        .join("; ")
}

fn queries() -> Vec<CaseQuery> {
    let none = CaseQuery {
        limit: 50,
        offset: 650,
        ..Default::default()
    };
    let mut out = Vec::new();
    for sort in [CaseSort::Updated, CaseSort::Created, CaseSort::Name] {
        let base = CaseQuery {
            sort,
            ..none.clone()
        };
        out.push(base.clone());
        out.push(CaseQuery {
            stage: Some(Stage::Approved),
            ..base.clone()
        });
        out.push(CaseQuery {
            directorate: Some(Directorate::Durres),
            ..base.clone()
        });
        out.push(CaseQuery {
            nationality: Some("German".into()),
            ..base
        });
    }
    out
}

/// No sort of the matches; and, when a filter or a term narrows the rows, a
/// `SEARCH` of an index on it, not a walk of every case skipping those it drops
/// (`SCAN c` alone is fine for the unfiltered list: the rowid order is the page's).
fn sorted_along_an_index(plan: &str, narrowed: bool) -> bool {
    plan.split("; ")
        .all(|step| !(step.contains("TEMP B-TREE") || narrowed && step.starts_with("SCAN")))
}

#[tokio::test]
async fn the_list_and_a_term_walk_read_in_page_order() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("leje.db").display());
    let s = Store::open(&url, dir.path()).await.unwrap();
    let mut checked = 0;
    for cq in queries() {
        let filtered = cq.has_filters();
        let mut tx = s.pool().read().await.unwrap();
        let drive = list_drive(&mut tx, &cq).await.unwrap();
        drop(tx);
        if cq.sort == CaseSort::Updated || !filtered {
            assert_eq!(drive, Drive::Planner);
            let p = plan(&s, case_list_sql(&cq, drive)).await;
            assert!(sorted_along_an_index(&p, filtered), "list {cq:?}: {p}");
        } else if cq.sort == CaseSort::Name && cq.nationality.is_some() {
            assert_eq!(drive, Drive::Filter(Filter::Nationality));
            let p = plan(&s, case_list_sql(&cq, drive)).await;
            assert!(sorted_along_an_index(&p, true), "list {cq:?}: {p}");
            assert!(p.contains("cases_nationality_name"), "{p}");
        } else {
            // An empty store: the filter has the fewest matches there can be.
            assert!(matches!(drive, Drive::Filter(_)), "{drive:?}");
            // From the sort order's index, every filter checked per case.
            let p = plan(&s, case_list_sql(&cq, Drive::SortOrder)).await;
            assert!(sorted_along_an_index(&p, false), "list {cq:?}: {p}");
            assert!(!p.contains("SEARCH c USING INDEX cases_"), "{p}");
            // From the filter's index (its few matches sorted).
            let p = plan(&s, case_list_sql(&cq, drive)).await;
            let col = match drive {
                Drive::Filter(Filter::Stage) => "(stage=?)",
                Drive::Filter(Filter::Directorate) => "(directorate=?)",
                _ => "(nationality=?)",
            };
            assert!(p.contains(col), "list {cq:?}: {p}");
        }
        let cq = CaseQuery {
            words: vec!["cuci".into()],
            ..cq
        };
        let walk = Source::Terms(vec!["cuci".into()]);
        let p = plan(&s, walk_sql(&cq, &walk, &[], 700)).await;
        assert!(sorted_along_an_index(&p, true), "walk {cq:?}: {p}");
        assert!(p.contains("(term=?)"), "{p}");
        checked += 1;
    }
    assert_eq!(checked, 12);
    // The guard can fail: a range of many terms is read whole and sorted.
    let cq = CaseQuery {
        words: vec!["bn0000".into()],
        limit: 50,
        ..Default::default()
    };
    let p = plan(&s, walk_sql(&cq, &Source::Range("bn0000".into()), &[], 75)).await;
    assert!(!sorted_along_an_index(&p, true), "{p}");
    s.close().await;
}
