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
    /// Structural errors (unknown keys, wrong types). When there are any,
    /// `file` holds the rest of the document without the offending keys, so
    /// the values can still be checked and every error reported at once.
    pub errors: Vec<ConfigError>,
    /// Key paths left out of `file` because of `errors`; errors the value
    /// checks find under them (e.g. "is required") are consequences, not news.
    pub removed: Vec<String>,
}

/// Parse `text` (from `file`, for messages). A syntax error is fatal (`Err`);
/// structural errors are returned in [`Parsed::errors`].
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
    if let Ok(cfg) = FileConfig::deserialize(toml::de::Deserializer::from(root.clone())) {
        return Ok(Parsed {
            file: cfg,
            keys,
            errors: Vec::new(),
            removed: Vec::new(),
        });
    }
    let span = root.span();
    let mut root = root.into_inner();
    let mut cx = Structural {
        file,
        keys: &keys,
        errors: Vec::new(),
        removed: Vec::new(),
    };
    cx.clean_root(&mut root);
    cx.errors.sort_by_key(|e| match e {
        ConfigError::Invalid { at: Some(at), .. } => *at,
        _ => (usize::MAX, 0),
    });
    let Structural {
        mut errors,
        removed,
        ..
    } = cx;
    let cleaned = FileConfig::deserialize(toml::de::Deserializer::from(Spanned::new(span, root)));
    match cleaned {
        Ok(cfg) if !errors.is_empty() => Ok(Parsed {
            file: cfg,
            keys,
            errors,
            removed,
        }),
        // NOTE: should not happen (the whole-file pass failed, so some section
        // must have, and the cleaned file passes); keep a message rather than
        // claim success.
        Ok(_) | Err(_) => {
            errors.push(invalid(
                file,
                &keys,
                "",
                "the file does not match the expected structure".into(),
            ));
            Err(errors)
        }
    }
}

/// serde stops at the first error; go section by section (and item by item
/// for `[[mailbox]]` and `[offices.*]`), removing each offending key and
/// trying again, to find them all.
struct Structural<'a> {
    file: &'a str,
    keys: &'a KeyMap,
    errors: Vec<ConfigError>,
    removed: Vec<String>,
}

impl Structural<'_> {
    fn clean_root(&mut self, root: &mut DeTable<'_>) {
        let names: Vec<String> = root.iter().map(|(k, _)| k.get_ref().to_string()).collect();
        for key in names {
            let Some(v) = root.get_mut(key.as_str()) else {
                continue;
            };
            let keep = match (key.as_str(), v.get_mut()) {
                ("mailbox", DeValue::Array(items)) => {
                    for (i, item) in items.iter_mut().enumerate() {
                        if !self.clean(&format!("mailbox[{i}]"), item) {
                            // NOTE: emptied, not removed, so later indexes stay right.
                            *item.get_mut() = DeValue::Table(DeTable::default());
                        }
                    }
                    true
                }
                ("mailbox", _) => self.fail(
                    "mailbox",
                    "must be a list of tables, written `[[mailbox]]`".into(),
                ),
                ("offices", DeValue::Table(t)) => {
                    let mut bad = Vec::new();
                    for (name, office) in t.iter_mut() {
                        if !self.clean(&format!("offices.{}", name.get_ref()), office) {
                            bad.push(name.get_ref().to_string());
                        }
                    }
                    for name in bad {
                        t.remove(name.as_str());
                    }
                    true
                }
                ("offices", _) => self.fail(
                    "offices",
                    "must be a table of `[offices.<directorate>]` sections".into(),
                ),
                (k, _) if TOP_KEYS.contains(&k) => self.clean(&key, v),
                (other, _) => self.fail(
                    other,
                    format!(
                        "unknown key `{other}`, expected one of {}",
                        TOP_KEYS
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            };
            if !keep {
                root.remove(key.as_str());
            }
        }
    }

    /// Record an error for `key`, whose value is dropped. Returns false (keep nothing).
    fn fail(&mut self, key: &str, reason: String) -> bool {
        self.errors.push(invalid(self.file, self.keys, key, reason));
        self.removed.push(key.to_string());
        false
    }

    /// Deserialize one section until it passes, removing offending keys.
    /// False when the section as a whole is unusable.
    fn clean(&mut self, path: &str, v: &mut Spanned<DeValue<'_>>) -> bool {
        for _ in 0..100 {
            let r = match path.split(['[', '.']).next().unwrap_or("") {
                "state_dir" => try_de::<std::path::PathBuf>(v),
                "store" | "instance" => try_de::<String>(v),
                "log" => try_de::<super::file::LogFile>(v),
                "http" => try_de::<super::file::HttpFile>(v),
                "limits" => try_de::<super::file::LimitsFile>(v),
                "web" => try_de::<super::web::WebFile>(v),
                "mailbox" => try_de::<super::file::MailboxFile>(v),
                "smtp" => try_de::<super::file::SmtpFile>(v),
                "notify" => try_de::<super::file::NotifyFile>(v),
                "offices" => try_de::<super::file::OfficeFile>(v),
                "citizenship" => try_de::<super::citizenship::CitizenshipFile>(v),
                "followup" => try_de::<super::followup::FollowupFile>(v),
                "trust" => try_de::<super::trust::TrustFile>(v),
                _ => Ok(()),
            };
            let Err(e) = r else { return true };
            let err = located(self.file, self.keys, path, &e);
            let rest = err
                .key()
                .and_then(|k| k.strip_prefix(path))
                .map(str::to_string);
            self.errors.push(err);
            let removed =
                rest.and_then(|rest| remove_key(v.get_mut(), &rest).map(|r| format!("{path}{r}")));
            match removed {
                Some(removed) => self.removed.push(removed),
                None => {
                    self.removed.push(path.to_string());
                    return false;
                }
            }
        }
        self.removed.push(path.to_string());
        false
    }
}

/// Remove `.a.b` (array indexes cut the path: `.cc[0]` removes `cc`) from a
/// table; returns the removed relative path.
fn remove_key<'r>(v: &mut DeValue<'_>, rel: &'r str) -> Option<&'r str> {
    let rel = rel.split('[').next().unwrap_or("");
    let segs: Vec<&str> = rel.split('.').filter(|s| !s.is_empty()).collect();
    let (last, parents) = segs.split_last()?;
    let mut cur = v;
    for seg in parents {
        let DeValue::Table(t) = cur else { return None };
        cur = t.get_mut(*seg)?.get_mut();
    }
    match cur {
        DeValue::Table(t) => t.remove(*last).map(|_| rel),
        _ => None,
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
    let mut reason = humanize(e.message().trim());
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

/// serde's wording, in the house style (values in backticks, TOML words).
fn humanize(msg: &str) -> String {
    if msg.contains("untagged enum CommandLine") {
        return "expected a command: a string, or a list of strings such as \
                `[\"pass\", \"show\", \"leje/imap\"]`"
            .into();
    }
    let mut m = msg
        .replace("expected i64", "expected an integer")
        .replace(
            "expected a sequence",
            "expected a list such as `[\"a\", \"b\"]`",
        )
        .replace("expected a boolean", "expected `true` or `false`");
    // `invalid type: string "993", expected …` → `invalid type: string `"993"`, expected …`
    if let Some(rest) = m.strip_prefix("invalid type: string \"") {
        if let Some(end) = rest.find("\", expected") {
            m = format!(
                "invalid type: string `\"{}\"`{}",
                &rest[..end],
                &rest[end + 1..]
            );
        }
    }
    m
}
