//! `leje remind [--dry-run DIR]` under `faketime` (issue 20): the command reads
//! the clock the ordinary way, so an operator (or a test) can run a pass "on"
//! another day with libfaketime. The real binary runs under `faketime` against
//! a store whose one case fell due on 2026-12-11 10:00 UTC; a reminder comes
//! only when the faked date is past that and inside the sending window
//! (09:00-19:00 Europe/Tirane, UTC+1 in December).
//!
//! Needs the Debian package `faketime` (`scripts/mailstack install` installs it,
//! as CI does); without it the test says so and passes, unless `CI` is set.

mod common;
#[path = "followup/common.rs"]
mod fc;

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Utc};
use fc::{approval, ingest, leje_ts};
use leje::store::OutboxKind;

/// Whether `faketime` is here and fakes the clock of a child process.
fn faketime_works() -> bool {
    Command::new("faketime")
        .args(["2026-12-20 10:00:00", "date", "+%Y"])
        .env("TZ", "UTC")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "2026")
}

/// `faketime AT leje --config CONFIG ARGS…` (AT in UTC); success and output.
fn leje_at(at: &str, config: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("faketime")
        .arg(at)
        .arg(env!("CARGO_BIN_EXE_leje"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("TZ", "UTC")
        .env_remove("LEJE_STORE")
        .output()
        .expect("run faketime");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A dry run at `at`: the report's `now` and the reminder emails it wrote.
fn dry_run_at(at: &str, config: &Path, dir: &Path) -> (String, usize, String) {
    let (ok, out) = leje_at(at, config, &["remind", "--dry-run", dir.to_str().unwrap()]);
    assert!(ok, "{at}: {out}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("remind-dry-run.json")).unwrap()).unwrap();
    let emails = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with("-reminder.eml"))
        .count();
    (
        report["now"].as_str().unwrap_or("").to_string(),
        emails,
        out,
    )
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remind_follows_the_faked_clock() {
    if !faketime_works() {
        assert!(
            std::env::var_os("CI").is_none(),
            "faketime is missing in CI: `scripts/mailstack install` installs the package `faketime`"
        );
        eprintln!(
            "SKIPPED remind_follows_the_faked_clock: `faketime` (Debian package `faketime`, \
             libfaketime) is not installed; `scripts/mailstack install` installs it"
        );
        return;
    }
    let env = fc::env(fc::Backend::Sqlite).await.unwrap();
    let case = ingest(&env.store, &approval("FT1234567", "ft@example.org"))
        .await
        .case_id
        .unwrap();
    // Approved on 2026-12-01 10:00 UTC: the first reminder falls due ten days later.
    let approved = leje_ts(utc("2026-12-01T10:00:00Z"));
    env.sql(&format!(
        "UPDATE cases SET created_at = '{approved}', remind_from = NULL"
    ))
    .await;
    let config = env.state_dir().join("leje.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = {:?}\nstore = {:?}\n[followup]\nwindow = \"09:00-19:00\"\n",
            env.state_dir().display().to_string(),
            env.url
        ),
    )
    .unwrap();

    // (faked UTC time, reminders a dry run finds): before the due date, at night
    // in Tirana, in the morning before 09:00 there, then inside the window.
    let runs = [
        (
            "2026-12-11 09:59:00",
            0,
            "10:59 in Tirana, one minute before due",
        ),
        (
            "2026-12-20 03:00:00",
            0,
            "04:00 in Tirana: outside the window",
        ),
        (
            "2026-12-20 07:59:00",
            0,
            "08:59 in Tirana: outside the window",
        ),
        ("2026-12-11 10:00:00", 1, "11:00 in Tirana, due this minute"),
        (
            "2026-12-20 10:00:00",
            1,
            "11:00 in Tirana, nine days overdue",
        ),
        ("2026-12-20 17:59:00", 1, "18:59 in Tirana: still inside"),
    ];
    for (i, (at, want, why)) in runs.into_iter().enumerate() {
        let dir = env.state_dir().join(format!("dry{i}"));
        let (now, emails, out) = dry_run_at(at, &config, &dir);
        // The pass ran at the faked time, not the real one.
        assert!(now.starts_with(&at[..10]), "{why}: now {now}: {out}");
        assert_eq!(emails, want, "{why} ({at}): {out}");
        if want == 0 && why.contains("outside") {
            let (_, out) = leje_at(at, &config, &["remind"]);
            assert!(out.contains("outside the reminder window"), "{why}: {out}");
        }
    }
    let reminders = |store: leje::store::Store| async move {
        store
            .outbox_list(None)
            .await
            .unwrap()
            .into_iter()
            .filter(|o| o.kind == OutboxKind::Reminder)
            .count()
    };
    assert_eq!(
        reminders(env.store.clone()).await,
        0,
        "dry runs change nothing"
    );

    // The real pass at the faked time queues it once, and moves the due date to
    // that time: the next is ten days on (faked) again.
    let (ok, out) = leje_at("2026-12-20 10:00:00", &config, &["remind"]);
    assert!(ok && out.contains("1 reminder(s) queued"), "{out}");
    let (ok, out) = leje_at("2026-12-20 10:05:00", &config, &["remind"]);
    assert!(ok && out.contains("0 reminder(s) queued"), "{out}");
    assert_eq!(reminders(env.store.clone()).await, 1);
    let f = env.store.followup(case).await.unwrap().unwrap();
    assert_eq!(f.reminders_sent, 1);
    // (libfaketime starts the clock at the faked time and lets it run.)
    let at = utc("2026-12-20T10:00:00Z");
    assert!(
        f.remind_from >= at && f.remind_from < at + chrono::Duration::minutes(1),
        "{f:?}"
    );
    let dir = env.state_dir().join("dry-after");
    let (_, emails, out) = dry_run_at("2026-12-29 10:00:00", &config, &dir);
    assert_eq!(emails, 0, "nine days after the first reminder: {out}");
    let dir = env.state_dir().join("dry-second");
    let (_, emails, out) = dry_run_at("2026-12-30 10:00:00", &config, &dir);
    assert_eq!(emails, 1, "ten days after the first reminder: {out}");
}
