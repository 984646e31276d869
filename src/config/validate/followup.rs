//! `[followup]` → [`FollowupSettings`].

use std::time::Duration;

use super::{is_loopback, Ctx};
use crate::config::followup::{FollowupFile, FollowupSettings, DEFAULT_AFTER};
use crate::store::Stage;

pub(super) fn followup(cx: &mut Ctx<'_>, f: Option<&FollowupFile>) -> FollowupSettings {
    let d = FollowupSettings::default();
    let Some(f) = f else { return d };
    let interval = cx.duration("followup.interval", &f.interval, d.interval);
    let max_reminders = match f.max_reminders {
        None => d.max_reminders,
        Some(n) if (0..=20).contains(&n) => n as u32,
        Some(n) => {
            cx.err(
                "followup.max_reminders",
                format!("`{n}` must be between 0 and 20"),
            );
            d.max_reminders
        }
    };
    let window = match &f.window {
        None => d.window,
        Some(w) => parse_window(w).unwrap_or_else(|e| {
            cx.err("followup.window", e);
            d.window
        }),
    };
    let mut after: Vec<(Stage, Duration)> = Vec::new();
    for (stage, _) in DEFAULT_AFTER {
        let key = format!("followup.after.{stage}");
        let default = d.after.iter().find(|(s, _)| *s == stage).map(|(_, v)| *v);
        let v = f.after.get(stage.as_str()).cloned();
        if let Some(dur) = default {
            after.push((stage, cx.duration(&key, &v, dur)));
        }
    }
    for k in f.after.keys() {
        if !DEFAULT_AFTER.iter().any(|(s, _)| s.as_str() == k) {
            let names: Vec<&str> = DEFAULT_AFTER.iter().map(|(s, _)| s.as_str()).collect();
            cx.err(
                &format!("followup.after.{k}"),
                format!(
                    "`{k}` is not a reminded stage; expected one of: {}",
                    names.join(", ")
                ),
            );
        }
    }
    let public_url = f.public_url.as_deref().map(str::trim).and_then(|u| {
        let host = u.strip_prefix("https://").or_else(|| {
            u.strip_prefix("http://")
                .filter(|h| is_loopback(host_of(h)))
        });
        match host {
            Some(h) if !h.is_empty() && !u.contains(char::is_whitespace) => {
                Some(u.trim_end_matches('/').to_string())
            }
            _ => {
                cx.err(
                    "followup.public_url",
                    format!("`{u}` must be an https:// URL (http:// only on loopback)"),
                );
                None
            }
        }
    });
    let link_ttl = cx.duration("followup.link_ttl", &f.link_ttl, d.link_ttl);
    let reply_to = f.reply_to.as_deref().map(str::trim).and_then(|r| {
        if r.parse::<lettre::message::Mailbox>().is_ok() {
            Some(r.to_string())
        } else {
            cx.err(
                "followup.reply_to",
                format!("`{r}` is not an email address"),
            );
            None
        }
    });
    FollowupSettings {
        reminders: f.reminders.unwrap_or(d.reminders),
        interval,
        max_reminders,
        window,
        after,
        public_url,
        link_ttl,
        key_file: f.key_file.as_ref().map(|p| cx.path(p)),
        reply_to,
    }
}

fn host_of(rest: &str) -> &str {
    let h = rest.split(['/', '?', '#']).next().unwrap_or("");
    match h.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => h.split(':').next().unwrap_or(""),
    }
}

/// `09:00-19:00` → minutes after midnight.
pub fn parse_window(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{s}` is not a window such as `09:00-19:00`");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let hm = |t: &str| -> Option<u32> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
    };
    let (a, b) = (hm(a).ok_or_else(bad)?, hm(b).ok_or_else(bad)?);
    if a >= b {
        return Err(format!("`{s}`: the window must end after it starts"));
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(parse_window("09:00-19:00"), Ok((540, 1140)));
        assert!(parse_window("19:00-09:00").is_err());
        assert!(parse_window("9-19").is_err());
    }
}
