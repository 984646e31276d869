//! The follow-up commands as an operator runs them (issue 20): `leje remind`
//! (and its dry run), `leje replies list|done`, `leje cases pause|resume`, and
//! what `leje cases show` says about reminders and attached mail.

mod common;
#[path = "followup/common.rs"]
mod fc;

use std::process::Command;

use fc::{approval, ingest, ingest_raw};
use leje::store::OutboxKind;

fn leje(config: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leje"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("LEJE_STORE")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remind_replies_pause_and_show() {
    let env = fc::env(fc::Backend::Sqlite).await.unwrap();
    let doc = "CL1234567";
    let case = ingest(&env.store, &approval(doc, "maria@example.it"))
        .await
        .case_id
        .unwrap();
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
    let reminders = |store: leje::store::Store| async move {
        store
            .outbox_list(None)
            .await
            .unwrap()
            .into_iter()
            .filter(|o| o.kind == OutboxKind::Reminder)
            .count()
    };

    // Dry run: a report, nothing changed.
    let dry = env.state_dir().join("dry");
    let (ok, out) = leje(&config, &["remind", "--dry-run", dry.to_str().unwrap()]);
    assert!(ok, "{out}");
    let report = std::fs::read_to_string(dry.join("remind-dry-run.json")).unwrap();
    assert!(report.contains(&format!("[\n        {case},")), "{report}");
    assert!(out.contains("and 1 email(s)"), "{out}");
    let eml: Vec<_> = std::fs::read_dir(&dry)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with("-reminder.eml"))
        .collect();
    assert_eq!(eml.len(), 1);
    let text = std::fs::read_to_string(eml[0].path()).unwrap();
    assert!(text.contains("X-Leje-Kind: reminder"), "{text}");
    assert_eq!(reminders(env.store.clone()).await, 0);
    // The real pass, twice: one reminder.
    let (ok, out) = leje(&config, &["remind"]);
    assert!(ok && out.contains("1 reminder(s) queued"), "{out}");
    let (ok, out) = leje(&config, &["remind"]);
    assert!(ok && out.contains("0 reminder(s) queued"), "{out}");
    assert_eq!(reminders(env.store.clone()).await, 1);

    // A reply with a photo shows on the case and in the replies list.
    let row = env
        .store
        .outbox_list(None)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.kind == OutboxKind::Instructions)
        .unwrap();
    let raw = format!(
        "From: maria@example.it\r\nSubject: Re: steps\r\nMessage-ID: <r1@example.it>\r\n\
         In-Reply-To: <{}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\npaid\r\n--b\r\nContent-Type: image/png; name=photo.png\r\n\
         Content-Disposition: attachment; filename=photo.png\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         iVBORw0KGgo=\r\n--b--\r\n",
        row.message_id
    );
    ingest_raw(&env.store, raw.as_bytes()).await;
    let (ok, out) = leje(&config, &["cases", "show", doc]);
    assert!(ok, "{out}");
    assert!(out.contains("reminders:   active, 1 sent"), "{out}");
    assert!(out.contains("WAITING FOR AN ANSWER: 1"), "{out}");
    assert!(out.contains("file: photo.png (image/png"), "{out}");
    let (ok, out) = leje(&config, &["replies", "list"]);
    assert!(
        ok && out.contains("1 waiting for an answer") && out.contains(doc),
        "{out}"
    );
    let id = env.store.waiting_mail().await.unwrap()[0].id;
    let (ok, out) = leje(&config, &["replies", "done", &id.to_string()]);
    assert!(ok, "{out}");
    let (_, out) = leje(&config, &["replies", "list"]);
    assert!(out.contains("0 waiting for an answer"), "{out}");

    // Paused: no reminder however long; resumed: counted from the resumption.
    let (ok, out) = leje(&config, &["cases", "pause", doc]);
    assert!(ok && out.contains("paused"), "{out}");
    let (_, out) = leje(&config, &["cases", "show", doc]);
    assert!(out.contains("reminders:   paused"), "{out}");
    env.age_cases("1 = 1", 30).await;
    let (_, out) = leje(&config, &["remind"]);
    assert!(out.contains("0 reminder(s) queued"), "{out}");
    let (ok, out) = leje(&config, &["cases", "resume", doc]);
    assert!(ok && out.contains("resumed"), "{out}");
    let (_, out) = leje(&config, &["remind"]);
    assert!(out.contains("0 reminder(s) queued"), "{out}");
}

/// The daemon's pass (run every `interval` under a job lease, daemon/leases.rs)
/// queues the due reminder and wakes the outbox sender; a second pass queues nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_pass_reminds_and_wakes_the_sender() {
    let env = fc::env(fc::Backend::Sqlite).await.unwrap();
    ingest(&env.store, &approval("DL1234567", "d@example.org")).await;
    env.age_cases("1 = 1", 11).await;
    let mut settings = leje::config::load(None).unwrap();
    settings.followup.window = (0, 24 * 60);
    let kick = std::sync::Arc::new(tokio::sync::Notify::new());
    let woken = kick.notified();
    leje::followup::pass_once(&env.store, &settings.followup, &kick).await;
    tokio::time::timeout(std::time::Duration::from_secs(5), woken)
        .await
        .expect("the sender was woken");
    leje::followup::pass_once(&env.store, &settings.followup, &kick).await;
    let rows = env.store.outbox_list(None).await.unwrap();
    assert_eq!(
        rows.iter()
            .filter(|o| o.kind == OutboxKind::Reminder)
            .count(),
        1
    );
}
