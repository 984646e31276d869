//! File → runtime settings. Every check runs and every failure is collected,
//! so `leje check-config` shows an operator all problems in one go.

mod citizenship;
mod ctx;
mod followup;
mod limits;
mod mailbox;
mod outgoing;
mod trust;
mod web;

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::file::FileConfig;
use super::settings::*;
use super::source::KeyMap;
use super::{ConfigError, EMBEDDED};
use crate::cli::LogFormat;

pub(crate) use ctx::Ctx;
pub use mailbox::parse_action;

/// RFC 2177: clients should re-issue IDLE at least every 29 minutes.
const IDLE_RENEW_LIMIT: Duration = Duration::from_secs(29 * 60);

/// Is `host` a loopback name or address (`localhost`, 127.0.0.0/8, `::1`)?
/// Plaintext connections are allowed only to these.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim().trim_end_matches('.');
    if h.eq_ignore_ascii_case("localhost") || h.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    let h = h
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(h);
    h.parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// Convert and validate. `path` = the file (None: embedded defaults); `keys`
/// locates keys for line numbers.
pub(crate) fn to_settings(
    f: &FileConfig,
    path: Option<&Path>,
    keys: Option<&KeyMap>,
) -> Result<Settings, Vec<ConfigError>> {
    let mut cx = Ctx {
        file: path.map_or(EMBEDDED.to_string(), |p| p.display().to_string()),
        keys,
        base: path.map(|p| p.parent().unwrap_or(Path::new("")).to_path_buf()),
        errors: Vec::new(),
    };
    let cx = &mut cx;

    let state_dir = match &f.state_dir {
        Some(p) if p.as_os_str().is_empty() => {
            cx.err("state_dir", "must not be empty");
            PathBuf::new()
        }
        Some(p) => cx.path(p),
        None => default_state_dir(),
    };
    let store_url = match &f.store {
        None => format!("sqlite:{}", state_dir.join("leje.db").display()),
        Some(s) => {
            let s = s.trim();
            if !(s.starts_with("sqlite:")
                || s.starts_with("postgres://")
                || s.starts_with("postgresql://"))
            {
                cx.err(
                    "store",
                    format!("`{s}` is not a store URL (`sqlite:PATH` or `postgres://…`)"),
                );
            }
            match s.strip_prefix("sqlite:") {
                // Like every path in the file, relative to its directory.
                Some(rest)
                    if !rest.starts_with('/')
                        && !rest.starts_with(":memory:")
                        && !rest.is_empty() =>
                {
                    format!("sqlite:{}", cx.path(Path::new(rest)).display())
                }
                _ => s.to_string(),
            }
        }
    };
    let instance = match &f.instance {
        Some(_) => cx.required("instance", &f.instance),
        None => hostname(),
    };

    let log = {
        let l = f.log.as_ref();
        let format = cx.choice(
            "log.format",
            &l.and_then(|l| l.format.clone()),
            &[
                ("auto", LogFormat::Auto),
                ("text", LogFormat::Text),
                ("json", LogFormat::Json),
            ],
            LogFormat::Auto,
        );
        let level = l
            .and_then(|l| l.level.clone())
            .unwrap_or_else(|| "info".into());
        if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&level) {
            cx.err("log.level", format!("`{level}` is not a log filter: {e}"));
        }
        LogSettings { format, level }
    };

    let http = {
        let h = f.http.as_ref();
        let listen_s = h
            .and_then(|h| h.listen.clone())
            .unwrap_or_else(|| "127.0.0.1:9187".into());
        let listen = match listen_s.parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                cx.err(
                    "http.listen",
                    format!("`{listen_s}` is not an address:port such as `127.0.0.1:9187`"),
                );
                SocketAddr::from(([127, 0, 0, 1], 9187))
            }
        };
        let stale_after = cx.duration(
            "http.stale_after",
            &h.and_then(|h| h.stale_after.clone()),
            Duration::from_secs(15 * 60),
        );
        (h.and_then(|h| h.enabled) == Some(true)).then_some(HttpSettings {
            listen,
            stale_after,
        })
    };

    let mut names = BTreeSet::new();
    let mut mailboxes = Vec::new();
    for (i, m) in f.mailbox.iter().enumerate() {
        let mb = mailbox::mailbox(cx, &format!("mailbox[{i}]"), m);
        if !mb.name.is_empty() && !names.insert(mb.name.clone()) {
            cx.err(
                &format!("mailbox[{i}].name"),
                format!(
                    "`{}` is already used by another mailbox; names must be unique",
                    mb.name
                ),
            );
        }
        mailboxes.push(mb);
    }

    let limits = limits::limits(cx, f.limits.as_ref());
    let web = web::web(cx, f.web.as_ref());
    let smtp = f.smtp.as_ref().map(|s| outgoing::smtp(cx, s));
    let notify = outgoing::notify(cx, f.notify.as_ref());
    let offices = outgoing::offices(cx, &f.offices);
    let citizenship = citizenship::citizenship(cx, f.citizenship.as_ref());
    let followup = followup::followup(cx, f.followup.as_ref());
    let trust = trust::trust(cx, f.trust.as_ref(), &notify);

    if !cx.errors.is_empty() {
        let mut errors = std::mem::take(&mut cx.errors);
        // In file order; keys without a position (embedded defaults) keep theirs.
        errors.sort_by_key(|e| match e {
            ConfigError::Invalid { at: Some(at), .. } => *at,
            _ => (usize::MAX, 0),
        });
        return Err(errors);
    }
    Ok(Settings {
        source: path.map(Path::to_path_buf),
        state_dir,
        store_url,
        instance,
        log,
        http,
        limits,
        web,
        mailboxes,
        smtp,
        notify,
        offices,
        citizenship,
        followup,
        trust,
    })
}

fn default_state_dir() -> PathBuf {
    // NOTE: systemd's StateDirectory= may list several, separated by ':'; ours is the first.
    std::env::var("STATE_DIRECTORY")
        .ok()
        .and_then(|s| s.split(':').next().map(str::to_string))
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/leje"))
}

fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "leje".into())
}
