//! The citizenship clock (issue 21) against real parts: the store half on SQLite
//! and PostgreSQL (a fresh database on the local mail stack's server), and the command line.
//! The eligibility email over the real mail system is in `citizenship_mail.rs`. Time is an input: each pass is given its `now`.

mod common;
#[path = "citizenship/support.rs"]
mod support;

use chrono::Utc;
use leje::citizenship::pass::run_once;
use leje::config::CitizenshipSettings;
use leje::store::{Cause, FactsChange, Marriage, OutboxKind, Stage, Store, StoreError};
use support::*;

macro_rules! both {
    ($($name:ident;)+) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::env(false).await.unwrap()).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(env) = super::env(true).await {
                        super::$name(env).await;
                    }
                }
            )+
        }
    };
}

both! {
    the_cli_sets_facts_and_lists_the_clock;
    facts_are_kept_and_each_change_is_an_event;
    residence_periods_are_added_changed_and_removed;
    concurrent_claims_queue_one_email_per_route;
    the_pass_emails_each_open_route_once_and_never_a_closed_case;
}
async fn facts_are_kept_and_each_change_is_an_event(env: Env) {
    let s = &env.store;
    let doc = doc();
    let id = ingest(
        s,
        &approval(&doc, "marco@example.com", "2021-03-10T23:30:00+00:00"),
    )
    .await;
    let change = FactsChange {
        born: Some(Some(d("1984-07-02"))),
        albanian_origin: Some(Some(false)),
        stateless: Some(Some(false)),
        marriage: Some(Marriage::Since(d("2020-09-12"))),
    };
    let (f, lines) = s
        .citizenship_set(&doc.to_lowercase(), &change, "cli (ana)")
        .await
        .unwrap();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(f.married_since, Some(d("2020-09-12")));
    // The same change again: nothing changes, no event.
    let (_, again) = s.citizenship_set(&doc, &change, "cli (ana)").await.unwrap();
    assert!(again.is_empty());
    // Back to unknown.
    let (f, _) = s
        .citizenship_set(
            &doc,
            &FactsChange {
                born: Some(None),
                marriage: Some(Marriage::No),
                ..Default::default()
            },
            "console (ben)",
        )
        .await
        .unwrap();
    assert_eq!(
        (f.born, f.married_albanian, f.married_since),
        (None, Some(false), None)
    );

    let recs = s.citizenship_records(Some(id)).await.unwrap();
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r.facts, f);
    assert_eq!(r.facts.albanian_origin, Some(false));
    // The approval's time, as the office sent it (23:30 UTC: 11 March in Tirana).
    assert_eq!(
        r.approvals,
        vec![at(2021, 3, 10, 23) + chrono::Duration::minutes(30)]
    );
    assert_eq!(
        leje::citizenship::tirane_date(r.approvals[0]),
        d("2021-03-11")
    );

    let events = s.case_events(id).await.unwrap();
    let facts: Vec<_> = events
        .iter()
        .filter_map(|e| e.detail.as_deref())
        .filter(|d| d.starts_with("citizenship facts"))
        .collect();
    assert_eq!(facts.len(), 2, "{events:?}");
    assert!(
        facts[0].contains("by cli (ana)") && facts[0].contains("1984-07-02"),
        "{}",
        facts[0]
    );
    assert!(facts[1].contains("by console (ben)"), "{}", facts[1]);
    // The stage is untouched and the history still agrees with it (advance checks).
    let a = s
        .advance(&doc, Stage::FeePaid, Cause::Cli, None)
        .await
        .unwrap();
    assert_eq!(a.from, Stage::Approved);

    let future = FactsChange {
        born: Some(Some(d("2999-01-01"))),
        ..Default::default()
    };
    let err = s.citizenship_set(&doc, &future, "cli").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::CitizenshipInput(m) if m.contains("in the future")),
        "{err}"
    );
    let err = s
        .citizenship_set("NOSUCH1", &change, "cli")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
}

async fn residence_periods_are_added_changed_and_removed(env: Env) {
    let s = &env.store;
    let doc = doc();
    let id = ingest(
        s,
        &approval(&doc, "r@example.com", "2022-01-10T10:00:00+01:00"),
    )
    .await;
    s.residence_add(&doc, d("2015-02-01"), Some(d("2017-06-01")), "cli")
        .await
        .unwrap();
    s.residence_add(&doc, d("2017-07-01"), None, "cli")
        .await
        .unwrap();
    // The same start again changes that period's end.
    s.residence_add(&doc, d("2017-07-01"), Some(d("2021-12-31")), "cli")
        .await
        .unwrap();
    let r = &s.citizenship_records(Some(id)).await.unwrap()[0];
    assert_eq!(r.periods.len(), 2);
    assert_eq!(r.periods[1].to, Some(d("2021-12-31")));
    // 2015-02-01 .. 2017-06-01, a 30-day gap (within the tolerance), then on to the approval.
    let today = d("2022-06-01");
    let c = leje::citizenship::clock_of(r, &CitizenshipSettings::default(), today);
    assert_eq!(c.residence_since, Some(d("2015-02-01")), "{:?}", c.notes);

    let err = s
        .residence_add(&doc, d("2020-01-01"), Some(d("2019-01-01")), "cli")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::CitizenshipInput(_)), "{err}");
    s.residence_remove(&doc, d("2015-02-01"), None, "cli")
        .await
        .unwrap();
    let err = s
        .residence_remove(&doc, d("2015-02-01"), None, "cli")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    let r = &s.citizenship_records(Some(id)).await.unwrap()[0];
    assert_eq!(r.periods.len(), 1);
    let c = leje::citizenship::clock_of(r, &CitizenshipSettings::default(), today);
    assert_eq!(c.residence_since, Some(d("2017-07-01")));
    let n = s
        .case_events(id)
        .await
        .unwrap()
        .iter()
        .filter(|e| {
            e.detail
                .as_deref()
                .is_some_and(|d| d.contains("residence period"))
        })
        .count();
    assert_eq!(n, 4, "three adds and one removal");

    // An absence cuts even the approvals' run; adding the period back withdraws it.
    s.residence_remove(&doc, d("2022-02-01"), Some(d("2022-04-30")), "cli")
        .await
        .unwrap();
    let r = &s.citizenship_records(Some(id)).await.unwrap()[0];
    assert_eq!(r.absences.len(), 1);
    let c = leje::citizenship::clock_of(r, &CitizenshipSettings::default(), today);
    assert_eq!(c.residence_since, Some(d("2022-05-01")), "{:?}", c.notes);
    s.residence_add(&doc, d("2022-02-01"), Some(d("2022-04-30")), "cli")
        .await
        .unwrap();
    let r = &s.citizenship_records(Some(id)).await.unwrap()[0];
    assert!(r.absences.is_empty());
    let c = leje::citizenship::clock_of(r, &CitizenshipSettings::default(), today);
    assert_eq!(c.residence_since, Some(d("2017-07-01")));
}

async fn concurrent_claims_queue_one_email_per_route(env: Env) {
    let doc = doc();
    let id = ingest(
        &env.store,
        &approval(&doc, "c@example.com", "2019-01-10T10:00:00+01:00"),
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let s = env.store.clone();
        tasks.push(tokio::spawn(async move {
            s.citizenship_enqueue(&notice(id, "general", "2024-01-10"), Utc::now())
                .await
        }));
    }
    let mut queued = Vec::new();
    for t in tasks {
        if let Some(row) = t.await.unwrap().expect("enqueue") {
            queued.push(row);
        }
    }
    assert_eq!(queued.len(), 1, "{queued:?}");
    // A second process on the same store sees the claim too.
    let other = Store::open(&env.url, env.state.path()).await.unwrap();
    let again = other
        .citizenship_enqueue(&notice(id, "general", "2024-01-10"), Utc::now())
        .await
        .unwrap();
    assert_eq!(again, None);
    // Another route is its own email.
    let m = other
        .citizenship_enqueue(&notice(id, "marriage", "2023-01-10"), Utc::now())
        .await
        .unwrap();
    assert!(m.is_some());
    let rows: Vec<_> = other
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.case_id == id && o.kind == OutboxKind::Citizenship)
        .collect();
    assert_eq!(rows.len(), 2);
    let n = other.citizenship_notice(queued[0]).await.unwrap().unwrap();
    assert_eq!((n.route.as_str(), n.opens_on), ("general", d("2024-01-10")));
    // Addressed like the instructions email: to the applicant who forwarded it.
    assert_eq!(rows[0].forwarded_by.as_deref(), Some("c@example.com"));
    other.close().await;
}

async fn the_pass_emails_each_open_route_once_and_never_a_closed_case(env: Env) {
    let s = &env.store;
    let open = doc();
    let closed = doc();
    let unknown = doc();
    for doc in [&open, &closed, &unknown] {
        ingest(
            s,
            &approval(doc, "p@example.com", "2020-05-04T10:00:00+02:00"),
        )
        .await;
    }
    let born = FactsChange {
        born: Some(Some(d("1980-01-01"))),
        ..Default::default()
    };
    s.citizenship_set(&open, &born, "cli").await.unwrap();
    s.citizenship_set(&closed, &born, "cli").await.unwrap();
    s.advance(&closed, Stage::Closed, Cause::Cli, None)
        .await
        .unwrap();
    // `unknown` has no date of birth: its date is unknown, so no email, ever.
    let settings = CitizenshipSettings {
        notify_days_before: 7,
        ..Default::default()
    };
    let kinds = |s: &Store| {
        let s = s.clone();
        async move {
            s.outbox_list(None)
                .await
                .unwrap()
                .into_iter()
                .filter(|o| o.kind == OutboxKind::Citizenship)
                .count()
        }
    };
    // Eight days before the fifth anniversary (4 May 2025): nothing yet.
    let r = run_once(s, &settings, at(2025, 4, 26, 12)).await.unwrap();
    assert_eq!((r.cases, r.queued.len()), (2, 0), "{r:?}");
    // Seven days before: queued, ahead of time.
    let r = run_once(s, &settings, at(2025, 4, 27, 12)).await.unwrap();
    assert_eq!(r.queued.len(), 1, "{r:?}");
    let n = s.citizenship_notice(r.queued[0]).await.unwrap().unwrap();
    assert!(n.early && n.opens_on == d("2025-05-04"), "{n:?}");
    // Later passes, and two at once, queue nothing more.
    let (a, b) = tokio::join!(
        run_once(s, &settings, at(2025, 5, 4, 12)),
        run_once(s, &settings, at(2026, 1, 1, 12))
    );
    assert!(a.unwrap().queued.is_empty() && b.unwrap().queued.is_empty());
    assert_eq!(kinds(s).await, 1);
    // Turned off: nothing, even for a newly eligible case.
    s.citizenship_set(&unknown, &born, "cli").await.unwrap();
    let off = CitizenshipSettings {
        notify: false,
        ..Default::default()
    };
    assert!(run_once(s, &off, at(2026, 1, 1, 12))
        .await
        .unwrap()
        .queued
        .is_empty());
    let r = run_once(s, &settings, at(2026, 1, 1, 12)).await.unwrap();
    assert_eq!(
        r.queued.len(),
        1,
        "the case whose date of birth is now known"
    );
    assert_eq!(kinds(s).await, 2);
}

// ---- the command line ----

fn leje(env: &Env, args: &[&str]) -> std::process::Output {
    let cfg = env.state.path().join("empty.toml");
    std::fs::write(&cfg, "").unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_leje"))
        .args(args)
        .args(["--store", &env.url])
        .env_remove("LEJE_STORE")
        .env("STATE_DIRECTORY", env.state.path())
        .env("RUST_LOG", "warn")
        .env("LEJE_CONFIG", cfg)
        .output()
        .unwrap()
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn the_cli_sets_facts_and_lists_the_clock(env: Env) {
    let marco = doc();
    let other = doc();
    ingest(
        &env.store,
        &approval(&marco, "m@example.com", "2021-03-10T10:00:00+01:00"),
    )
    .await;
    ingest(
        &env.store,
        &approval(&other, "o@example.com", "2024-01-10T10:00:00+01:00"),
    )
    .await;
    let out = ok(leje(
        &env,
        &[
            "cases",
            "set",
            &marco.to_lowercase(),
            "--born",
            "1990-04-12",
            "--albanian-origin",
            "yes",
            "--stateless",
            "no",
            "--married-albanian-since",
            "no",
        ],
    ));
    assert!(out.contains("date of birth unknown → 1990-04-12"), "{out}");
    ok(leje(
        &env,
        &[
            "cases",
            "residence",
            &marco,
            "add",
            "2016-01-01",
            "2018-01-01",
        ],
    ));
    ok(leje(
        &env,
        &["cases", "residence", &marco, "add", "2018-01-15"],
    ));
    ok(leje(
        &env,
        &["cases", "residence", &marco, "remove", "2016-01-01"],
    ));
    // Bad input: a clear message, nothing changed.
    let bad = leje(&env, &["cases", "set", &marco, "--born", "1990-13-01"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));
    let bad = leje(
        &env,
        &[
            "cases",
            "residence",
            &marco,
            "add",
            "2020-01-01",
            "2019-01-01",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("before it starts"));

    let json = ok(leje(
        &env,
        &["citizenship", "--json", "--today", "2022-06-01"],
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2, "{json}");
    let m = list
        .iter()
        .find(|c| c["travel_document"] == marco.as_str())
        .unwrap();
    assert_eq!(m["name"], "Marco Rossi");
    // The staff period from 2018-01-15 goes on into the approval of 2021.
    assert_eq!(m["residence_since"], "2018-01-15");
    let routes = m["routes"].as_array().unwrap();
    let route = |r: &str| routes.iter().find(|x| x["route"] == r).unwrap().clone();
    assert_eq!(route("general")["opens_on"], "2023-01-15");
    assert_eq!(route("albanian_origin")["opens_on"], "2021-01-15");
    assert_eq!(route("albanian_origin")["status"], "open");
    assert_eq!(route("marriage")["opens_on"], serde_json::Value::Null);
    assert_eq!(route("marriage")["status"], "not_applicable");
    assert_eq!(m["earliest"], "2021-01-15");
    // The other case: no date of birth, so no date and the fact named.
    let o = list
        .iter()
        .find(|c| c["travel_document"] == other.as_str())
        .unwrap();
    assert_eq!(o["residence_since"], "2024-01-10");
    assert_eq!(o["earliest"], serde_json::Value::Null);
    let general = o["routes"].as_array().unwrap()[0].clone();
    assert_eq!(general["missing"], serde_json::json!(["date_of_birth"]));

    let by = ok(leje(
        &env,
        &["citizenship", "--json", "--eligible-by", "2021-12-31"],
    ));
    let by: serde_json::Value = serde_json::from_str(&by).unwrap();
    assert_eq!(by.as_array().unwrap().len(), 1);
    let table = ok(leje(&env, &["citizenship", "--today", "2022-06-01"]));
    assert!(
        table.contains("2021-01-15 (open)") && table.contains("unknown"),
        "{table}"
    );

    let show = ok(leje(&env, &["cases", "show", &marco, "--json"]));
    let show: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(show["citizenship"]["residence_since"], "2018-01-15");
    let events = show["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["detail"]
        .as_str()
        .is_some_and(|d| d.contains("residence period from 2016-01-01 removed by cli"))));
    let text = ok(leje(&env, &["cases", "show", &marco]));
    assert!(text.contains("Citizenship (Law No. 8389"), "{text}");
    let csv = ok(leje(&env, &["cases", "export", "--csv"]));
    let head = csv.lines().next().unwrap();
    assert!(head.ends_with(",residence_since,general_opens_on,albanian_origin_opens_on,marriage_opens_on,citizenship_earliest"), "{head}");
    let row = csv.lines().find(|l| l.starts_with(&marco)).unwrap();
    assert!(
        row.ends_with(",2018-01-15,2023-01-15,2021-01-15,,2021-01-15"),
        "{row}"
    );
}
