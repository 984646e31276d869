//! Reminder-pass benchmark (issue 20): one pass over N cases of which D are
//! due, on SQLite, and on PostgreSQL when `LEJE_TEST_POSTGRES_URL` is set.
//! Prints the pass's time and the case rows it read.
//!
//! Beside each run, a baseline on the same database: the naive pass, which
//! reads every case (`SELECT … FROM cases`) and picks the due ones in Rust,
//! writing nothing. The ratio shows that leje's pass (which also writes each
//! reminder, its event and its moved due date) costs in proportion to what is
//! due, not to the number of cases.
//!
//! `LEJE_BENCH_CASES` (default 100000) and `LEJE_BENCH_DUE` (default 1000);
//! without `--bench` (a smoke run under `cargo test --benches`) 2000 and 20.
//! Run: `cargo bench --bench remind` (the figures below: `--profile test`, inside
//! `flock /work/bench.lock`). Never gates anything on wall time.
//!
//! Measured 2026-12-06 (test profile, 2 shared cores, PostgreSQL of the test stack),
//! 20000 cases with 200 due: SQLite pass 35.1 ms reading 200 case rows vs the full
//! scan's 55.5 ms reading 20000 (0.63x the time, while also writing 200 reminders);
//! PostgreSQL 580 ms vs 140.8 ms (4.1x: four round trips per reminder written,
//! against one read of the table), 200 vs 20000 rows.
//!
//! Measured 2026-12-07 at the size, 100000 cases with 1000 due (test profile,
//! 2 cores shared with four other engineers' builds: load average 10.3-11.1 through
//! every run, so absolute times are inflated and noisy; the old and the new pass were
//! built side by side and run alternately, three times each). Both read 1000 case
//! rows against the full scan's 100000. Pass vs the full scan of the same run:
//! - before (four statements per reminder): SQLite 353 / 443 / 494 ms vs 935 / 721 /
//!   848 ms (0.38-0.62x); PostgreSQL 1177 / 1592 / 2183 ms vs 567 / 525 / 488 ms
//!   (2.1-4.5x). An earlier run of it at load 3.0-4.8: SQLite 328 vs 533 ms,
//!   PostgreSQL 830 vs 391 ms (2.1x).
//! - after (per batch of 200: one claiming UPDATE per stage, one SELECT of the
//!   instructions rows, multi-row INSERTs of 64 rows for the outbox and the events):
//!   SQLite 225 / 244 / 250 ms vs 823 / 819 / 572 ms (0.27-0.44x); PostgreSQL 449 /
//!   303 / 251 ms vs 510 / 510 / 435 ms (0.58-0.88x).

use std::time::Instant;

use chrono::{Duration, Utc};
use leje::store::Store;
use sqlx::{Connection, Row};

fn env_num(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n = env_num("LEJE_BENCH_CASES", if smoke { 2000 } else { 100_000 });
    let due = env_num("LEJE_BENCH_DUE", if smoke { 20 } else { 1000 }).min(n);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        println!("reminder pass over {n} cases, {due} due");
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite:{}", dir.path().join("leje.db").display());
        let store = Store::open(&url, dir.path()).await.expect("open sqlite");
        fill_sqlite(&url, n, due).await;
        let base = baseline_sqlite(&url).await;
        let run = pass(&store).await;
        report("SQLite", run, base, due);
        store.close().await;

        match std::env::var("LEJE_TEST_POSTGRES_URL") {
            Ok(admin) => postgres(&admin, n, due).await,
            Err(_) => println!("PostgreSQL  skipped: set LEJE_TEST_POSTGRES_URL to include it"),
        }
    });
}

/// (seconds, rows read, reminders queued)
type Figures = (f64, u64, usize);

async fn pass(store: &Store) -> Figures {
    let f = leje::config::followup::FollowupSettings {
        window: (0, 24 * 60),
        ..Default::default()
    };
    let t = Instant::now();
    let r = leje::followup::run_pass(store, &f, Utc::now(), true)
        .await
        .expect("pass");
    (t.elapsed().as_secs_f64(), r.rows_read, r.reminded.len())
}

fn report(what: &str, run: Figures, base: Figures, due: usize) {
    assert_eq!(run.2, due, "{what}: every due case reminded once");
    assert_eq!(base.2, due, "{what}: the baseline finds the same due cases");
    println!(
        "{what:<11} leje pass {:>8.1} ms, {:>7} rows read, {} reminders queued | \
         baseline full scan {:>8.1} ms, {:>7} rows read | time {:.2}x, rows {:.4}x the baseline",
        run.0 * 1e3,
        run.1,
        run.2,
        base.0 * 1e3,
        base.1,
        run.0 / base.0.max(1e-9),
        run.1 as f64 / base.1.max(1) as f64,
    );
}

/// Cases inserted around leje (the pass only needs case rows): `due` of them
/// created 11 days ago, the rest today.
fn fill_sql(n: usize, due: usize, pg: bool) -> String {
    let now = Utc::now();
    let old = (now - Duration::days(11)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
    let new = now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
    let every = (n / due.max(1)).max(1);
    let series = if pg {
        format!("SELECT i FROM generate_series(1, {n}) AS s(i)")
    } else {
        format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s"
        )
    };
    let cast = if pg { "::timestamptz" } else { "" };
    format!(
        "INSERT INTO cases (travel_document, name, contacts, stage, created_at, updated_at) \
         SELECT 'RB' || i, 'Bench Case', '[\"b@example.org\"]', 'approved', \
         CASE WHEN i % {every} = 0 AND i / {every} <= {due} THEN '{old}'{cast} ELSE '{new}'{cast} END, \
         '{new}'{cast} FROM ({series}) AS t"
    )
}

async fn fill_sqlite(url: &str, n: usize, due: usize) {
    let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::raw_sql(&fill_sql(n, due, false))
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::raw_sql("ANALYZE").execute(&mut c).await.unwrap();
}

/// Which of the rows a naive pass reads are due (the same rule: approved, 10 days).
fn due_in(rows: &[(String, String)]) -> usize {
    let cutoff = Utc::now() - Duration::days(10);
    rows.iter()
        .filter(|(stage, at)| {
            stage == "approved"
                && chrono::DateTime::parse_from_rfc3339(at).is_ok_and(|t| t < cutoff)
        })
        .count()
}

async fn baseline_sqlite(url: &str) -> Figures {
    let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
    let t = Instant::now();
    let rows: Vec<(String, String)> = sqlx::query(
        "SELECT stage, COALESCE(remind_from, created_at) AS base FROM cases WHERE remind_state IS NULL",
    )
    .fetch_all(&mut c)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let d = due_in(&rows);
    (t.elapsed().as_secs_f64(), rows.len() as u64, d)
}

async fn postgres(admin: &str, n: usize, due: usize) {
    let name = format!("leje_bench_{:08x}", fastrand::u32(..));
    let mut admin_conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("LEJE_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin_conn)
        .await
        .unwrap();
    let base_url = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    let url = format!("{base_url}/{name}");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&url, dir.path()).await.expect("open postgres");
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(&fill_sql(n, due, true))
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::raw_sql("ANALYZE cases")
        .execute(&mut c)
        .await
        .unwrap();
    let t = Instant::now();
    let rows: Vec<(String, String)> = sqlx::query(
        "SELECT stage, to_char(COALESCE(remind_from, created_at) AT TIME ZONE 'UTC', \
         'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') FROM cases WHERE remind_state IS NULL",
    )
    .fetch_all(&mut c)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let d = due_in(&rows);
    let base = (t.elapsed().as_secs_f64(), rows.len() as u64, d);
    let run = pass(&store).await;
    report("PostgreSQL", run, base, due);
    store.close().await;
    let _ = c.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin_conn)
        .await;
}
