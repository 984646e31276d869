//! What the Debian package and the README promise a new administrator (issue 22): the
//! shipped /etc/leje/leje.toml fails `check-config` naming what is missing until it is
//! filled in; every flag (with its default) and every config key is in the README; the
//! hidden `leje generate` writes a man page per command and the completions.
//! (Building and installing the package itself is scripts/package-check, run by .ci/run.)

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn leje(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leje"))
        .args(args)
        .env_remove("LEJE_CONFIG")
        .env_remove("LEJE_STORE")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .expect("run leje")
}

#[test]
fn shipped_config_names_what_is_missing_until_filled_in() {
    let shipped = repo().join("debian/leje.toml");
    let out = leje(&["check-config", shipped.to_str().unwrap()]);
    let err =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(78), "{err}");
    for key in [
        "mailbox[0].host",
        "mailbox[0].username",
        "smtp.host",
        "smtp.from",
    ] {
        assert!(
            err.contains(key),
            "check-config does not name `{key}`: {err}"
        );
    }

    // Filled in as the comments ask, it is valid: nothing else is missing.
    let text = std::fs::read_to_string(&shipped).unwrap();
    let mut filled = String::new();
    let mut hosts = ["imap.example.al", "smtp.example.al"].into_iter();
    let mut replaced = 0;
    for line in text.lines() {
        let value = match line {
            "host = \"\"" => Some(format!("host = \"{}\"", hosts.next().unwrap())),
            "username = \"\"" => Some("username = \"permits@example.al\"".into()),
            "from = \"\"" => Some("from = \"Agency <permits@example.al>\"".into()),
            _ => None,
        };
        replaced += usize::from(value.is_some());
        filled.push_str(value.as_deref().unwrap_or(line));
        filled.push('\n');
    }
    assert_eq!(
        replaced, 4,
        "the shipped config's empty values moved: {text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leje.toml");
    std::fs::write(&path, filled).unwrap();
    let out = leje(&["check-config", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The visible subcommands listed under `Commands:` in `leje PATH --help`.
fn subcommands(path: &[&str]) -> Vec<String> {
    let mut args = path.to_vec();
    args.push("--help");
    let help = String::from_utf8(leje(&args).stdout).unwrap();
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command path (`[]`, `["cases"]`, `["cases", "list"]`, …).
fn all_commands() -> Vec<Vec<String>> {
    let mut out = vec![vec![]];
    let mut i = 0;
    while i < out.len() {
        let path: Vec<&str> = out[i].iter().map(String::as_str).collect();
        for c in subcommands(&path) {
            let mut p = out[i].clone();
            p.push(c);
            out.push(p);
        }
        i += 1;
    }
    out
}

#[test]
fn readme_documents_every_flag_with_its_default() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let commands = all_commands();
    assert!(commands.len() > 10, "{commands:?}");
    let mut checked = BTreeSet::new();
    for path in &commands {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = String::from_utf8(leje(&args).stdout).unwrap();
        // `--long-help` layout: a flag line, its description, then `[default: X]`.
        let mut flag: Option<String> = None;
        for line in help.lines() {
            let t = line.trim_start();
            if let Some(f) = t
                .split([',', ' ', '='])
                .map(str::trim)
                .find(|w| w.starts_with("--") && w.len() > 2)
                .filter(|_| t.starts_with('-'))
            {
                if !["--help", "--version"].contains(&f) {
                    assert!(
                        readme.contains(f),
                        "README.md does not document `{f}` of `leje {}`",
                        path.join(" ")
                    );
                    checked.insert(f.to_owned());
                }
                flag = Some(f.to_owned());
            } else if let (Some(f), Some(d)) = (&flag, t.strip_prefix("[default: ")) {
                let d = d.trim_end_matches(']');
                assert!(
                    readme
                        .lines()
                        .any(|l| l.contains(f.as_str()) && l.contains(d)),
                    "README.md has no line giving `{f}`'s default `{d}`"
                );
            }
        }
    }
    assert!(checked.contains("--limit"), "{checked:?}");
}

#[test]
fn readme_documents_every_config_key() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let example = std::fs::read_to_string(repo().join("config.example.toml")).unwrap();
    let mut keys = BTreeSet::new();
    for line in example.lines() {
        let t = line.trim_start_matches('#').trim_start();
        let Some((k, _)) = t.split_once('=') else {
            continue;
        };
        let k = k.trim();
        if !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            keys.insert(k.to_owned());
        }
    }
    assert!(
        keys.contains("allow_insecure") && keys.len() > 40,
        "{keys:?}"
    );
    let missing: Vec<_> = keys
        .iter()
        .filter(|k| !readme.contains(&format!("`{k}`")) && !readme.contains(&format!("`{k} =")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not document: {missing:?}"
    );
}

#[test]
fn generate_writes_a_man_page_per_command_and_completions() {
    let dir = tempfile::tempdir().unwrap();
    let out = leje(&["generate", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for path in all_commands() {
        let name = std::iter::once("leje".to_owned())
            .chain(path.iter().cloned())
            .collect::<Vec<_>>()
            .join("-");
        let page = dir.path().join("man").join(format!("{name}.1"));
        let text =
            std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        assert!(text.contains(".TH"), "{name}: not a man page");
    }
    let top = std::fs::read_to_string(dir.path().join("man/leje.1")).unwrap();
    assert!(
        top.contains(env!("CARGO_PKG_VERSION")),
        "no version in leje.1"
    );
    assert!(!top.contains("generate"), "the hidden command is in leje.1");
    for (file, needle) in [
        ("leje.bash", "complete"),
        ("_leje", "#compdef leje"),
        ("leje.fish", "complete -c leje"),
    ] {
        let text = std::fs::read_to_string(dir.path().join("completions").join(file)).unwrap();
        assert!(text.contains(needle), "{file}");
        assert!(text.contains("messages"), "{file} lacks the subcommands");
        assert!(
            !text.contains("generate"),
            "{file} offers the hidden command"
        );
    }
}
