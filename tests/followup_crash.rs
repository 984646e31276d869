//! `leje remind` killed with SIGKILL in the middle of a pass (issue 20): no
//! reminder is lost or doubled. The pass runs as a real process over a store of
//! both backends; it is killed as soon as its first reminders are committed,
//! the store is checked for consistency, and a second run finishes the work.

mod common;
#[path = "followup/common.rs"]
mod fc;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use leje::store::Incoming;
use sha2::{Digest, Sha256};

use fc::{approval, Backend, Env};

both! {
    a_killed_pass_loses_and_doubles_nothing;
    two_instances_at_once_remind_each_case_once;
}

const N: usize = 3000;

async fn count(env: &Env, sql: &str) -> i64 {
    match env.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&env.url).await.unwrap();
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&env.url).await.unwrap();
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }
}

const REMINDERS: &str = "SELECT COUNT(*) FROM outbox WHERE kind = 'reminder'";
const REMINDED: &str = "SELECT COUNT(*) FROM cases WHERE reminders_sent = 1";
const EVENTS: &str = "SELECT COUNT(*) FROM case_events WHERE cause = 'reminder'";
const DOUBLED: &str = "SELECT COUNT(*) FROM (SELECT case_id FROM outbox WHERE kind = 'reminder' \
                       GROUP BY case_id HAVING COUNT(*) > 1) d";

fn remind(config: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leje"));
    c.arg("--config")
        .arg(config)
        .arg("remind")
        .env_remove("LEJE_STORE")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// N cases, all due, and a config file for `leje remind` on the store.
async fn setup(env: &Env) -> std::path::PathBuf {
    let msgs: Vec<_> = (0..N)
        .map(|i| approval(&format!("KN{i:07}"), "k@example.org"))
        .collect();
    let hashes: Vec<String> = (0..N)
        .map(|i| hex::encode(Sha256::digest(format!("kill-{i}"))))
        .collect();
    let paths: Vec<String> = (0..N).map(|i| format!("/kill/{i}.eml")).collect();
    let vouched = leje::trust::Verdict::vouched("the tests");
    for chunk in (0..N).collect::<Vec<_>>().chunks(500) {
        let batch: Vec<Incoming<'_>> = chunk
            .iter()
            .map(|&i| Incoming {
                origin: leje::store::Origin::File { path: &paths[i] },
                raw_sha256: &hashes[i],
                size: 1000,
                parsed: &msgs[i],
                forwarder_is_staff: false,
                trust: &vouched,
            })
            .collect();
        env.store.ingest_batch(&batch).await.unwrap();
    }
    env.age_cases("1 = 1", 11).await;
    let config = env.state_dir().join("leje.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = {:?}\nstore = {:?}\n[followup]\nwindow = \"00:00-24:00\"\n",
            env.state_dir().display().to_string(),
            env.url
        ),
    )
    .unwrap();

    config
}

async fn a_killed_pass_loses_and_doubles_nothing(env: Env) {
    let config = setup(&env).await;
    let mut child = remind(&config).spawn().expect("spawn leje remind");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut at_kill = 0;
    while Instant::now() < deadline {
        at_kill = count(&env, REMINDERS).await;
        if at_kill > 0 {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let committed = count(&env, REMINDERS).await;
    eprintln!("killed with {at_kill} reminders seen, {committed} committed of {N}");
    // Whatever was committed is whole: each reminder with its moved due date and event.
    assert_eq!(count(&env, REMINDED).await, committed);
    assert_eq!(count(&env, EVENTS).await, committed);
    assert_eq!(count(&env, DOUBLED).await, 0);

    // The next run does the rest, and only the rest.
    let status = remind(&config).status().expect("second run");
    assert!(status.success());
    assert_eq!(count(&env, REMINDERS).await, N as i64);
    assert_eq!(count(&env, REMINDED).await, N as i64);
    assert_eq!(count(&env, DOUBLED).await, 0);
    // And a third changes nothing.
    assert!(remind(&config).status().unwrap().success());
    assert_eq!(count(&env, REMINDERS).await, N as i64);
}

/// Two `leje remind` processes on one store at the same time (two instances of the
/// daemon on one PostgreSQL, or two cron jobs on one SQLite file).
async fn two_instances_at_once_remind_each_case_once(env: Env) {
    let config = setup(&env).await;
    let mut a = remind(&config).spawn().unwrap();
    let mut b = remind(&config).spawn().unwrap();
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    assert_eq!(count(&env, REMINDERS).await, N as i64);
    assert_eq!(count(&env, REMINDED).await, N as i64);
    assert_eq!(count(&env, EVENTS).await, N as i64);
    assert_eq!(count(&env, DOUBLED).await, 0);
}
