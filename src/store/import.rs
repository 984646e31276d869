//! Reading local mail for `leje import`: single .eml files, Maildir folders
//! (`cur/` and `new/`) and mbox files (From_ lines, `>From` unescaped).
//!
//! Each message gets a stable origin name: the file's path, or `path#N`
//! (1-based) for the N-th message of an mbox, so importing the same input
//! again maps every message to the same origin and changes nothing.

use std::path::{Path, PathBuf};

/// One message read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMessage {
    /// The origin name: `path` or `path#N`.
    pub origin: String,
    pub raw: Vec<u8>,
}

/// A file or directory that could not be read.
#[derive(Debug)]
pub struct ReadFailure {
    pub path: PathBuf,
    pub error: std::io::Error,
}

/// Everything under `paths`, in a stable order; unreadable entries are reported, not fatal.
pub fn collect(paths: &[PathBuf]) -> (Vec<LocalMessage>, Vec<ReadFailure>) {
    let mut out = Vec::new();
    let mut failures = Vec::new();
    for p in paths {
        visit(p, true, &mut out, &mut failures);
    }
    (out, failures)
}

/// `named`: the path was given on the command line (always read); files found
/// by walking a plain directory are read only if they end in `.eml` or look
/// like an mbox (start with `From `), so notes and JSON beside them are skipped.
fn visit(path: &Path, named: bool, out: &mut Vec<LocalMessage>, failures: &mut Vec<ReadFailure>) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(error) => {
            failures.push(ReadFailure {
                path: path.to_owned(),
                error,
            });
            return;
        }
    };
    if meta.is_file() {
        match std::fs::read(path) {
            Ok(raw) if named || is_mail_file(path, &raw) => read_file(path, raw, out),
            Ok(_) => {}
            Err(error) => failures.push(ReadFailure {
                path: path.to_owned(),
                error,
            }),
        }
        return;
    }
    let is_maildir = path.join("cur").is_dir() || path.join("new").is_dir();
    let dirs: Vec<PathBuf> = if is_maildir {
        // NOTE: tmp/ holds messages still being delivered; they are not read.
        vec![path.join("cur"), path.join("new")]
    } else {
        vec![path.to_owned()]
    };
    for dir in dirs {
        if is_maildir && !dir.is_dir() {
            continue;
        }
        let mut entries = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .collect::<Vec<_>>(),
            Err(error) => {
                failures.push(ReadFailure { path: dir, error });
                continue;
            }
        };
        entries.sort();
        for e in entries {
            let hidden = e
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if !hidden {
                // Maildir entries are messages whatever their names.
                visit(&e, is_maildir, out, failures);
            }
        }
    }
}

fn is_mail_file(path: &Path, raw: &[u8]) -> bool {
    let eml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("eml"));
    eml || raw.starts_with(b"From ")
}

fn read_file(path: &Path, raw: Vec<u8>, out: &mut Vec<LocalMessage>) {
    let name = path.display().to_string();
    if raw.starts_with(b"From ") {
        for (i, msg) in split_mbox(&raw).into_iter().enumerate() {
            out.push(LocalMessage {
                origin: format!("{name}#{}", i + 1),
                raw: msg,
            });
        }
    } else {
        out.push(LocalMessage { origin: name, raw });
    }
}

/// Splits an mbox into messages: a message starts at a `From ` line at the
/// start of the file or after an empty line; the From_ line is dropped,
/// `>From ` (any number of `>`) loses one `>`, and the empty separator line
/// before the next From_ line is removed.
pub fn split_mbox(data: &[u8]) -> Vec<Vec<u8>> {
    let mut msgs: Vec<Vec<u8>> = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    let mut prev_blank = true;
    for line in data.split_inclusive(|b| *b == b'\n') {
        let bare = trim_eol(line);
        if prev_blank && line.starts_with(b"From ") {
            if let Some(mut m) = cur.take() {
                strip_separator(&mut m);
                msgs.push(m);
            }
            cur = Some(Vec::new());
            prev_blank = false;
            continue;
        }
        prev_blank = bare.is_empty();
        let Some(m) = cur.as_mut() else { continue };
        let quoted = line.iter().take_while(|b| **b == b'>').count();
        if quoted > 0 && line[quoted..].starts_with(b"From ") {
            m.extend_from_slice(&line[1..]);
        } else {
            m.extend_from_slice(line);
        }
    }
    if let Some(mut m) = cur {
        strip_separator(&mut m);
        msgs.push(m);
    }
    msgs
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Removes the one empty line mbox writers put before the next From_ line.
fn strip_separator(m: &mut Vec<u8>) {
    if m.ends_with(b"\r\n\r\n") {
        m.truncate(m.len() - 2);
    } else if m.ends_with(b"\n\n") {
        m.truncate(m.len() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_is_split_and_unescaped() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From here on\n>>From twice\nFrom mid-line is not a separator\n\nFrom c@d Tue Jan  2 00:00:00 2024\r\nSubject: two\r\n\r\nbody\r\n";
        let m = split_mbox(mbox);
        let all: Vec<String> = m
            .iter()
            .map(|x| String::from_utf8_lossy(x).into_owned())
            .collect();
        assert_eq!(
            all,
            vec![
                "Subject: one\n\nFrom here on\n>From twice\nFrom mid-line is not a separator\n",
                "Subject: two\r\n\r\nbody\r\n",
            ]
        );
    }

    #[test]
    fn maildir_and_files_are_collected_in_order() {
        let d = tempfile::tempdir().unwrap();
        let md = d.path().join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(md.join(sub)).unwrap();
        }
        std::fs::write(md.join("cur/2:2,S"), b"Subject: b\n\nb\n").unwrap();
        std::fs::write(md.join("new/1"), b"Subject: c\n\nc\n").unwrap();
        std::fs::write(md.join("tmp/9"), b"Subject: partial\n").unwrap();
        let eml = d.path().join("x.eml");
        std::fs::write(&eml, b"Subject: a\n\na\n").unwrap();
        std::fs::create_dir(d.path().join("plain")).unwrap();
        std::fs::write(d.path().join("plain/notes.json"), b"{}").unwrap();
        std::fs::write(d.path().join("plain/m.eml"), b"Subject: d\n\nd\n").unwrap();
        let (msgs, failures) = collect(&[
            eml.clone(),
            md.clone(),
            d.path().join("plain"),
            d.path().join("missing"),
        ]);
        let origins: Vec<&str> = msgs.iter().map(|m| m.origin.as_str()).collect();
        assert_eq!(origins.len(), 4, "{origins:?}");
        assert!(origins[3].ends_with("plain/m.eml"), "{origins:?}");
        assert_eq!(origins[0], eml.display().to_string());
        assert!(origins[1].ends_with("cur/2:2,S") && origins[2].ends_with("new/1"));
        assert_eq!(failures.len(), 1);
    }
}
