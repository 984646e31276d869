//! The shipped systemd unit is valid, hardened, and calls the CLI the way the CLI accepts.
//!
//! `systemd-analyze verify` and `security --offline=true` work without a running systemd, so these
//! run in containers and CI too. They skip loudly (panic under CI) only when systemd-analyze is
//! missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INSTALLED_BIN: &str = "/usr/bin/leje";
/// Lower is safer; systemd calls up to 2.0 "OK".
const MAX_EXPOSURE: f64 = 2.0;

fn unit_source() -> PathBuf {
    common::repo_root().join("systemd").join("leje.service")
}

fn unit_text() -> String {
    let path = unit_source();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `systemd-analyze` if installed, else a loud skip (a panic under CI).
fn systemd_analyze() -> Option<&'static str> {
    let ok = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some("systemd-analyze")
    } else {
        common::skip("systemd-analyze is not installed (Debian package `systemd`)");
        None
    }
}

/// Writes the unit into `dir` as `leje.service`, with the binary path pointing at the binary
/// cargo just built, so `verify` can check that every Exec line names a real executable.
fn unit_for_this_build(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("leje.service");
    let text = text.replace(INSTALLED_BIN, env!("CARGO_BIN_EXE_leje"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

fn verify(unit: &Path) -> Output {
    // NOTE: --man=no: the unit names no man pages, and the check must not depend on man-db.
    run(
        "systemd-analyze",
        &["verify", "--man=no", unit.to_str().unwrap()],
    )
}

#[test]
fn unit_passes_systemd_analyze_verify() {
    let Some(_) = systemd_analyze() else { return };
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path(), &unit_text());
    let out = verify(&unit);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("leje.service"))
        .collect();
    assert!(
        out.status.success() && complaints.is_empty(),
        "systemd-analyze verify {} failed ({}):\n{stderr}",
        unit.display(),
        out.status
    );
}

#[test]
fn verify_catches_a_broken_unit_here() {
    // Proves the check above can fail in this environment.
    let Some(_) = systemd_analyze() else { return };
    let dir = tempfile::tempdir().unwrap();
    // A bad value is only a warning (exit 0), which is why the check above also reads stderr.
    let bad_value = unit_text().replace("ProtectSystem=strict", "ProtectSystem=sometimes");
    let out = verify(&unit_for_this_build(dir.path(), &bad_value));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("leje.service") && stderr.contains("sometimes"),
        "verify did not report the bad value: {stderr}"
    );
    // A missing executable is an error.
    let path = dir.path().join("leje.service");
    std::fs::write(
        &path,
        unit_text().replace(INSTALLED_BIN, "/nonexistent/leje"),
    )
    .unwrap();
    let out = verify(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "verify accepted a missing binary: {stderr}"
    );
    assert!(stderr.contains("/nonexistent/leje"), "{stderr}");
}

/// Parses "→ Overall exposure level for leje.service: 1.2 OK 🙂".
fn exposure(stdout: &str) -> Option<f64> {
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level for"))?;
    let after = line.rsplit_once(".service:")?.1;
    after.split_whitespace().next()?.parse().ok()
}

#[test]
fn exposure_score_is_at_most_two() {
    let Some(_) = systemd_analyze() else { return };
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path(), &unit_text());
    let out = run(
        "systemd-analyze",
        &[
            "security",
            "--offline=true",
            "--no-pager",
            unit.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let score = exposure(&stdout).unwrap_or_else(|| {
        panic!(
            "no overall exposure in the output ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // Shown with --nocapture; the README quotes it.
    println!("systemd-analyze security: leje.service exposure {score}");
    let weak: Vec<&str> = stdout.lines().filter(|l| l.starts_with('✗')).collect();
    assert!(
        score <= MAX_EXPOSURE,
        "exposure {score} > {MAX_EXPOSURE}; weak points:\n{}",
        weak.join("\n")
    );
}

#[test]
fn exposure_parser_reads_systemds_line() {
    let out =
        "✗ PrivateNetwork= ...  0.5\n\n→ Overall exposure level for leje.service: 1.2 OK 🙂\n";
    assert_eq!(exposure(out), Some(1.2));
    assert_eq!(
        exposure("→ Overall exposure level for x.service: 9.6 UNSAFE 😨"),
        Some(9.6)
    );
    assert_eq!(exposure("nothing here"), None);
}

/// The value of every `Key=` line (a key may repeat).
fn values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
        .collect()
}

#[test]
fn unit_keeps_what_the_daemon_relies_on() {
    let unit = unit_text();
    for (key, want) in [
        ("Type", "notify"),
        ("DynamicUser", "yes"),
        ("StateDirectory", "leje"),
        ("StateDirectoryMode", "0700"),
        ("ConfigurationDirectory", "leje"),
        ("UMask", "0077"),
        ("Restart", "on-failure"),
        ("RestartPreventExitStatus", "78"),
    ] {
        assert_eq!(values(&unit, key), [want], "{key}=");
    }
    assert!(!values(&unit, "WatchdogSec").is_empty());
    let reload = values(&unit, "ExecReload");
    assert_eq!(reload.len(), 2, "validate, then signal: {reload:?}");
    assert!(reload[0].ends_with("check-config"), "{reload:?}");
    assert!(reload[1].contains("-HUP $MAINPID"), "{reload:?}");
    let creds = values(&unit, "LoadCredential");
    for name in ["imap-password", "smtp-password"] {
        assert!(
            creds.iter().any(|c| c.starts_with(&format!("{name}:"))),
            "LoadCredential={name}:… missing: {creds:?}"
        );
    }
}

#[test]
fn unit_exec_lines_are_accepted_by_the_cli() {
    // ExecStartPre/ExecReload run `leje --config FILE check-config`: with a missing file that must
    // be the config error 78 (not clap's usage error 2), and the message must name the file.
    let unit = unit_text();
    let pre = values(&unit, "ExecStartPre");
    assert_eq!(pre.len(), 1, "{pre:?}");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("leje.toml");
    let args: Vec<String> = pre[0]
        .split_whitespace()
        .skip(1)
        .map(|a| a.replace("/etc/leje/leje.toml", missing.to_str().unwrap()))
        .collect();
    assert!(args.iter().any(|a| a == "check-config"), "{args:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_leje"))
        .args(&args)
        .env_remove("LEJE_CONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{args:?}: {stderr}");
    assert!(stderr.contains(missing.to_str().unwrap()), "{stderr}");

    // ExecStart's `run` must be a subcommand the CLI knows (`--help` parses without running).
    let start = values(&unit, "ExecStart");
    assert_eq!(start.len(), 1);
    let mut args: Vec<&str> = start[0].split_whitespace().skip(1).collect();
    args.push("--help");
    let out = Command::new(env!("CARGO_BIN_EXE_leje"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`leje {}` is not accepted: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn tmpfiles_snippet_creates_private_credential_files() {
    let Some(_) = systemd_analyze() else { return };
    if Command::new("systemd-tmpfiles")
        .arg("--version")
        .output()
        .is_err()
    {
        common::skip("systemd-tmpfiles is not installed (Debian package `systemd`)");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let conf = common::repo_root()
        .join("systemd")
        .join("leje.tmpfiles.conf");
    let out = run(
        "systemd-tmpfiles",
        &[
            "--create",
            &format!("--root={}", root.path().display()),
            conf.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let etc = root.path().join("etc/leje");
    // Every credential the unit loads must exist after tmpfiles ran, else the start would fail.
    for c in values(&unit_text(), "LoadCredential") {
        let file = c.split_once(':').expect("NAME:PATH").1;
        let path = root.path().join(file.trim_start_matches('/'));
        let meta = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{} not created: {e}", path.display()));
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "{}",
            path.display()
        );
    }
    assert!(etc.is_dir());
}
