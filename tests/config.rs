//! Configuration: the example file, error reporting, secrets, units, and
//! `leje check-config` as a user runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use leje::config::{self, Action, Auth, ConfigError, Secret, TlsMode};
use leje::parse::Directorate;

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml")
}

/// Write `text` as `leje.toml` in a fresh directory and load it.
fn load_text(
    text: &str,
) -> (
    tempfile::TempDir,
    Result<config::Settings, config::ConfigErrors>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leje.toml");
    std::fs::write(&path, text).unwrap();
    let r = config::load(Some(&path));
    (dir, r)
}

fn errors(text: &str) -> Vec<ConfigError> {
    match load_text(text).1 {
        Ok(s) => panic!("expected errors, got settings: {s:#?}"),
        Err(e) => e.into_iter().collect(),
    }
}

fn ok(text: &str) -> config::Settings {
    match load_text(text).1 {
        Ok(s) => s,
        Err(e) => panic!("expected a valid config, got:\n{e}"),
    }
}

/// The error for `key`, or a panic listing what there was.
fn error_for<'a>(errs: &'a [ConfigError], key: &str) -> &'a ConfigError {
    errs.iter()
        .find(|e| e.key() == Some(key))
        .unwrap_or_else(|| {
            let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            panic!("no error for `{key}` in:\n{}", all.join("\n"))
        })
}

const MAILBOX: &str = r#"
[[mailbox]]
name = "permits"
host = "imap.example.al"
username = "permits@example.al"
password_env = "LEJE_TEST_UNUSED"
"#;

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
        ("[[mailbox]]\nzzz = 1\n", "mailbox"),
        (
            "[[mailbox]]\n[mailbox.actions]\nzzz = 1\n",
            "mailbox.actions",
        ),
        ("[smtp]\nzzz = 1\n", "smtp"),
        ("[notify]\nzzz = 1\n", "notify"),
        ("[offices.tirane]\nzzz = 1\n", "offices"),
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
                "log", "http", "mailbox", "smtp", "notify", "offices", "actions",
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
fn embedded_defaults() {
    let s = config::load(None).unwrap();
    assert_eq!(s.source, None);
    assert!(s.mailboxes.is_empty());
    assert!(s.smtp.is_none());
    assert!(s.http.is_none());
    assert_eq!(s.log.level, "info");
    assert_eq!(s.offices.len(), 12);
    assert_eq!(
        s.offices[&Directorate::Tirane].name,
        "Drejtoria Vendore për Kufirin dhe Migracionin Tiranë"
    );
    assert_eq!(
        s.offices[&Directorate::Gjirokaster].name,
        "Drejtoria Vendore për Kufirin dhe Migracionin Gjirokastër"
    );
    assert!(s
        .offices
        .values()
        .all(|o| o.address.is_none() && o.hours.is_none()));
    assert_eq!(
        s.store_url,
        format!("sqlite:{}", s.state_dir.join("leje.db").display())
    );
    assert_eq!(s.notify.fee_default_lek, 5700);
    assert!(!s.instance.is_empty());
}

#[test]
fn mailbox_defaults() {
    let s = ok(MAILBOX);
    let m = &s.mailboxes[0];
    assert_eq!(m.port, 993);
    assert_eq!(m.tls, TlsMode::Implicit);
    assert_eq!(m.folder, "INBOX");
    assert!(m.idle);
    assert_eq!(m.poll_interval, Duration::from_secs(60));
    assert_eq!(m.idle_renew, Duration::from_secs(25 * 60));
    assert_eq!(m.batch_size, 50);
    assert_eq!(m.max_message_size, 25 * 1024 * 1024);
    assert_eq!(m.reconnect_max, Duration::from_secs(300));
    assert_eq!(m.since, None);
    assert_eq!(m.actions.processed, Action::Move("leje/processed".into()));
    assert_eq!(m.actions.ignored, Action::Seen);
    assert_eq!(m.actions.review, Action::Move("leje/review".into()));
    assert_eq!(m.actions.failed, Action::Move("leje/failed".into()));
    assert_eq!(m.actions.oversize, Action::Move("leje/oversize".into()));
}

#[test]
fn values_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tpl")).unwrap();
    let text = format!(
        r#"{MAILBOX}
port = 1993
tls = "starttls"
folder = "Shared/Permits"
idle = false
poll_interval = "90s"
idle_renew = 600
batch_size = 200
max_message_size = "500KB"
since = 2024-01-31
reconnect_max = "1h30m"
[mailbox.actions]
processed = "keyword:$LejeDone"
ignored = "leave"
review = "move:Review"

[http]
enabled = true
listen = "[::1]:9999"
stale_after = "2m"

[smtp]
host = "smtp.example.al"
tls = "implicit"
username = "permits@example.al"
password_credential = "smtp"
from = "Permits <permits@example.al>"
cc = ["records@agency.al"]
retry_for = "1d"

[notify]
default_language = "sq"
templates_dir = "tpl"
payment_route = "post"
staff_addresses = ["Desk@Agency.AL"]
staff_domains = ["@Agency.AL"]
agency_name = "Agjencia"

[offices.tirane]
address = "Rruga e Durrësit"
[offices."korçë"]
hours = "8-16"
"#
    );
    let path = dir.path().join("leje.toml");
    std::fs::write(&path, text).unwrap();
    let s = config::load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
    let m = &s.mailboxes[0];
    assert_eq!((m.port, m.tls), (1993, TlsMode::StartTls));
    assert_eq!(m.folder, "Shared/Permits");
    assert!(!m.idle);
    assert_eq!(m.poll_interval, Duration::from_secs(90));
    assert_eq!(m.idle_renew, Duration::from_secs(600));
    assert_eq!(m.batch_size, 200);
    assert_eq!(m.max_message_size, 500_000);
    assert_eq!(m.since, chrono::NaiveDate::from_ymd_opt(2024, 1, 31));
    assert_eq!(m.reconnect_max, Duration::from_secs(5400));
    assert_eq!(m.actions.processed, Action::Keyword("$LejeDone".into()));
    assert_eq!(m.actions.ignored, Action::Leave);
    assert_eq!(m.actions.review, Action::Move("Review".into()));
    let http = s.http.unwrap();
    assert_eq!(http.listen.to_string(), "[::1]:9999");
    assert_eq!(http.stale_after, Duration::from_secs(120));
    let smtp = s.smtp.unwrap();
    assert_eq!((smtp.port, smtp.tls), (465, TlsMode::Implicit));
    assert_eq!(smtp.password, Some(Secret::Credential("smtp".into())));
    assert_eq!(smtp.retry_for, Duration::from_secs(86_400));
    assert_eq!(smtp.max_per_recipient_per_day, 5);
    assert_eq!(smtp.cc, vec!["records@agency.al".to_string()]);
    assert_eq!(s.notify.default_language, leje::parse::Language::Sq);
    assert_eq!(s.notify.templates_dir, Some(dir.path().join("tpl")));
    assert_eq!(s.notify.payment_route, config::PaymentRoute::Post);
    assert_eq!(s.notify.staff_addresses, vec!["desk@agency.al".to_string()]);
    assert_eq!(s.notify.staff_domains, vec!["agency.al".to_string()]);
    assert_eq!(
        s.offices[&Directorate::Tirane].address.as_deref(),
        Some("Rruga e Durrësit")
    );
    assert_eq!(
        s.offices[&Directorate::Korce].hours.as_deref(),
        Some("8-16")
    );
    assert!(s.offices[&Directorate::Korce].name.ends_with("Korçë"));
}

#[test]
fn several_errors_are_all_reported_with_file_key_and_reason() {
    let (dir, r) = load_text(
        r#"
store = "mysql://x"

[log]
format = "xml"

[[mailbox]]
name = "a"
host = "imap.example.al"
port = 70000
username = "u"
password_env = "A"
password_file = "/etc/passwd"

[[mailbox]]
name = "a"
host = "imap.example.al"
username = "u"
idle_renew = "30m"
poll_interval = "0s"
max_message_size = "25XB"
[mailbox.actions]
processed = "move:"
ignored = "frob"

[smtp]
host = "smtp.example.al"
from = "not a mailbox"

[offices.rome]
address = "Via Roma"
"#,
    );
    let errs: Vec<ConfigError> = r.unwrap_err().into_iter().collect();
    let file = dir.path().join("leje.toml").display().to_string();
    let expect = [
        ("store", "`mysql://x`"),
        ("log.format", "`xml`"),
        ("mailbox[0].port", "`70000`"),
        ("mailbox[0].password_env", "only one password source"),
        ("mailbox[1].name", "`a` is already used"),
        ("mailbox[1]", "needs a password"),
        ("mailbox[1].idle_renew", "29 minutes"),
        ("mailbox[1].poll_interval", "`0s`"),
        ("mailbox[1].max_message_size", "`25XB`"),
        ("mailbox[1].actions.processed", "names no folder"),
        ("mailbox[1].actions.ignored", "`frob`"),
        ("smtp.from", "`not a mailbox`"),
        ("offices.rome", "`rome` is not a directorate"),
    ];
    for (key, reason) in expect {
        let e = error_for(&errs, key);
        let line = e.to_string();
        assert!(line.starts_with(&format!("{file}:")), "{line}");
        assert!(line.contains(&format!(": {key}: ")), "{line}");
        assert!(line.contains(reason), "`{reason}` not in {line}");
        assert!(
            matches!(e, ConfigError::Invalid { at: Some(_), .. }),
            "no line number: {line}"
        );
    }
    assert_eq!(errs.len(), expect.len(), "{errs:#?}");
    // The directorate error names all twelve.
    let rome = error_for(&errs, "offices.rome").to_string();
    for k in [
        "berat",
        "diber",
        "durres",
        "elbasan",
        "fier",
        "gjirokaster",
        "korce",
        "kukes",
        "lezhe",
        "shkoder",
        "tirane",
        "vlore",
    ] {
        assert!(rome.contains(&format!("`{k}`")), "{rome}");
    }
    // Reported in file order, with the line of the key.
    let port = error_for(&errs, "mailbox[0].port");
    assert!(
        matches!(
            port,
            ConfigError::Invalid {
                at: Some((10, 1)),
                ..
            }
        ),
        "{port}"
    );
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let errs = errors(&format!(
        "statedir = \"/x\"\n{MAILBOX}prot = 993\n[mailbox.actions]\nproccessed = \"seen\"\n"
    ));
    let top = error_for(&errs, "statedir").to_string();
    assert!(top.contains("unknown key `statedir`"), "{top}");
    assert!(
        top.contains("`state_dir`"),
        "suggests the valid keys: {top}"
    );
    let nested = error_for(&errs, "mailbox[0].prot").to_string();
    assert!(nested.contains("unknown key `prot`"), "{nested}");
    assert!(nested.contains(":8:1:"), "line of the key: {nested}");
    let actions = error_for(&errs, "mailbox[0].actions.proccessed").to_string();
    assert!(actions.contains("unknown key `proccessed`"), "{actions}");
}

#[test]
fn syntax_errors_have_line_and_column() {
    let errs = errors("[log]\nlevel = \"info\"\nformat = text\n");
    assert!(
        matches!(
            &errs[0],
            ConfigError::Syntax {
                line: 3,
                column: 10,
                ..
            }
        ),
        "{errs:?}"
    );
    assert!(
        errs[0].to_string().contains("leje.toml:3:10: invalid TOML"),
        "{}",
        errs[0]
    );
}

#[test]
fn wrong_types_name_the_key() {
    let errs = errors(&format!("{MAILBOX}idle = \"yes\"\n"));
    let e = error_for(&errs, "mailbox[0].idle").to_string();
    assert!(e.contains("leje.toml:7:"), "{e}");
}

#[test]
fn plaintext_only_on_loopback() {
    let insecure = |host: &str, extra: &str| {
        format!(
            "[[mailbox]]\nname = \"m\"\nhost = \"{host}\"\ntls = \"none\"\nusername = \"u\"\npassword_env = \"P\"\n{extra}\n\
             [smtp]\nhost = \"{host}\"\ntls = \"none\"\nfrom = \"a@b.al\"\n{extra}\n"
        )
    };
    let errs = errors(&insecure("imap.example.al", ""));
    for key in ["mailbox[0].tls", "smtp.tls"] {
        let e = error_for(&errs, key).to_string();
        assert!(
            e.contains("`imap.example.al`") && e.contains("loopback"),
            "{e}"
        );
    }
    assert_eq!(errs.len(), 2);
    for host in [
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "[::1]",
        "localhost",
        "LOCALHOST",
    ] {
        let s = ok(&insecure(host, ""));
        assert_eq!(s.mailboxes[0].port, 143);
        assert_eq!(s.smtp.unwrap().port, 25);
    }
    for host in ["10.0.0.1", "128.0.0.1", "localhost.example.al", "::2"] {
        assert_eq!(errors(&insecure(host, "")).len(), 2, "{host}");
    }
    ok(&insecure("imap.example.al", "allow_insecure = true"));
}

#[test]
fn secret_sources_must_be_exactly_one() {
    let none = errors("[[mailbox]]\nname = \"m\"\nhost = \"h\"\nusername = \"u\"\n");
    assert!(error_for(&none, "mailbox[0]")
        .to_string()
        .contains("`password_file`"));
    let oauth = errors(&format!("{MAILBOX}auth = \"xoauth2\"\n"));
    assert!(error_for(&oauth, "mailbox[0]")
        .to_string()
        .contains("token"));
    let s = ok("[[mailbox]]\nname = \"m\"\nhost = \"h\"\nusername = \"u\"\nauth = \"xoauth2\"\ntoken_command = \"oauth2-token --account m\"\n");
    assert_eq!(
        s.mailboxes[0].auth,
        Auth::XOAuth2(Secret::Command(vec![
            "oauth2-token".into(),
            "--account".into(),
            "m".into()
        ]))
    );
    let missing = errors("[[mailbox]]\nname = \"m\"\nhost = \"h\"\nusername = \"u\"\npassword_file = \"no-such-file\"\n");
    let e = error_for(&missing, "mailbox[0].password_file").to_string();
    assert!(
        e.contains("no-such-file") && e.contains("does not exist"),
        "{e}"
    );
    let smtp = errors("[smtp]\nhost = \"h\"\nfrom = \"a@b.al\"\nusername = \"u\"\n");
    assert!(error_for(&smtp, "smtp")
        .to_string()
        .contains("needs a password"));
}

#[tokio::test]
async fn secrets_resolve_and_never_show_in_debug() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), "file-secret-1\n").unwrap();
    std::env::set_var("LEJE_TEST_SECRET_ENV", "env-secret-2");
    let text = r#"
[[mailbox]]
name = "file"
host = "h"
username = "u"
password_file = "pw"

[[mailbox]]
name = "env"
host = "h"
username = "u"
password_env = "LEJE_TEST_SECRET_ENV"

[[mailbox]]
name = "command"
host = "h"
username = "u"
password_command = ["printf", "  command-secret-3\n"]

[smtp]
host = "h"
from = "a@b.al"
username = "u"
password_command = ["sh", "-c", "echo leaked-output-4; exit 3"]
"#;
    let path = dir.path().join("leje.toml");
    std::fs::write(&path, text).unwrap();
    let s = config::load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
    let secret = |i: usize| match &s.mailboxes[i].auth {
        Auth::Password(p) => p.clone(),
        a => panic!("{a:?}"),
    };
    assert_eq!(secret(0), Secret::File(dir.path().join("pw")));
    assert_eq!(secret(0).resolve().await.unwrap(), "file-secret-1");
    assert_eq!(secret(1).resolve().await.unwrap(), "env-secret-2");
    assert_eq!(secret(2).resolve().await.unwrap(), "command-secret-3");

    let debug = format!("{s:?} {s:#?}");
    for value in [
        "file-secret-1",
        "env-secret-2",
        "command-secret-3",
        "leaked-output-4",
    ] {
        assert!(!debug.contains(value), "`{value}` in Debug output");
    }
    // A command's arguments may hold a token: hidden too.
    assert!(!debug.contains("echo leaked"), "{debug}");
    assert!(
        debug.contains("\"printf\""),
        "the program is named: {debug}"
    );

    let failed = s
        .smtp
        .as_ref()
        .unwrap()
        .password
        .as_ref()
        .unwrap()
        .resolve()
        .await;
    let msg = failed.unwrap_err().to_string();
    assert!(msg.contains("`sh`"), "{msg}");
    assert!(msg.contains("exit status: 3"), "{msg}");
    assert!(!msg.contains("leaked-output-4"), "{msg}");

    let unset = Secret::Env("LEJE_TEST_SECRET_UNSET".into()).resolve().await;
    assert!(unset
        .unwrap_err()
        .to_string()
        .contains("`LEJE_TEST_SECRET_UNSET`"));
    let missing = Secret::Command(vec!["/nonexistent/leje-helper".into()])
        .resolve()
        .await;
    assert!(missing
        .unwrap_err()
        .to_string()
        .contains("`/nonexistent/leje-helper`"));
}

#[tokio::test]
async fn systemd_credentials() {
    // NOTE: the only test that touches $CREDENTIALS_DIRECTORY.
    std::env::remove_var("CREDENTIALS_DIRECTORY");
    let c = Secret::Credential("imap-password".into());
    let msg = c.resolve().await.unwrap_err().to_string();
    assert!(
        msg.contains("CREDENTIALS_DIRECTORY") && msg.contains("LoadCredential=imap-password"),
        "{msg}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("imap-password"), "cred-secret\r\n").unwrap();
    std::env::set_var("CREDENTIALS_DIRECTORY", dir.path());
    assert_eq!(c.resolve().await.unwrap(), "cred-secret");
    std::env::remove_var("CREDENTIALS_DIRECTORY");
}

#[test]
fn durations_and_sizes_in_the_file() {
    let forms = [
        ("\"90s\"", 90),
        ("\"5m\"", 300),
        ("\"1h\"", 3600),
        ("\"2d\"", 172_800),
        ("45", 45),
    ];
    for (v, secs) in forms {
        let s = ok(&format!("{MAILBOX}reconnect_max = {v}\n"));
        assert_eq!(
            s.mailboxes[0].reconnect_max,
            Duration::from_secs(secs),
            "{v}"
        );
    }
    let sizes = [
        ("\"25MB\"", 25_000_000),
        ("\"25MiB\"", 26_214_400),
        ("\"500KB\"", 500_000),
        ("4096", 4096),
    ];
    for (v, n) in sizes {
        let s = ok(&format!("{MAILBOX}max_message_size = {v}\n"));
        assert_eq!(s.mailboxes[0].max_message_size, n, "{v}");
    }
    for bad in ["-5", "0", "\"soon\"", "\"5 parsecs\""] {
        let errs = errors(&format!("{MAILBOX}reconnect_max = {bad}\n"));
        error_for(&errs, "mailbox[0].reconnect_max");
    }
}

#[test]
fn more_checks() {
    let e = errors(&format!("{MAILBOX}port = 0\nbatch_size = 0\nfolder = \"\"\n[smtp]\nhost=\"h\"\nfrom=\"a@b.al\"\ncc = [\"nope\"]\nmax_per_recipient_per_day = -1\n[notify]\nstaff_addresses = [\"x\"]\nfee_default_lek = 0\ntemplates_dir = \"missing\"\n[offices.vlore]\nname = \"\"\n[offices.tirane]\n[offices.\"Tiranë\"]\n"));
    for key in [
        "mailbox[0].port",
        "mailbox[0].batch_size",
        "mailbox[0].folder",
        "smtp.cc[0]",
        "smtp.max_per_recipient_per_day",
        "notify.staff_addresses[0]",
        "notify.fee_default_lek",
        "notify.templates_dir",
        "offices.vlore.name",
    ] {
        error_for(&e, key);
    }
    // `tirane` and `Tiranë` are the same directorate.
    assert!(
        e.iter()
            .any(|e| e.to_string().contains("already configured")),
        "{e:?}"
    );
    // Moving into the watched folder would make a loop.
    let e = errors(&format!(
        "{MAILBOX}[mailbox.actions]\nreview = \"move:inbox\"\n"
    ));
    error_for(&e, "mailbox[0].actions.review");
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

#[test]
fn resolve_path_order() {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct T {
        #[command(flatten)]
        g: leje::cli::Globals,
    }
    let t = T::try_parse_from(["x", "--config", "/tmp/a.toml"]).unwrap();
    assert_eq!(
        config::resolve_path(&t.g),
        Some(PathBuf::from("/tmp/a.toml"))
    );
    let t =
        T::try_parse_from(["x", "--config", "/dev/null", "--store", "sqlite:/tmp/s.db"]).unwrap();
    assert_eq!(
        config::load_for(&t.g).unwrap().store_url,
        "sqlite:/tmp/s.db"
    );
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

#[tokio::test]
async fn a_hanging_secret_command_is_stopped() {
    let c = Secret::Command(vec!["sleep".into(), "20".into()]);
    let started = std::time::Instant::now();
    let msg = c
        .resolve_within(Duration::from_millis(300))
        .await
        .unwrap_err()
        .to_string();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        msg.contains("`sleep`") && msg.contains("did not finish within 300ms"),
        "{msg}"
    );
    assert_eq!(
        leje::config::secret::COMMAND_TIMEOUT,
        Duration::from_secs(30)
    );
}
