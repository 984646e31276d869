//! Configuration secrets: exactly one source, resolution from a file, an
//! environment variable, a command or a systemd credential, and never a
//! value in Debug output or error messages.

use std::time::Duration;

use leje::config::{self, Auth, Secret};

mod config_support;
use config_support::*;

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
