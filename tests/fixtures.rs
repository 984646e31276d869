//! The fixture suite: every `fixtures/<name>.eml` is parsed with `leje::parse::parse`
//! and must serialise to exactly `fixtures/<name>.json` (the `leje parse` object without
//! its `file` key). The fixtures and their expected values are written by
//! `scripts/gen-fixtures.py` from the data it puts into each message, independently of
//! the parser. Each fixture runs twice: as stored, and with its line endings converted
//! (LF to CRLF, or CRLF to LF), because mail reaches leje both ways.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The keys of a `ParsedMessage` in declaration order (the JSON contract).
const KEYS: [&str; 11] = [
    "kind",
    "reason",
    "language",
    "name",
    "travel_document",
    "nationality",
    "directorate",
    "original_from",
    "forwarded_by",
    "notified_at",
    "waybills",
];

/// A fixture suite smaller than this means files went missing.
const MIN_FIXTURES: usize = 60;

/// One parse (debug build) slower than this counts as unbounded (see mal-hostile-pdfs).
const PER_RUN_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn eml_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures/ is readable")
        .map(|e| e.expect("fixtures/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

/// Every bare `\n` becomes `\r\n`.
fn to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Every `\r\n` becomes `\n`.
fn to_lf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(absent)".to_string(),
        Some(v) => v.to_string(),
    }
}

/// A readable, field-by-field list of differences (waybills compared per entry and field).
fn diff(expected: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let (Some(e), Some(a)) = (expected.as_object(), actual.as_object()) else {
        return vec![format!("expected {expected}, got {actual}")];
    };
    let mut keys: Vec<&String> = e.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let (ev, av) = (e.get(k), a.get(k));
        if ev == av {
            continue;
        }
        if k == "waybills" {
            let empty = Vec::new();
            let ew = ev.and_then(Value::as_array).unwrap_or(&empty);
            let aw = av.and_then(Value::as_array).unwrap_or(&empty);
            if ew.len() != aw.len() {
                out.push(format!(
                    "  waybills: expected {} entries, got {}",
                    ew.len(),
                    aw.len()
                ));
            }
            for (i, (x, y)) in ew.iter().zip(aw.iter()).enumerate() {
                for d in diff(x, y) {
                    out.push(format!("  waybills[{i}].{}", d.trim_start()));
                }
            }
            for (i, y) in aw.iter().enumerate().skip(ew.len()) {
                out.push(format!("  waybills[{i}]: unexpected {y}"));
            }
            for (i, x) in ew.iter().enumerate().skip(aw.len()) {
                out.push(format!("  waybills[{i}]: missing {x}"));
            }
            continue;
        }
        out.push(format!("  {k}: expected {}, got {}", show(ev), show(av)));
    }
    out
}

fn parse_to_json(raw: &[u8]) -> Result<Value, String> {
    match std::panic::catch_unwind(|| leje::parse::parse(raw)) {
        Ok(parsed) => serde_json::to_value(&parsed).map_err(|e| format!("cannot serialise: {e}")),
        Err(_) => Err("the parser panicked".to_string()),
    }
}

#[test]
fn every_fixture_matches_its_expected_json_with_lf_and_crlf() {
    let files = eml_files();
    let mut failures = Vec::new();
    let mut runs = 0;
    for eml in &files {
        let name = eml.file_name().unwrap().to_string_lossy().into_owned();
        let json_path = eml.with_extension("json");
        let text = std::fs::read_to_string(&json_path)
            .unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
        let expected: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", json_path.display()));
        let raw = std::fs::read(eml).unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
        let stored_crlf = raw.windows(2).any(|w| w == b"\r\n");
        let variants = if stored_crlf {
            [
                ("as stored, CRLF", raw.clone()),
                ("converted to LF", to_lf(&raw)),
            ]
        } else {
            [
                ("as stored, LF", raw.clone()),
                ("converted to CRLF", to_crlf(&raw)),
            ]
        };
        assert_ne!(
            variants[0].1, variants[1].1,
            "{name}: conversion changed nothing"
        );
        for (label, bytes) in &variants {
            runs += 1;
            let start = std::time::Instant::now();
            let result = parse_to_json(bytes);
            let took = start.elapsed();
            if took > PER_RUN_LIMIT {
                failures.push(format!(
                    "{name} ({label}): took {took:?} (limit {PER_RUN_LIMIT:?})"
                ));
            }
            match result {
                Err(e) => failures.push(format!("{name} ({label}): {e}")),
                Ok(actual) => {
                    let d = diff(&expected, &actual);
                    if !d.is_empty() {
                        failures.push(format!("{name} ({label}):\n{}", d.join("\n")));
                    }
                }
            }
        }
    }
    assert!(
        files.len() >= MIN_FIXTURES,
        "only {} fixtures in {}; expected at least {MIN_FIXTURES}",
        files.len(),
        fixtures_dir().display()
    );
    if !failures.is_empty() {
        panic!(
            "{} of {runs} fixture runs ({} files) differ from the expected JSON:\n\n{}\n",
            failures.len(),
            files.len(),
            failures.join("\n\n")
        );
    }
    eprintln!("{runs} fixture runs over {} files matched", files.len());
}

/// The expected files themselves follow the contract's shape and null rules, so a typo in
/// the generator cannot make the suite demand something the contract does not.
#[test]
fn expected_json_files_follow_the_contract_shape() {
    let kinds = [
        "permit_approved",
        "permit_rejected",
        "incomplete_notification",
        "auto_reply",
        "bounce",
        "own_mail",
        "calendar",
        "empty",
        "malformed",
        "unrelated",
    ];
    let mut seen_kinds = std::collections::BTreeSet::new();
    for eml in eml_files() {
        let p = eml.with_extension("json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let o = v.as_object().unwrap();
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want = KEYS.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want, "{}: keys", p.display());
        let kind = o["kind"].as_str().unwrap();
        assert!(kinds.contains(&kind), "{}: kind {kind}", p.display());
        seen_kinds.insert(kind.to_string());
        assert_eq!(
            o["reason"].is_null(),
            kind == "permit_approved",
            "{}",
            p.display()
        );
        if ![
            "permit_approved",
            "permit_rejected",
            "incomplete_notification",
        ]
        .contains(&kind)
        {
            for k in &KEYS[2..8] {
                if *k != "forwarded_by" {
                    assert!(
                        o[*k].is_null(),
                        "{}: {k} must be null for {kind}",
                        p.display()
                    );
                }
            }
            assert!(o["notified_at"].is_null(), "{}", p.display());
        }
        if !["permit_approved", "incomplete_notification"].contains(&kind) {
            assert_eq!(o["waybills"], Value::Array(vec![]), "{}", p.display());
        }
        assert!(
            o["forwarded_by"].is_string(),
            "{}: forwarded_by",
            p.display()
        );
    }
    assert_eq!(
        seen_kinds.len(),
        kinds.len(),
        "every kind is covered: {seen_kinds:?}"
    );
}

#[test]
fn leje_parse_binary_prints_one_line_per_input_in_order() {
    let dir = fixtures_dir();
    let inputs: Vec<PathBuf> = vec![
        dir.join("direct-en-plain-qp.eml"),
        dir.join("no-such-fixture.eml"),
        dir.join("neg-spam.eml"),
        dir.join("fwd-gmail-en.eml"),
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_leje"))
        .arg("parse")
        .args(&inputs)
        .output()
        .expect("run leje parse");
    assert!(
        !out.status.success(),
        "a missing file must make the exit status non-zero"
    );
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), inputs.len(), "one line per input:\n{stdout}");
    for (line, input) in lines.iter().zip(&inputs) {
        let shown = input.to_string_lossy();
        assert!(line.starts_with("{\"file\":"), "`file` comes first: {line}");
        let v: Value = serde_json::from_str(line).expect("each line is one JSON object");
        assert_eq!(v["file"], Value::String(shown.to_string()), "{line}");
        if !input.exists() {
            let o = v.as_object().unwrap();
            assert_eq!(o.len(), 2, "only file and error: {line}");
            assert!(o["error"].as_str().is_some_and(|e| !e.is_empty()), "{line}");
            continue;
        }
        // Keys after `file` in declaration order.
        let mut last = 0;
        for k in KEYS {
            let pos = line
                .find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("key {k} missing: {line}"));
            assert!(pos > last, "key {k} out of order: {line}");
            last = pos;
        }
        // The binary prints what the library returns.
        let mut rest = v.clone();
        rest.as_object_mut().unwrap().remove("file");
        let lib = parse_to_json(&std::fs::read(input).unwrap()).expect("library parse");
        assert_eq!(rest, lib, "binary and library differ for {shown}");
    }
}

#[test]
fn line_ending_conversions_round_trip() {
    let lf = b"a\nb\r\nc\n".to_vec();
    assert_eq!(to_crlf(&lf), b"a\r\nb\r\nc\r\n".to_vec());
    assert_eq!(to_lf(&to_crlf(&lf)), b"a\nb\nc\n".to_vec());
}
