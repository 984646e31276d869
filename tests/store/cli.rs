//! The `leje` binary's store commands on real fixture emails: import twice,
//! two imports at once on one store, the case commands.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{env, Backend, Env};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The receiving server the test config trusts.
const AUTHSERV: &str = "mx.leje-test.invalid";

/// A copy of the fixture emails in `dir`, each as a receiving server that
/// verified its sender would deliver it: with an `Authentication-Results`
/// header of [`AUTHSERV`] saying DMARC passed for its From domain.
fn trusted_fixtures(dir: &Path) -> PathBuf {
    let out = dir.join("trusted-fixtures");
    std::fs::create_dir_all(&out).unwrap();
    for e in std::fs::read_dir(fixtures()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "eml") {
            continue;
        }
        // NOTE: the `*-corpus.eml` fixtures wrap one notice in 79 real clients' forward
        // blocks, each forwarded by a different address: imported together they are
        // contact conflicts (review), not the renewals this test counts.
        if p.to_string_lossy().ends_with("-corpus.eml") {
            continue;
        }
        let raw = std::fs::read(&p).unwrap();
        let parsed = leje::parse::parse(&raw);
        let mut copy = Vec::new();
        if let Some((_, domain)) = parsed
            .forwarded_by
            .as_deref()
            .and_then(|f| f.rsplit_once('@'))
        {
            copy.extend(
                format!("Authentication-Results: {AUTHSERV}; dmarc=pass header.from={domain}\r\n")
                    .bytes(),
            );
        }
        copy.extend(raw);
        std::fs::write(out.join(p.file_name().unwrap()), copy).unwrap();
    }
    out
}

/// `leje ARGS --store URL` with a state dir and no config file of the machine.
fn leje(env: &Env, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leje"));
    c.args(args)
        .args(["--store", &env.url])
        .env_remove("LEJE_STORE")
        .env("STATE_DIRECTORY", env.state.path())
        .env("RUST_LOG", "warn");
    // NOTE: a config file of our own means the embedded defaults, whatever
    // /etc/leje holds, but for the receiving server `trusted_fixtures` stands for.
    let cfg = env.state.path().join("test.toml");
    std::fs::write(&cfg, format!("[trust]\nauthserv_ids = [\"{AUTHSERV}\"]\n")).unwrap();
    c.env("LEJE_CONFIG", cfg);
    c
}

fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "leje failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn summary(out: &str) -> serde_json::Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

async fn import_twice_then_cases(backend: Backend) {
    let Some(env) = env(backend).await else {
        return;
    };
    let fx = fixtures();
    let first = summary(&ok(leje(&env, &["import", "--json"])
        .arg(&fx)
        .output()
        .unwrap()));
    let created = first["outcomes"]["case_created"].as_u64().unwrap_or(0);
    assert!(created >= 10, "the fixtures hold many approvals: {first}");
    let total = first["messages"].as_u64().unwrap();
    let second = summary(&ok(leje(&env, &["import", "--json"])
        .arg(&fx)
        .output()
        .unwrap()));
    assert_eq!(second["messages"].as_u64(), Some(total));
    assert_eq!(
        second["outcomes"]["duplicate"].as_u64(),
        Some(total),
        "{second}"
    );
    assert_eq!(second["outcomes"].as_object().unwrap().len(), 1, "{second}");

    let list: serde_json::Value =
        serde_json::from_str(&ok(leje(&env, &["cases", "list", "--json"])
            .output()
            .unwrap()))
        .unwrap();
    let list = list.as_array().unwrap();
    let cases = env.store.cases(Default::default()).await.unwrap();
    assert_eq!(list.len(), cases.len());
    for key in [
        "travel_document",
        "name",
        "nationality",
        "directorate",
        "stage",
        "contacts",
        "created_at",
        "updated_at",
    ] {
        assert!(list[0].get(key).is_some(), "missing `{key}` in {}", list[0]);
    }

    // Advance one approved case through the CLI; an impossible move is refused.
    let doc = cases
        .iter()
        .find(|c| c.stage == leje::store::Stage::Approved)
        .unwrap()
        .travel_document
        .clone();
    ok(leje(
        &env,
        &[
            "cases",
            "advance",
            &doc,
            "--to",
            "fee_paid",
            "--note",
            "paid at the post office",
        ],
    )
    .output()
    .unwrap());
    let out = leje(&env, &["cases", "advance", &doc, "--to", "approved"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`fee_paid`") && err.contains("`approved`") && err.contains("`applied`"),
        "{err}"
    );
    let show = ok(leje(&env, &["cases", "show", &doc]).output().unwrap());
    assert!(
        show.contains("paid at the post office") && show.contains("fee_paid"),
        "{show}"
    );

    // A waybill saved to a file for printing: the stored bytes, private.
    let (with_waybill, stored) = {
        let mut found = None;
        for c in &cases {
            let w = env.store.case_waybills(c.id).await.unwrap();
            if let Some(w) = w.first() {
                found = Some((c.travel_document.clone(), w.clone()));
                break;
            }
        }
        found.expect("the fixtures hold approvals with waybills")
    };
    assert!(show_has_waybill(&ok(leje(
        &env,
        &["cases", "show", &with_waybill]
    )
    .output()
    .unwrap())));
    let file = env.state.path().join("printed.pdf");
    let path = file.to_str().unwrap();
    ok(
        leje(&env, &["cases", "waybill", &with_waybill, "--output", path])
            .output()
            .unwrap(),
    );
    let saved = std::fs::read(&file).unwrap();
    assert_eq!(saved.len() as u64, stored.size);
    assert_eq!(
        Some(saved),
        env.store.waybill_data(&stored.sha256).await.unwrap()
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let out = leje(
        &env,
        &[
            "cases",
            "waybill",
            &with_waybill,
            "--number",
            "9",
            "-o",
            path,
        ],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("there is no number 9"), "{err}");

    let csv = ok(leje(&env, &["cases", "export", "--csv"]).output().unwrap());
    assert_eq!(csv.lines().count(), cases.len() + 1);
    assert!(csv.starts_with("travel_document,name,"));
    // The second import recorded nothing new: one row per message.
    let msgs = ok(leje(&env, &["messages", "list", "--limit", "1000"])
        .output()
        .unwrap());
    assert!(msgs.contains(&format!("{total} message(s)")), "{msgs}");
}

/// `cases show` numbers the waybills and says how to save one.
fn show_has_waybill(show: &str) -> bool {
    show.contains("  1. ") && show.contains("leje cases waybill")
}

#[tokio::test]
async fn sqlite_import_twice_then_cases() {
    import_twice_then_cases(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_import_twice_then_cases() {
    import_twice_then_cases(Backend::Postgres).await;
}

/// Two `leje import` processes at once on the same inputs and store, with a
/// umask that would leave files world-readable: every message is recorded
/// once, the cases are those of a single import, and the files stay private.
async fn two_imports_at_once(backend: Backend) {
    let Some(env) = env(backend).await else {
        return;
    };
    // NOTE: trusted, so that renewals renew (an untrusted one goes to review).
    let fx = trusted_fixtures(env.state.path());
    let spawn = || {
        let c = leje(&env, &["import", "--json"]);
        let cmd = "umask 000; exec \"$0\" \"$@\"";
        let prog = c.get_program().to_owned();
        let args: Vec<_> = c.get_args().map(|a| a.to_owned()).collect();
        let mut sh = Command::new("sh");
        sh.arg("-c").arg(cmd).arg(prog).args(args).arg(&fx);
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        sh.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        sh.spawn().unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        summary(&ok(a.wait_with_output().unwrap())),
        summary(&ok(b.wait_with_output().unwrap())),
    );
    let total = a["messages"].as_u64().unwrap();
    let created = |v: &serde_json::Value| v["outcomes"]["case_created"].as_u64().unwrap_or(0);
    let msgs = env.store.messages(None, 100_000).await.unwrap();
    assert_eq!(msgs.len() as u64, total, "each message recorded once");
    let cases = env.store.cases(Default::default()).await.unwrap();
    assert_eq!(
        created(&a) + created(&b),
        cases.len() as u64,
        "a: {a}, b: {b}"
    );
    let outbox = env.store.outbox_list(None).await.unwrap();
    let approved_cases = cases
        .iter()
        .filter(|c| c.stage != leje::store::Stage::Rejected)
        .count();
    // NOTE: the fixtures reuse a few applicants under notices years apart, which
    // the store takes as renewals: each sends the instructions once more.
    let mut renewals = 0;
    for c in &cases {
        let events = env.store.case_events(c.id).await.unwrap();
        renewals += events
            .iter()
            .filter(|e| {
                e.detail
                    .as_deref()
                    .is_some_and(|d| d.starts_with("renewal"))
            })
            .count();
    }
    assert!(renewals > 0, "the fixtures hold renewals");
    assert_eq!(
        outbox.len(),
        approved_cases + renewals,
        "one Instructions email per approved case, and one per renewal"
    );
    if backend == Backend::Sqlite {
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for f in ["leje.db", "leje.db-wal", "leje.db-shm"] {
            let p = env.state.path().join(f);
            if p.exists() {
                assert_eq!(mode(&p), 0o600, "{f}");
            }
        }
        // Waybills are in the database: no file per waybill.
        assert!(!env.state.path().join("attachments").exists());
    }
}

#[tokio::test]
async fn sqlite_two_imports_at_once() {
    two_imports_at_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_two_imports_at_once() {
    two_imports_at_once(Backend::Postgres).await;
}
