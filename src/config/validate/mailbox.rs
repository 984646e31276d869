//! `[[mailbox]]` sections.

use std::time::Duration;

use super::{Ctx, IDLE_RENEW_LIMIT};
use crate::config::file::{ActionsFile, MailboxFile};
use crate::config::settings::*;
use crate::config::units;
use crate::config::Secret;

pub(super) fn mailbox(cx: &mut Ctx<'_>, p: &str, m: &MailboxFile) -> MailboxSettings {
    let k = |f: &str| format!("{p}.{f}");
    let name = cx.required(&k("name"), &m.name);
    if name
        .chars()
        .any(|c| !(c.is_alphanumeric() || "-_.@".contains(c)))
    {
        cx.err(
            &k("name"),
            format!("`{name}` may contain only letters, digits, `-`, `_`, `.` and `@`"),
        );
    }
    let host = cx.required(&k("host"), &m.host);
    let tls = cx.tls(p, &m.tls, TlsMode::Implicit);
    cx.check_plaintext(p, tls, &host, m.allow_insecure);
    let default_port = if tls == TlsMode::Implicit { 993 } else { 143 };
    let port = cx.port(&k("port"), m.port, default_port);
    let ca_file = m
        .ca_file
        .as_ref()
        .map(|f| cx.existing_file(&k("ca_file"), f));
    let username = cx.required(&k("username"), &m.username);
    let xoauth2 = cx.choice(
        &k("auth"),
        &m.auth,
        &[("password", false), ("xoauth2", true)],
        false,
    );
    let password = cx.secret(
        p,
        "password",
        &m.password_file,
        &m.password_command,
        &m.password_env,
        &m.password_credential,
        !xoauth2,
    );
    let token = cx.secret(
        p,
        "token",
        &m.token_file,
        &m.token_command,
        &m.token_env,
        &m.token_credential,
        xoauth2,
    );
    if xoauth2 && password.is_some() {
        cx.err(
            p,
            "`auth = \"xoauth2\"` uses a `token_*` source; remove the `password_*` key",
        );
    }
    if !xoauth2 && token.is_some() {
        cx.err(p, "a `token_*` source needs `auth = \"xoauth2\"`");
    }
    let placeholder = Secret::Env(String::new());
    let auth = if xoauth2 {
        Auth::XOAuth2(token.unwrap_or(placeholder))
    } else {
        Auth::Password(password.unwrap_or(placeholder))
    };
    let folder = match &m.folder {
        Some(_) => cx.required(&k("folder"), &m.folder),
        None => "INBOX".to_string(),
    };
    let poll_interval = cx.duration(
        &k("poll_interval"),
        &m.poll_interval,
        Duration::from_secs(60),
    );
    let idle_renew = cx.duration(
        &k("idle_renew"),
        &m.idle_renew,
        Duration::from_secs(25 * 60),
    );
    if idle_renew >= IDLE_RENEW_LIMIT {
        cx.err(
            &k("idle_renew"),
            format!(
                "`{}` is too long: servers may drop an IDLE after 29 minutes (RFC 2177)",
                units::format_duration(idle_renew)
            ),
        );
    }
    let batch_size = cx.count(&k("batch_size"), m.batch_size, 1000, 500);
    let max_message_size = cx.size(&k("max_message_size"), &m.max_message_size, 25 << 20);
    let since = m.since.as_ref().and_then(|v| date(cx, &k("since"), v));
    let reconnect_max = cx.duration(
        &k("reconnect_max"),
        &m.reconnect_max,
        Duration::from_secs(300),
    );
    let actions = actions(cx, &k("actions"), m.actions.as_ref(), &folder);
    MailboxSettings {
        name,
        host,
        port,
        tls,
        ca_file,
        username,
        auth,
        folder,
        idle: m.idle.unwrap_or(true),
        poll_interval,
        idle_renew,
        batch_size,
        max_message_size,
        since,
        actions,
        reconnect_max,
    }
}

fn date(cx: &mut Ctx<'_>, key: &str, v: &toml::Value) -> Option<chrono::NaiveDate> {
    let parsed = match v {
        toml::Value::String(s) => chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok(),
        toml::Value::Datetime(dt) if dt.time.is_none() => dt.date.and_then(|d| {
            chrono::NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())
        }),
        _ => None,
    };
    if parsed.is_none() {
        let shown = match v {
            toml::Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        cx.err(key, format!("`{shown}` is not a date such as `2024-01-31`"));
    }
    parsed
}

fn actions(cx: &mut Ctx<'_>, p: &str, a: Option<&ActionsFile>, folder: &str) -> Actions {
    let d = Actions::default();
    let Some(a) = a else { return d };
    let mut one = |name: &str, v: &Option<String>, default: Action| match v {
        None => default,
        Some(s) => match parse_action(s) {
            Ok(Action::Move(f)) if same_folder(&f, folder) => {
                cx.err(
                    &format!("{p}.{name}"),
                    format!("`{s}` moves the message into the watched folder `{folder}` itself"),
                );
                default
            }
            Ok(act) => act,
            Err(e) => {
                cx.err(&format!("{p}.{name}"), e);
                default
            }
        },
    };
    Actions {
        processed: one("processed", &a.processed, d.processed.clone()),
        ignored: one("ignored", &a.ignored, d.ignored.clone()),
        review: one("review", &a.review, d.review.clone()),
        failed: one("failed", &a.failed, d.failed.clone()),
        oversize: one("oversize", &a.oversize, d.oversize.clone()),
    }
}

fn same_folder(a: &str, b: &str) -> bool {
    a == b || (a.eq_ignore_ascii_case("inbox") && b.eq_ignore_ascii_case("inbox"))
}

/// `leave`, `seen`, `keyword:NAME` or `move:FOLDER`.
pub fn parse_action(s: &str) -> Result<Action, String> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "leave" => return Ok(Action::Leave),
        "seen" => return Ok(Action::Seen),
        _ => {}
    }
    if let Some((kind, arg)) = t.split_once(':') {
        let arg = arg.trim();
        match kind.trim().to_ascii_lowercase().as_str() {
            "keyword" => {
                let bad = |c: char| c.is_whitespace() || c.is_control() || "(){%*\"]".contains(c);
                let body = arg.strip_prefix('\\').unwrap_or(arg);
                if body.is_empty() || body.contains(bad) || body.contains('\\') || !arg.is_ascii() {
                    return Err(format!(
                        "`{s}`: `{arg}` is not an IMAP keyword (ASCII, no spaces or `(){{%*\"]\\`)"
                    ));
                }
                return Ok(Action::Keyword(arg.to_string()));
            }
            "move" if arg.is_empty() => {
                return Err(format!(
                    "`{s}` names no folder (write e.g. `move:leje/processed`)"
                ))
            }
            "move" => return Ok(Action::Move(arg.to_string())),
            _ => {}
        }
    }
    Err(format!(
        "`{s}` is not an action: write `leave`, `seen`, `keyword:NAME` or `move:FOLDER`"
    ))
}
