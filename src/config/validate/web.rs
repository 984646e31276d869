//! `[web]` → [`WebSettings`].

use std::net::IpAddr;
use std::time::Duration;

use super::Ctx;
use crate::config::web::{WebFile, WebSettings};

pub(super) fn web(cx: &mut Ctx<'_>, w: Option<&WebFile>) -> WebSettings {
    let d = WebSettings::default();
    let Some(w) = w else { return d };
    let public_url = w.public_url.as_ref().map(|u| u.trim().to_string());
    if let Some(u) = &public_url {
        let ok = (u.starts_with("https://") || u.starts_with("http://"))
            && !u.contains(char::is_whitespace)
            && u.split("://").nth(1).is_some_and(|h| !h.is_empty());
        if !ok {
            cx.err(
                "web.public_url",
                format!("`{u}` is not an http(s) URL such as `https://leje.example.al`"),
            );
        }
    }
    let session_idle = cx.duration("web.session_idle", &w.session_idle, d.session_idle);
    let session_max = cx.duration("web.session_max", &w.session_max, d.session_max);
    if session_idle > session_max {
        cx.err(
            "web.session_idle",
            "must not be longer than web.session_max",
        );
    }
    if session_idle < Duration::from_secs(60) {
        cx.err("web.session_idle", "must be at least 1m");
    }
    let stalled_after = cx.duration("web.stalled_after", &w.stalled_after, d.stalled_after);
    let sso_header = w.sso_header.as_ref().map(|h| h.trim().to_ascii_lowercase());
    if let Some(h) = &sso_header {
        if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            cx.err(
                "web.sso_header",
                format!("`{h}` is not a header name such as `X-Forwarded-Email`"),
            );
        }
    }
    let mut trusted_proxies = Vec::new();
    for (i, p) in w.trusted_proxies.iter().enumerate() {
        match p.trim().parse::<IpAddr>() {
            Ok(a) => trusted_proxies.push(a),
            Err(_) => cx.err(
                &format!("web.trusted_proxies[{i}]"),
                format!("`{p}` is not an IP address"),
            ),
        }
    }
    if sso_header.is_some() && trusted_proxies.is_empty() {
        cx.err(
            "web.trusted_proxies",
            "must list the reverse proxies that set web.sso_header (single sign-on is trusted only from them)",
        );
    }
    WebSettings {
        console: w.console.unwrap_or(true),
        public_url,
        session_idle,
        session_max,
        stalled_after,
        sso_header,
        trusted_proxies,
    }
}
