//! Reading local mail for `leje import`: single .eml files, Maildir folders
//! (`cur/` and `new/`) and mbox files (From_ lines, `>From` unescaped).
//!
//! Each message gets a stable origin name: the file's path, or `path#N`
//! (1-based) for the N-th message of an mbox, so importing the same input
//! again maps every message to the same origin and changes nothing.
//!
//! Inputs are streamed: [`Messages`] yields one message at a time (an mbox is
//! read line by line), so memory holds one message, never the folder. A
//! message over the size limit (the daemon's `max_message_size`) is not kept:
//! it is hashed as it streams past and yielded as [`Item::Oversize`] with its
//! size and the Message-ID from its first bytes.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// What is kept of an oversize message's start, to read its Message-ID.
const HEAD: usize = 64 << 10;

/// One message read from disk, or why it was not.
#[derive(Debug)]
pub enum Item {
    /// A message within the size limit.
    Message(LocalMessage),
    /// A message over the size limit: not kept, not parsed.
    Oversize {
        origin: String,
        size: u64,
        /// Hex sha256 of its bytes.
        sha256: String,
        message_id: Option<String>,
    },
    /// A file or directory that could not be read.
    Unreadable(ReadFailure),
}

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

/// The messages under some paths, one at a time, in a stable order.
pub struct Messages {
    /// Files still to read (`named`: given on the command line or in a Maildir,
    /// read whatever their name), in reverse order; directories are listed
    /// when reached, so only names are ever held, never contents.
    todo: Vec<(PathBuf, bool)>,
    mbox: Option<Mbox>,
    max_size: u64,
}

/// Everything under `paths`, one message at a time; messages over `max_size`
/// bytes are yielded as [`Item::Oversize`].
pub fn messages(paths: &[PathBuf], max_size: u64) -> Messages {
    Messages {
        todo: paths.iter().rev().map(|p| (p.clone(), true)).collect(),
        mbox: None,
        max_size,
    }
}

impl Iterator for Messages {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(m) = self.mbox.as_mut() {
                match m.next_message(self.max_size) {
                    Ok(Some(item)) => return Some(item),
                    Ok(None) => self.mbox = None,
                    Err(error) => {
                        let path = m.path.clone();
                        self.mbox = None;
                        return Some(Item::Unreadable(ReadFailure { path, error }));
                    }
                }
            }
            let (path, named) = self.todo.pop()?;
            match self.open(&path, named) {
                Ok(Some(item)) => return Some(item),
                Ok(None) => {}
                Err(error) => return Some(Item::Unreadable(ReadFailure { path, error })),
            }
        }
    }
}

impl Messages {
    /// A file: its message (or starts reading it as an mbox); a directory: its
    /// entries queued.
    fn open(&mut self, path: &Path, named: bool) -> std::io::Result<Option<Item>> {
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() {
            self.queue_dir(path)?;
            return Ok(None);
        }
        let mut f = BufReader::with_capacity(64 << 10, File::open(path)?);
        let is_mbox = f.fill_buf()?.starts_with(b"From ");
        let name = path.display().to_string();
        if is_mbox {
            self.mbox = Some(Mbox::new(path, name, f));
            return Ok(None);
        }
        if !named && !is_eml(path) {
            return Ok(None); // notes and JSON beside the messages
        }
        let size = meta.len();
        if size > self.max_size {
            let (sha256, head, size) = hash_stream(&mut f)?;
            return Ok(Some(Item::Oversize {
                origin: name,
                size,
                sha256,
                message_id: message_id(&head),
            }));
        }
        let mut raw = Vec::with_capacity(size as usize);
        f.read_to_end(&mut raw)?;
        Ok(Some(Item::Message(LocalMessage { origin: name, raw })))
    }

    fn queue_dir(&mut self, path: &Path) -> std::io::Result<()> {
        let is_maildir = path.join("cur").is_dir() || path.join("new").is_dir();
        let dirs: Vec<PathBuf> = if is_maildir {
            // NOTE: tmp/ holds messages still being delivered; they are not read.
            vec![path.join("cur"), path.join("new")]
        } else {
            vec![path.to_owned()]
        };
        let mut all = Vec::new();
        for dir in dirs {
            if is_maildir && !dir.is_dir() {
                continue;
            }
            let mut entries = std::fs::read_dir(&dir)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|e| {
                    !e.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with('.'))
                })
                .collect::<Vec<_>>();
            entries.sort();
            // Maildir entries are messages whatever their names.
            all.extend(entries.into_iter().map(|e| (e, is_maildir)));
        }
        self.todo.extend(all.into_iter().rev());
        Ok(())
    }
}

fn is_eml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
}

/// Hashes the rest of `r`; returns the hex sha256, its first [`HEAD`] bytes and its size.
fn hash_stream(r: &mut impl BufRead) -> std::io::Result<(String, Vec<u8>, u64)> {
    let mut h = Sha256::new();
    let mut head = Vec::new();
    let mut size = 0u64;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        h.update(buf);
        if head.len() < HEAD {
            head.extend_from_slice(&buf[..n.min(HEAD - head.len())]);
        }
        size += n as u64;
        r.consume(n);
    }
    Ok((hex::encode(h.finalize()), head, size))
}

/// The Message-ID in a message's first bytes, if its header is there.
fn message_id(head: &[u8]) -> Option<String> {
    let end = memchr::memmem::find(head, b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| memchr::memmem::find(head, b"\n\n").map(|p| p + 2))?;
    let m = mail_parser::MessageParser::new().parse_headers(&head[..end])?;
    m.message_id().map(str::to_owned)
}

/// An mbox being read, one message at a time: a message starts at a `From `
/// line at the start of the file or after an empty line; the From_ line is
/// dropped, `>From ` (any number of `>`) loses one `>`, and the empty separator
/// line before the next From_ line is removed.
struct Mbox {
    path: PathBuf,
    name: String,
    r: BufReader<File>,
    /// Messages yielded so far.
    n: usize,
    /// The From_ line of the next message was read; false at the start and at the end.
    started: bool,
    line: Vec<u8>,
}

impl Mbox {
    fn new(path: &Path, name: String, r: BufReader<File>) -> Mbox {
        Mbox {
            path: path.to_owned(),
            name,
            r,
            n: 0,
            started: false,
            line: Vec::new(),
        }
    }

    /// The next message; `None` at the end of the file.
    fn next_message(&mut self, max_size: u64) -> std::io::Result<Option<Item>> {
        if !self.started {
            // The first line (a From_ line: checked before) opens the first message.
            if self.n > 0 || self.read_line()? == 0 {
                return Ok(None);
            }
            self.started = true;
        }
        let mut raw: Vec<u8> = Vec::new();
        let mut hash = Sha256::new();
        let mut size = 0u64;
        let mut over = false;
        // The empty line just read, held back until we know whether a From_ line follows.
        let mut held: Option<Vec<u8>> = None;
        let mut any = false;
        let mut prev_blank = false;
        let mut add = |part: &[u8], raw: &mut Vec<u8>| {
            hash.update(part);
            size += part.len() as u64;
            if size > max_size {
                if !over {
                    over = true;
                    raw.truncate(HEAD);
                    raw.shrink_to_fit();
                }
                let room = HEAD.saturating_sub(raw.len());
                raw.extend_from_slice(&part[..part.len().min(room)]);
            } else {
                raw.extend_from_slice(part);
            }
        };
        self.started = false;
        loop {
            if self.read_line()? == 0 {
                break;
            }
            let line = &self.line;
            let blank = trim_eol(line).is_empty();
            if prev_blank && line.starts_with(b"From ") {
                self.started = true;
                break;
            }
            if let Some(h) = held.take() {
                add(&h, &mut raw);
            }
            prev_blank = blank;
            if blank && any {
                held = Some(line.clone());
                continue;
            }
            any = true;
            let quoted = line.iter().take_while(|b| **b == b'>').count();
            if quoted > 0 && line[quoted..].starts_with(b"From ") {
                add(&line[1..], &mut raw);
            } else {
                add(line, &mut raw);
            }
        }
        drop(held); // the separator (or the blank line at the end of the file)
        self.n += 1;
        let origin = format!("{}#{}", self.name, self.n);
        let sha256 = hex::encode(hash.finalize());
        Ok(Some(if over {
            Item::Oversize {
                origin,
                size,
                sha256,
                message_id: message_id(&raw),
            }
        } else {
            Item::Message(LocalMessage { origin, raw })
        }))
    }

    fn read_line(&mut self) -> std::io::Result<usize> {
        self.line.clear();
        self.r.read_until(b'\n', &mut self.line)
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(paths: &[PathBuf], max: u64) -> (Vec<Item>, usize) {
        let all: Vec<Item> = messages(paths, max).collect();
        let bad = all
            .iter()
            .filter(|i| matches!(i, Item::Unreadable(_)))
            .count();
        (all, bad)
    }

    fn raw(i: &Item) -> String {
        match i {
            Item::Message(m) => String::from_utf8_lossy(&m.raw).into_owned(),
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn mbox_is_split_and_unescaped() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("box");
        std::fs::write(&p, b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From here on\n>>From twice\nFrom mid-line is not a separator\n\nFrom c@d Tue Jan  2 00:00:00 2024\r\nSubject: two\r\n\r\nbody\r\n\r\n\r\nFrom e@f Wed Jan  3 00:00:00 2024\n\nFrom g@h Thu Jan  4 00:00:00 2024\nSubject: four\n\n\n").unwrap();
        let (all, bad) = read(std::slice::from_ref(&p), 1 << 20);
        assert_eq!(bad, 0);
        let texts: Vec<String> = all.iter().map(raw).collect();
        assert_eq!(
            texts,
            vec![
                "Subject: one\n\nFrom here on\n>From twice\nFrom mid-line is not a separator\n",
                "Subject: two\r\n\r\nbody\r\n\r\n",
                "\n",
                "Subject: four\n\n",
            ]
        );
        let origins: Vec<String> = all
            .iter()
            .map(|i| match i {
                Item::Message(m) => m.origin.clone(),
                _ => unreachable!(),
            })
            .collect();
        assert!(origins[3].ends_with("box#4"), "{origins:?}");
    }

    #[test]
    fn oversize_messages_are_hashed_not_kept() {
        let d = tempfile::tempdir().unwrap();
        let body = "x".repeat(5000);
        let one = format!("Message-ID: <big@x>\nSubject: big\n\n{body}\n");
        let eml = d.path().join("big.eml");
        std::fs::write(&eml, &one).unwrap();
        let mbox = d.path().join("box");
        std::fs::write(
            &mbox,
            format!("From a Mon Jan  1 00:00:00 2024\n{one}\nFrom b Mon Jan  1 00:00:00 2024\nSubject: small\n\nhi\n"),
        )
        .unwrap();
        let (all, _) = read(&[eml, mbox], 1000);
        assert_eq!(all.len(), 3);
        let sha = hex::encode(Sha256::digest(one.as_bytes()));
        for i in &all[..2] {
            match i {
                Item::Oversize {
                    size,
                    sha256,
                    message_id,
                    ..
                } => {
                    assert_eq!(*size, one.len() as u64);
                    assert_eq!(*sha256, sha);
                    assert_eq!(message_id.as_deref(), Some("big@x"));
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(raw(&all[2]), "Subject: small\n\nhi\n");
    }

    #[test]
    fn maildir_and_files_are_read_in_order() {
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
        let (all, bad) = read(
            &[
                eml.clone(),
                md.clone(),
                d.path().join("plain"),
                d.path().join("missing"),
            ],
            1 << 20,
        );
        let origins: Vec<&str> = all
            .iter()
            .filter_map(|i| match i {
                Item::Message(m) => Some(m.origin.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(origins.len(), 4, "{origins:?}");
        assert!(origins[3].ends_with("plain/m.eml"), "{origins:?}");
        assert_eq!(origins[0], eml.display().to_string());
        assert!(origins[1].ends_with("cur/2:2,S") && origins[2].ends_with("new/1"));
        assert_eq!(bad, 1);
    }
}
