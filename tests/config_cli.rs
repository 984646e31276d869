//! `config.example.toml` and `leje check-config` / logging as a user meets
//! them, through the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use leje::config::{self, Auth, Secret, TlsMode};

mod config_support;
use config_support::*;

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml")
}

fn leje() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leje"));
    c.env_remove("LEJE_CONFIG").env_remove("RUST_LOG");
    c
}

#[test]
fn example_config_is_valid_and_is_the_demo_config() {
    let s = config::load(Some(&example_path())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.source.as_deref(), Some(example_path().as_path()));
    assert_eq!(s.mailboxes.len(), 1);
    let m = &s.mailboxes[0];
    assert_eq!(
        (m.host.as_str(), m.port, m.tls),
        ("127.0.0.1", 10143, TlsMode::None)
    );
    assert_eq!(
        m.auth,
        Auth::Password(Secret::Env("LEJE_IMAP_PASSWORD".into()))
    );
    let smtp = s.smtp.as_ref().expect("the demo sends mail");
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.tls),
        ("127.0.0.1", 10025, TlsMode::None)
    );
    assert_eq!(smtp.from, "leje <permits@example.al>");
    assert!(s.http.is_none());

    let out = leje()
        .arg("check-config")
        .arg(example_path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("is valid"), "{stdout}");
    assert!(stdout.contains("mailbox `permits`"), "{stdout}");
}

/// Every key the file format knows appears (set or commented) in the example,
/// so the example really documents every option.
#[test]
fn example_documents_every_key() {
    let example = std::fs::read_to_string(example_path()).unwrap();
    let documented = |key: &str| {
        example.lines().any(|l| {
            let l = l.trim_start_matches('#').trim_start();
            l.starts_with(&format!("{key} =")) || l.starts_with(&format!("{key}="))
        })
    };
    // The "expected one of" list of an unknown-key error is the struct's key list.
    let sections = [
        ("zzz = 1\n", ""),
        ("[log]\nzzz = 1\n", "log"),
        ("[http]\nzzz = 1\n", "http"),
        ("[limits]\nzzz = 1\n", "limits"),
        ("[web]\nzzz = 1\n", "web"),
        ("[[mailbox]]\nzzz = 1\n", "mailbox"),
        (
            "[[mailbox]]\n[mailbox.actions]\nzzz = 1\n",
            "mailbox.actions",
        ),
        ("[smtp]\nzzz = 1\n", "smtp"),
        ("[notify]\nzzz = 1\n", "notify"),
        ("[offices.tirane]\nzzz = 1\n", "offices"),
        ("[citizenship]\nzzz = 1\n", "citizenship"),
        ("[followup]\nzzz = 1\n", "followup"),
        ("[trust]\nzzz = 1\n", "trust"),
    ];
    for (text, section) in sections {
        let errs = errors(text);
        let msg = errs
            .iter()
            .map(|e| e.to_string())
            .find(|m| m.contains("unknown key `zzz`"))
            .unwrap_or_else(|| panic!("{errs:?}"));
        let list = msg
            .split(", expected")
            .nth(1)
            .unwrap_or_else(|| panic!("{msg}"));
        let keys: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
        assert!(keys.len() >= 2, "{section}: {msg}");
        for k in keys {
            // Tables are documented by their header.
            let header = [
                "log",
                "http",
                "web",
                "mailbox",
                "smtp",
                "notify",
                "offices",
                "actions",
                "citizenship",
                "followup",
                "after",
                "trust",
                "limits",
            ];
            if header.contains(&k) {
                assert!(
                    example.contains(&format!("[{k}"))
                        || example.contains(&format!(".{k}]"))
                        || example.contains(&format!("[{k}.")),
                    "section `{k}`"
                );
                continue;
            }
            assert!(
                documented(k),
                "`{section}.{k}` is not documented in config.example.toml"
            );
        }
    }
}

#[test]
fn check_config_binary_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[mailbox]]\nname = \"m\"\nhost = \"imap.example.al\"\ntls = \"none\"\nport = 99999\n",
    )
    .unwrap();
    let out = leje().arg("check-config").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    for key in [
        "mailbox[0].tls",
        "mailbox[0].port",
        "mailbox[0].username",
        "mailbox[0]: needs a password",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(key) && l.contains("bad.toml:")),
            "{key} in:\n{stderr}"
        );
    }
    assert!(stderr.contains("is invalid: 4 errors"), "{stderr}");

    // The global --config is used when no FILE is given.
    let out = leje()
        .args(["--config"])
        .arg(&bad)
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));

    let missing = leje()
        .arg("check-config")
        .arg(dir.path().join("nope.toml"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.toml"));

    let good = dir.path().join("good.toml");
    std::fs::write(&good, MAILBOX).unwrap();
    let out = leje().arg("check-config").arg(&good).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains(&format!("config `{}` is valid", good.display())));
}

/// Logging formats, seen from outside: JSON lines on request; no timestamps
/// when stderr is the journal (JOURNAL_STREAM names its device and inode),
/// timestamps otherwise.
#[test]
fn log_formats() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], journal: bool| {
        let err_path = dir.path().join("stderr");
        let err = std::fs::File::create(&err_path).unwrap();
        let meta = err.metadata().unwrap();
        let mut c = leje();
        c.env("RUST_LOG", "debug")
            .args(args)
            .arg("check-config")
            .arg(example_path());
        c.stderr(err);
        if journal {
            c.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
        } else {
            c.env_remove("JOURNAL_STREAM");
        }
        assert!(c.status().unwrap().success());
        let out = std::fs::read_to_string(&err_path).unwrap();
        out.lines()
            .find(|l| l.contains("checking configuration"))
            .unwrap_or_else(|| panic!("no log line in {out:?}"))
            .to_string()
    };
    let json = run(&["--log-format", "json"], false);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["level"], "DEBUG", "{json}");
    assert_eq!(v["message"], "checking configuration", "{json}");
    assert!(v["timestamp"].is_string(), "{json}");

    let text = run(&[], false);
    assert!(text.starts_with("20"), "timestamp expected: {text}");
    let journal = run(&[], true);
    assert!(
        journal.trim_start().starts_with("DEBUG"),
        "no timestamp under journald: {journal}"
    );
    let forced = run(&["--log-format", "text"], true);
    assert!(
        forced.starts_with("20"),
        "text always has timestamps: {forced}"
    );
}

/// Unknown keys and wrong types do not hide the value errors elsewhere, and
/// do not cause follow-on errors about the keys they knocked out.
#[test]
fn structural_and_value_errors_together() {
    let errs = errors(
        "stat_dir = 1\n[log]\nlevel = \"info,,=x[\"\n[[mailbox]]\nname = \"m\"\nhost = \"h\"\nusername = 7\n\
         password_command = 5\nport = 0\n[mailbox.actions]\nprocessed = \"move:\"\n[smtp]\ncc = \"a@b.al\"\n",
    );
    let keys: Vec<&str> = errs.iter().filter_map(|e| e.key()).collect();
    assert_eq!(
        keys,
        [
            "stat_dir",
            "log.level",
            "mailbox[0].username",
            "mailbox[0].password_command",
            "mailbox[0].port",
            "mailbox[0].actions.processed",
            "smtp.host",
            "smtp.from",
            "smtp.cc",
        ],
        "{errs:#?}"
    );
    let cmd = error_for(&errs, "mailbox[0].password_command").to_string();
    assert!(cmd.contains("a list of strings"), "{cmd}");
}

/// A broken template override fails `check-config` (exit 78) naming the file, before
/// any applicant's email is due; a good one passes.
#[test]
fn check_config_renders_template_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let tpl = dir.path().join("tpl");
    std::fs::create_dir_all(tpl.join("en")).unwrap();
    let config = dir.path().join("leje.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"{}\"\n[notify]\ntemplates_dir = \"tpl\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let check = || {
        let out = leje().arg("check-config").arg(&config).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let file = tpl.join("en/instructions.txt.j2");

    std::fs::write(&file, "Dear {{ name or 'applicant' }}, pay {{ fee }}.\n").unwrap();
    let (code, text) = check();
    assert_eq!(code, Some(0), "{text}");

    // A misspelt variable: only a render finds it (strict undefined).
    std::fs::write(&file, "Dear {{ nmae }}\n").unwrap();
    let (code, text) = check();
    assert_eq!(code, Some(78), "{text}");
    assert!(text.contains("notify.templates_dir"), "{text}");
    assert!(text.contains("en/instructions.txt.j2"), "{text}");

    // A syntax error names the file it came from.
    std::fs::write(&file, "Dear {% if name %}\n").unwrap();
    let (code, text) = check();
    assert_eq!(code, Some(78), "{text}");
    assert!(text.contains(&file.display().to_string()), "{text}");
}

/// A message that makes mail-parser 0.11 panic (found by cargo-fuzz) is still parsed,
/// and the caught panic is one log line, not a backtrace dump per message.
#[test]
fn a_caught_panic_is_one_log_line() {
    let eml = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mail-parser-panic.eml");
    let out = leje()
        .env_remove("RUST_BACKTRACE")
        .arg("parse")
        .arg(&eml)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"kind\":"), "{stdout}");
    let panic_lines: Vec<&str> = stderr.lines().filter(|l| l.contains("panic")).collect();
    assert_eq!(panic_lines.len(), 1, "{stderr}");
    assert!(panic_lines[0].contains("panic at"), "{stderr}");
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
    assert!(!stderr.contains("thread 'main'"), "{stderr}");
}
