//! Helpers shared by the configuration test binaries (`tests/config*.rs`):
//! load a config from text, and find the error reported for a key.

// NOTE: each test binary uses a different subset of these.
#![allow(dead_code)]

use leje::config::{self, ConfigError};

/// Write `text` as `leje.toml` in a fresh directory and load it.
pub fn load_text(
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

/// The errors `text` produces; panics if it is valid.
pub fn errors(text: &str) -> Vec<ConfigError> {
    match load_text(text).1 {
        Ok(s) => panic!("expected errors, got settings: {s:#?}"),
        Err(e) => e.into_iter().collect(),
    }
}

/// The settings `text` produces; panics with every error if it is invalid.
pub fn ok(text: &str) -> config::Settings {
    match load_text(text).1 {
        Ok(s) => s,
        Err(e) => panic!("expected a valid config, got:\n{e}"),
    }
}

/// The error for `key`, or a panic listing what there was.
pub fn error_for<'a>(errs: &'a [ConfigError], key: &str) -> &'a ConfigError {
    errs.iter()
        .find(|e| e.key() == Some(key))
        .unwrap_or_else(|| {
            let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
            panic!("no error for `{key}` in:\n{}", all.join("\n"))
        })
}

/// A minimal valid mailbox section.
pub const MAILBOX: &str = r#"
[[mailbox]]
name = "permits"
host = "imap.example.al"
username = "permits@example.al"
password_env = "LEJE_TEST_UNUSED"
"#;
