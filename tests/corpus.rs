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

#[path = "corpus/dates.rs"]
mod dates;
#[path = "corpus/forward.rs"]
mod forward;

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

/// Every forwarded email of crisp-oss/email-forward-parser (real clients, 23 UI languages)
/// wrapped around a permit notification, in English and in Albanian, as text/plain and as
/// HTML only (`corpus/forward.rs`):
/// kind, name, travel document, directorate, language, and the block's sender and date.
#[test]
fn forward_parser_corpus_wraps_a_notice_in_every_client_and_language() {
    let dir = corpus_dir().join("email-forward-parser");
    if !dir.is_dir() {
        eprintln!("\n*** SKIP: {} not found ***\n", dir.display());
        return;
    }
    let (checked, failures) = forward::run(&dir);
    eprintln!(
        "forward corpus: {checked} cases ({} bodies x en/sq x plain/html), {} passed, {} failed",
        checked / 4,
        checked - failures.len(),
        failures.len()
    );
    assert!(checked >= 4 * 185, "only {checked} forward cases checked");
    assert!(failures.is_empty(), "{failures:#?}");
}
