//! What the follow-up adds to every email leje sends: the one-click links
//! (when `followup.public_url` is set), `Reply-To`, and RFC 8058's
//! `List-Unsubscribe` / `List-Unsubscribe-Post`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};

use super::Facts;
use crate::config::Settings;
use crate::links::{email_links, EmailLinks, Signer};
use crate::parse::Language;
use crate::store::Case;

/// The signer for these settings, its key loaded (or created) once per path.
pub fn signer(settings: &Settings) -> Option<Arc<Signer>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Signer>>>> = OnceLock::new();
    let path = Signer::key_path(settings);
    let mut cache = CACHE.get_or_init(Default::default).lock().ok()?;
    if let Some(s) = cache.get(&path) {
        return Some(s.clone());
    }
    match Signer::load_or_create(&path) {
        Ok(s) => {
            let s = Arc::new(s);
            cache.insert(path, s.clone());
            Some(s)
        }
        Err(e) => {
            tracing::error!(error = %e, "no link key: emails go out without one-click links");
            None
        }
    }
}

/// The links of an email about `case`, or `None` without `followup.public_url`.
pub fn links(
    settings: &Settings,
    case: &Case,
    lang: Language,
    now: DateTime<Utc>,
) -> Option<EmailLinks> {
    let base = settings.followup.public_url.as_deref()?;
    let s = signer(settings)?;
    Some(email_links(
        &s,
        base,
        case.id,
        case.stage,
        lang,
        now,
        settings.followup.link_ttl,
    ))
}

/// `Reply-To` and, with links, `List-Unsubscribe` + `List-Unsubscribe-Post`.
pub fn headers(settings: &Settings, facts: &Facts) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(r) = &settings.followup.reply_to {
        out.push(("Reply-To", r.clone()));
    }
    if let Some(l) = &facts.links {
        out.push(("List-Unsubscribe", format!("<{}>", l.unsubscribe)));
        out.push(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()));
    }
    out
}
