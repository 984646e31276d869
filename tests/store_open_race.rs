//! Several processes opening one new SQLite store at the same moment (the
//! daemon starting while an operator runs `leje import`) must all succeed:
//! the migrations run once, under a lock, not once per process. (`cases list`
//! and the other read commands never create a store: tests/no_traps.rs.)

use std::process::Command;

#[test]
fn concurrent_first_opens_of_a_sqlite_store_all_succeed() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("leje.db").display());
        let empty = tempfile::tempdir().unwrap();
        let children: Vec<_> = (0..4)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_leje"))
                    .args(["--store", &url, "import", "--json"])
                    .arg(empty.path())
                    .env("STATE_DIRECTORY", dir.path())
                    .env_remove("LEJE_CONFIG")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn leje")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: `leje import` failed on a store being created concurrently: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                String::from_utf8_lossy(&out.stdout).contains(r#""messages":0"#),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}
