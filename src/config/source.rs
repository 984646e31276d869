//! Reading the TOML text into [`FileConfig`], with every syntax error and
//! every structural error (unknown key, wrong type) located by line, column
//! and key path.

use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::file::{FileConfig, TOP_KEYS};
use super::ConfigError;

/// Where each key of the document is: its path (`mailbox[1].port`), the span
/// of the key and of its value.
#[derive(Debug, Default)]
pub struct KeyMap {
    text_lines: Vec<usize>,
    entries: Vec<(String, Range<usize>, Range<usize>)>,
}

impl KeyMap {
    fn new(text: &str, root: &DeTable<'_>) -> KeyMap {
        let mut text_lines = vec![0];
        text_lines.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let mut m = KeyMap {
            text_lines,
            entries: Vec::new(),
        };
        m.walk_table("", root);
        m
    }

    fn walk_table(&mut self, prefix: &str, t: &DeTable<'_>) {
        for (k, v) in t.iter() {
            let path = if prefix.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{prefix}.{}", k.get_ref())
            };
            self.entries.push((path.clone(), k.span(), v.span()));
            self.walk_value(&path, v.get_ref());
        }
    }

    fn walk_value(&mut self, path: &str, v: &DeValue<'_>) {
        match v {
            DeValue::Table(t) => self.walk_table(path, t),
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    self.entries.push((p.clone(), item.span(), item.span()));
                    self.walk_value(&p, item.get_ref());
                }
            }
            _ => {}
        }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.text_lines.partition_point(|&s| s <= offset).max(1);
        (line, offset - self.text_lines[line - 1] + 1)
    }

    /// Position of a key (or, for array items, of the item).
    pub fn position(&self, path: &str) -> Option<(usize, usize)> {
        self.entries
            .iter()
            .find(|(p, _, _)| p == path)
            .map(|(_, k, _)| self.line_col(k.start))
    }

    /// The innermost key path whose key or value covers `offset`.
    pub fn path_at(&self, offset: usize) -> Option<&str> {
        self.entries
            .iter()
            .filter(|(_, k, v)| k.contains(&offset) || v.contains(&offset) || k.start == offset)
            .min_by_key(|(_, k, v)| {
                if k.contains(&offset) {
                    k.len()
                } else {
                    v.len()
                }
            })
            .map(|(p, _, _)| p.as_str())
    }
}

/// The parsed file plus the key positions for later error messages.
pub struct Parsed {
    pub file: FileConfig,
    pub keys: KeyMap,
}

/// Parse `text` (from `file`, for messages). All syntax errors, or all
/// structural errors, are returned at once.
pub fn parse(file: &str, text: &str) -> Result<Parsed, Vec<ConfigError>> {
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        let keys = KeyMap::new(text, &DeTable::default());
        // NOTE: only the first syntax error is reported: after it, the
        // parser's recovery mostly produces follow-on errors that mislead.
        return Err(syntax
            .iter()
            .take(1)
            .map(|e| {
                let (line, column) = keys.line_col(e.span().map(|s| s.start).unwrap_or(0));
                ConfigError::Syntax {
                    file: file.to_string(),
                    line,
                    column,
                    reason: e.message().trim().to_string(),
                }
            })
            .collect());
    }
    let keys = KeyMap::new(text, root.get_ref());
    match FileConfig::deserialize(toml::de::Deserializer::from(root.clone())) {
        Ok(file) => Ok(Parsed { file, keys }),
        Err(_) => Err(structural_errors(file, &keys, root.into_inner())),
    }
}

/// serde stops at the first error; go section by section (and item by item
/// for `[[mailbox]]` and `[offices.*]`) to find them all.
fn structural_errors(file: &str, keys: &KeyMap, root: DeTable<'_>) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    // NOTE: after each error the offending key is removed and the section
    // tried again, so two unknown keys in one table are both reported.
    let check = |path: &str, v: &Spanned<DeValue<'_>>, errs: &mut Vec<ConfigError>| {
        let mut v = v.clone();
        for _ in 0..100 {
            let r = match path.split(['[', '.']).next().unwrap_or("") {
                "state_dir" => try_de::<std::path::PathBuf>(&v),
                "store" | "instance" => try_de::<String>(&v),
                "log" => try_de::<super::file::LogFile>(&v),
                "http" => try_de::<super::file::HttpFile>(&v),
                "mailbox" => try_de::<super::file::MailboxFile>(&v),
                "smtp" => try_de::<super::file::SmtpFile>(&v),
                "notify" => try_de::<super::file::NotifyFile>(&v),
                "offices" => try_de::<super::file::OfficeFile>(&v),
                _ => Ok(()),
            };
            let Err(e) = r else { break };
            let err = located(file, keys, path, &e);
            let rest = err
                .key()
                .and_then(|k| k.strip_prefix(path))
                .map(str::to_string);
            errs.push(err);
            match rest {
                Some(rest) if remove_key(v.get_mut(), &rest) => {}
                _ => break,
            }
        }
    };
    for (k, v) in root.iter() {
        let key = k.get_ref().as_ref();
        match key {
            "mailbox" => match v.get_ref() {
                DeValue::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        check(&format!("mailbox[{i}]"), item, &mut errors);
                    }
                }
                _ => errors.push(invalid(
                    file,
                    keys,
                    "mailbox",
                    "must be a list of tables, written `[[mailbox]]`".into(),
                )),
            },
            "offices" => match v.get_ref() {
                DeValue::Table(t) => {
                    for (name, office) in t.iter() {
                        check(&format!("offices.{}", name.get_ref()), office, &mut errors);
                    }
                }
                _ => errors.push(invalid(
                    file,
                    keys,
                    "offices",
                    "must be a table of `[offices.<directorate>]` sections".into(),
                )),
            },
            k if TOP_KEYS.contains(&k) => check(k, v, &mut errors),
            other => errors.push(invalid(
                file,
                keys,
                other,
                format!(
                    "unknown key `{other}`, expected one of {}",
                    TOP_KEYS
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
    errors.sort_by_key(|e| match e {
        ConfigError::Invalid { at: Some(at), .. } => *at,
        _ => (usize::MAX, 0),
    });
    if errors.is_empty() {
        // NOTE: should not happen (the whole-file pass failed, so some
        // section must); keep a message rather than claim success.
        errors.push(invalid(
            file,
            keys,
            "",
            "the file does not match the expected structure".into(),
        ));
    }
    errors
}

/// Remove `.a.b` (array indexes cut the path: `.cc[0]` removes `cc`) from a table.
fn remove_key(v: &mut DeValue<'_>, rel: &str) -> bool {
    let rel = rel.split('[').next().unwrap_or("");
    let segs: Vec<&str> = rel.split('.').filter(|s| !s.is_empty()).collect();
    let Some((last, parents)) = segs.split_last() else {
        return false;
    };
    let mut cur = v;
    for seg in parents {
        let DeValue::Table(t) = cur else { return false };
        let Some(next) = t.get_mut(*seg) else {
            return false;
        };
        cur = next.get_mut();
    }
    match cur {
        DeValue::Table(t) => t.remove(*last).is_some(),
        _ => false,
    }
}

fn try_de<'de, T: Deserialize<'de>>(v: &Spanned<DeValue<'de>>) -> Result<(), toml::de::Error> {
    T::deserialize(ValueDeserializer::from(v.clone())).map(|_| ())
}

/// A structural error, at the innermost key its span points to.
fn located(file: &str, keys: &KeyMap, section: &str, e: &toml::de::Error) -> ConfigError {
    let offset = e.span().map(|s| s.start);
    let path = offset
        .and_then(|o| keys.path_at(o))
        .filter(|p| p.starts_with(section))
        .unwrap_or(section);
    let mut reason = e.message().trim().to_string();
    // serde says "unknown field"; in a config file it is a key.
    if let Some(rest) = reason.strip_prefix("unknown field") {
        reason = format!("unknown key{rest}");
    }
    // NOTE: for an unknown key the innermost span is the table, so name the key itself.
    let path = match unknown_key_name(&reason) {
        Some(k) if !path.ends_with(&format!(".{k}")) && path != k => format!("{path}.{k}"),
        _ => path.to_string(),
    };
    ConfigError::Invalid {
        file: file.to_string(),
        at: offset.map(|o| keys.line_col(o)).or(keys.position(&path)),
        key: path,
        reason,
    }
}

fn unknown_key_name(reason: &str) -> Option<&str> {
    let rest = reason.strip_prefix("unknown key `")?;
    Some(&rest[..rest.find('`')?])
}

fn invalid(file: &str, keys: &KeyMap, key: &str, reason: String) -> ConfigError {
    ConfigError::Invalid {
        file: file.to_string(),
        at: keys.position(key),
        key: key.to_string(),
        reason,
    }
}
