//! Commands that only look at the store (`cases`, `messages`, `outbox list`) never create
//! one: on a missing store they exit non-zero, name the path they looked at and how to
//! pick another, and leave nothing behind (issue 22: `leje cases list` as root used to
//! create a root-owned /var/lib/leje/leje.db that locked the service out).

use std::path::Path;
use std::process::{Command, Output};

/// Every file and directory under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `leje ARGS` with the config file `cfg` and nothing from the environment.
fn leje(cfg: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leje"))
        .args(args)
        .env("LEJE_CONFIG", cfg)
        .env_remove("LEJE_STORE")
        .env_remove("STATE_DIRECTORY")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run leje")
}

const READ_COMMANDS: &[&[&str]] = &[
    &["cases", "list"],
    &["cases", "list", "--json"],
    &["cases", "show", "AB1234567"],
    &["cases", "review"],
    &["cases", "export", "--csv"],
    &["messages", "list"],
    &["outbox", "list"],
    &["outbox", "list", "--json"],
    &["citizenship"],
    &["citizenship", "--json"],
    &["replies", "list"],
    &["remind", "--dry-run", "/nonexistent-leje-dry-run"],
];

#[test]
fn read_commands_on_a_missing_store_fail_naming_it_and_create_nothing() {
    let root = tempfile::tempdir().unwrap();
    let conf_dir = tempfile::tempdir().unwrap();
    // The store the config names, in a state directory that does not exist yet.
    let state = root.path().join("state");
    let cfg = conf_dir.path().join("leje.toml");
    std::fs::write(
        &cfg,
        format!("state_dir = {:?}\n", state.display().to_string()),
    )
    .unwrap();
    let expected = state.join("leje.db");
    let explicit = root.path().join("elsewhere/other.db");
    let mut ran = 0;
    for args in READ_COMMANDS {
        for store in [None, Some(&explicit)] {
            let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            if let Some(s) = store {
                all.extend(["--store".into(), format!("sqlite:{}", s.display())]);
            }
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            let out = leje(&cfg, &all);
            let err = String::from_utf8_lossy(&out.stderr);
            let path = store.unwrap_or(&expected);
            assert!(
                !out.status.success(),
                "`leje {}` succeeded on a missing store: {}",
                all.join(" "),
                String::from_utf8_lossy(&out.stdout)
            );
            assert!(
                err.contains(&path.display().to_string()),
                "`leje {}` does not name the store it looked at ({}): {err}",
                all.join(" "),
                path.display()
            );
            for hint in ["--store", "--config", "LEJE_CONFIG", "leje import"] {
                assert!(err.contains(hint), "no `{hint}` in: {err}");
            }
            assert_eq!(
                tree(root.path()),
                Vec::<String>::new(),
                "`leje {}` created files",
                all.join(" ")
            );
            ran += 1;
        }
    }
    assert_eq!(ran, READ_COMMANDS.len() * 2);
}

#[test]
fn import_creates_the_store_the_read_commands_then_read() {
    let root = tempfile::tempdir().unwrap();
    let conf_dir = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    let cfg = conf_dir.path().join("leje.toml");
    std::fs::write(
        &cfg,
        format!("state_dir = {:?}\n", state.display().to_string()),
    )
    .unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = leje(&cfg, &["import", &empty.path().display().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(state.join("leje.db").is_file());
    let out = leje(&cfg, &["cases", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 case(s)"));
}
