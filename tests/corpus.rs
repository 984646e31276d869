//! Robustness over ../shared/corpus: about 1,700 public real-world and deliberately
//! malformed emails, none of them a permit notification. Every file must parse without a
//! panic, within a time bound, and none may come out as `permit_approved`.
//!
//! The corpus lives beside the repository (CI clones it to `../shared`); when it is absent
//! the test says so loudly and passes, so a bare checkout still builds and tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use leje::parse::{parse, Kind};

/// A parse slower than this on one file (debug build) counts as unbounded.
const PER_FILE_LIMIT: Duration = Duration::from_secs(2);
/// Give up waiting on one file after this long (a hang would otherwise hang the suite).
const HANG_LIMIT: Duration = Duration::from_secs(30);
/// The corpus holds ~1,700 inputs; far fewer means it was not found or not walked.
const MIN_FILES: usize = 1000;

/// `$LEJE_CORPUS`, else `../shared/corpus` beside the repository (CI), else the same
/// beside the directory that holds this checkout (a worktree under `wt/`).
fn corpus_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LEJE_CORPUS") {
        return PathBuf::from(d);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let near = root.join("../shared/corpus");
    let far = root.join("../../shared/corpus");
    if !near.is_dir() && far.is_dir() {
        far
    } else {
        near
    }
}

fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let ft = e.file_type().expect("file type");
        if dir == root && (e.file_name() == "SOURCES.md" || e.file_name() == "_expected") {
            continue;
        }
        if ft.is_dir() {
            walk(&path, root, out);
        } else if ft.is_file() {
            out.push(path);
        }
    }
}

#[test]
fn corpus_parses_without_panic_and_without_approvals() {
    let root = corpus_dir();
    if !root.is_dir() {
        eprintln!(
            "\n*** SKIP corpus test: {} not found (clone the shared corpus beside the repo) ***\n",
            root.display()
        );
        return;
    }
    let mut files = Vec::new();
    walk(&root, &root, &mut files);

    let mut panics = Vec::new();
    let mut approvals = Vec::new();
    let mut slow = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = Duration::ZERO;
    let mut bytes = 0usize;
    let (mut slowest, mut slowest_file) = (Duration::ZERO, PathBuf::new());

    for path in &files {
        let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        bytes += raw.len();
        let (tx, rx) = mpsc::channel();
        // NOTE: a worker thread per file so that an endless loop fails the test with the
        // file's name instead of hanging it; a panic is caught in the worker.
        std::thread::spawn(move || {
            let start = Instant::now();
            let result = std::panic::catch_unwind(|| parse(&raw));
            let _ = tx.send((result.map(|p| p.kind), start.elapsed()));
        });
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        match rx.recv_timeout(HANG_LIMIT) {
            Err(_) => panic!("parse did not finish within {HANG_LIMIT:?} on {rel}"),
            Ok((Err(_), _)) => panics.push(rel),
            Ok((Ok(kind), took)) => {
                total += took;
                if took > slowest {
                    slowest = took;
                    slowest_file = path.clone();
                }
                if took > PER_FILE_LIMIT {
                    slow.push(format!("{rel} ({took:?})"));
                }
                let k = serde_json::to_value(kind).unwrap();
                *kinds
                    .entry(k.as_str().unwrap_or("?").to_string())
                    .or_default() += 1;
                if kind == Kind::PermitApproved {
                    approvals.push(rel);
                }
            }
        }
    }

    eprintln!(
        "corpus: {} files, {:.1} MB, parse time {:?} total, slowest {:?} ({})",
        files.len(),
        bytes as f64 / 1e6,
        total,
        slowest,
        slowest_file.display()
    );
    eprintln!("corpus kinds: {kinds:?}");
    assert!(
        files.len() > MIN_FILES,
        "only {} files found under {}",
        files.len(),
        root.display()
    );
    assert!(panics.is_empty(), "parser panicked on: {panics:#?}");
    assert!(
        approvals.is_empty(),
        "{} corpus files (none is a notification) were taken as permit_approved: {approvals:#?}",
        approvals.len()
    );
    assert!(
        slow.is_empty(),
        "parse took longer than {PER_FILE_LIMIT:?} on: {slow:#?}"
    );
}

/// The local date and time (`YYYY-MM-DDTHH:MM`, as the client wrote it) of the forwarded
/// original in each email-forward-parser fixture, read off the files by hand; the first
/// pattern a file name starts with wins (`02/10/2023 4:52 PM EST`, slashes and a 12-hour
/// clock, is the US order). `None`: only its presence is checked.
const FORWARD_DATES: &[(&str, Option<&str>)] = &[
    ("apple_mail_en_body_variant_4", Some("2021-10-25T11:43")),
    ("apple_mail_en_body_variant_6", Some("2021-07-16T19:24")),
    ("apple_mail_en_body_variant_7", Some("2021-07-16T19:24")),
    ("apple_mail_en_body_variant_13", Some("2022-08-17T09:06")),
    ("apple_mail_en", Some("2021-10-25T11:17")),
    ("apple_mail", Some("2021-10-26T14:25")),
    ("gmail_en_body_variant_14", Some("2023-04-06T16:17")),
    ("gmail_en_body_variant_15", Some("2023-04-06T16:17")),
    ("gmail", Some("2021-10-27T09:31")),
    ("hubspot_en_body_variant_4", Some("2022-09-20T03:44")),
    ("hubspot_fr", Some("2022-09-19T15:20")),
    ("hubspot", Some("2022-09-19T17:55")),
    ("ionos", Some("2023-02-10T16:52")),
    ("mailmate", Some("2021-10-27T09:31")),
    ("missive_en_body_variant_1", Some("2022-07-19T15:36")),
    ("missive_en_body_variant_2", Some("2022-07-19T15:36")),
    ("missive_en_body_variant_4", Some("2022-07-19T15:36")),
    ("missive_en_body_variant_3", Some("2022-07-01T17:03")),
    ("missive", Some("2022-07-19T15:09")),
    (
        "new_outlook_2019_en_body_variant_14",
        Some("2023-04-06T16:17"),
    ),
    (
        "new_outlook_2019_en_body_variant_15",
        Some("2023-04-06T16:17"),
    ),
    ("new_outlook_2019_cs", Some("2021-10-28T12:06")),
    ("new_outlook_2019_da", Some("2021-10-28T12:06")),
    ("new_outlook_2019_fi", Some("2021-10-28T12:06")),
    ("new_outlook_2019_fr", Some("2021-10-28T12:06")),
    ("new_outlook_2019_nl", Some("2021-10-28T12:06")),
    ("new_outlook_2019", Some("2021-10-28T12:46")),
    ("outlook_2013", Some("2021-10-25T11:17")),
    ("outlook_2019", Some("2021-10-28T12:46")),
    ("outlook_live_en_body_variant_14", Some("2023-04-06T16:17")),
    ("outlook_live_en_body_variant_15", Some("2023-04-06T16:17")),
    ("outlook_live", Some("2021-10-27T15:14")),
    ("thunderbird_en_body_variant_14", Some("2023-04-06T16:17")),
    ("thunderbird_en_body_variant_15", Some("2023-04-06T16:17")),
    ("thunderbird", Some("2021-11-03T15:51")),
    ("unknown_en_body_variant_12", Some("2022-07-23T07:53")),
    ("yahoo_en_body_variant_4", Some("2021-11-02T15:01")),
    ("yahoo", Some("2021-11-02T09:26")),
];

/// Fixtures whose original carries no address at all: `original_from` must be null (never
/// the forwarder's). An attribution without an address ("On 03/11/2021 15:51, John Doe
/// wrote:") is not recognised, so the quoted notice there has no date either.
const NO_ADDRESS: &[(&str, bool)] = &[
    ("mailmate_en_body_variant_4", false),
    ("thunderbird_en_body_variant_4", false),
    ("unknown_en_body_variant_12", true),
];

/// Every forwarded email of crisp-oss/email-forward-parser (real clients, 23 UI languages)
/// with its original's text replaced by a permit notification: the notice must be found
/// and its `original_from` and `notified_at` must be the forward header's (upstream's
/// test/index.js expects `john.doe@acme.com` from nearly every file).
#[test]
fn forward_parser_corpus_headers_are_extracted() {
    let dir = corpus_dir().join("email-forward-parser");
    if !dir.is_dir() {
        eprintln!("\n*** SKIP: {} not found ***\n", dir.display());
        return;
    }
    let notice = "We inform you that your Residence Permit for citizen Ana Lee , Travel Document \
                  no. P7788123 , Canada has been approved.";
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().contains("_body"))
        .collect();
    files.sort();
    let (mut checked, mut failures) = (0, Vec::new());
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let no_address = NO_ADDRESS.iter().find(|(n, _)| *n == name);
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).replace('\u{feff}', "");
        let Some(body) = ["Aenean quis diam urna.", "Unicum iter ad supremum."]
            .iter()
            .find(|s| text.contains(**s))
            .map(|s| text.replacen(s, notice, 1))
        else {
            panic!("{name}: no original text to replace");
        };
        let raw = format!(
            "From: Forwarder <forwarder@example.org>\r\nTo: leje@example.al\r\nSubject: Fwd: x\r\n\
             Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
            body.replace("\r\n", "\n").replace('\n', "\r\n")
        );
        let m = parse(raw.as_bytes());
        checked += 1;
        let want_from = if no_address.is_some() {
            None
        } else if name.starts_with("hubspot_en_body_variant_4") {
            Some("archive@eliottvincent.com")
        } else {
            Some("john.doe@acme.com")
        };
        let want_date = FORWARD_DATES
            .iter()
            .find(|(p, _)| name.starts_with(p))
            .unwrap_or_else(|| panic!("{name}: no expected date in FORWARD_DATES"))
            .1;
        let at = m.notified_at.as_deref();
        let date_ok = match (no_address, want_date) {
            (Some((_, false)), _) => at.is_none(),
            (_, Some(d)) => at.is_some_and(|a| a.starts_with(d)),
            (_, None) => at.is_some(),
        };
        if m.kind != Kind::PermitApproved || m.original_from.as_deref() != want_from || !date_ok {
            failures.push(format!(
                "{name}: {:?} from {:?} at {at:?} (want {want_from:?}, {want_date:?})",
                m.kind, m.original_from
            ));
        }
    }
    eprintln!("forward corpus: {checked} files, {} failed", failures.len());
    assert!(checked >= 185, "only {checked} forward bodies checked");
    assert!(failures.is_empty(), "{failures:#?}");
}
