//! File → runtime settings. Every check runs and every failure is collected,
//! so `leje check-config` shows an operator all problems in one go.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::file::{
    ActionsFile, CommandLine, FileConfig, MailboxFile, NotifyFile, OfficeFile, SmtpFile,
};
use super::settings::*;
use super::source::KeyMap;
use super::units::{self, NumOrText};
use super::{ConfigError, Secret, EMBEDDED};
use crate::cli::LogFormat;
use crate::parse::Language;

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

pub(crate) struct Ctx<'a> {
    file: String,
    keys: Option<&'a KeyMap>,
    base: Option<PathBuf>,
    errors: Vec<ConfigError>,
}

impl Ctx<'_> {
    fn err(&mut self, key: &str, reason: impl Into<String>) {
        let mut at = None;
        if let Some(keys) = self.keys {
            let mut k = key;
            // A missing key has no position; point at the nearest enclosing one.
            loop {
                if let Some(p) = keys.position(k) {
                    at = Some(p);
                    break;
                }
                match k.rfind(['.', '[']) {
                    Some(i) => k = &k[..i],
                    None => break,
                }
            }
        }
        self.errors.push(ConfigError::Invalid {
            file: self.file.clone(),
            at,
            key: key.to_string(),
            reason: reason.into(),
        });
    }

    /// Relative paths are relative to the config file's directory.
    fn path(&self, p: &Path) -> PathBuf {
        match &self.base {
            Some(base) if p.is_relative() => base.join(p),
            _ => p.to_path_buf(),
        }
    }

    fn duration(&mut self, key: &str, v: &Option<NumOrText>, default: Duration) -> Duration {
        match v.as_ref().map(units::parse_duration) {
            None => default,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                self.err(key, e);
                default
            }
        }
    }

    fn size(&mut self, key: &str, v: &Option<NumOrText>, default: u64) -> u64 {
        match v.as_ref().map(units::parse_size) {
            None => default,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                self.err(key, e);
                default
            }
        }
    }

    fn port(&mut self, key: &str, v: Option<i64>, default: u16) -> u16 {
        match v {
            None => default,
            Some(p) => match u16::try_from(p) {
                Ok(p) if p > 0 => p,
                _ => {
                    self.err(key, format!("`{p}` is not a port number (1-65535)"));
                    default
                }
            },
        }
    }

    fn count(&mut self, key: &str, v: Option<i64>, max: i64, default: u32) -> u32 {
        match v {
            None => default,
            Some(n) if (1..=max).contains(&n) => n as u32,
            Some(n) => {
                self.err(key, format!("`{n}` is out of range (1-{max})"));
                default
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        key: &str,
        v: &Option<String>,
        options: &[(&str, T)],
        default: T,
    ) -> T {
        let Some(s) = v else { return default };
        match options
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s.trim()))
        {
            Some((_, t)) => *t,
            None => {
                let names: Vec<String> = options.iter().map(|(n, _)| format!("`{n}`")).collect();
                self.err(key, format!("`{s}` is not one of {}", names.join(", ")));
                default
            }
        }
    }

    fn required(&mut self, key: &str, v: &Option<String>) -> String {
        match v.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => s.to_string(),
            Some(_) => {
                self.err(key, "must not be empty");
                String::new()
            }
            None => {
                self.err(key, "is required");
                String::new()
            }
        }
    }

    fn optional(&mut self, key: &str, v: &Option<String>) -> Option<String> {
        v.is_some().then(|| self.required(key, v))
    }

    fn tls(&mut self, prefix: &str, v: &Option<String>, default: TlsMode) -> TlsMode {
        let opts = [
            ("implicit", TlsMode::Implicit),
            ("starttls", TlsMode::StartTls),
            ("none", TlsMode::None),
        ];
        self.choice(&format!("{prefix}.tls"), v, &opts, default)
    }

    fn check_plaintext(&mut self, prefix: &str, tls: TlsMode, host: &str, allow: Option<bool>) {
        if tls == TlsMode::None && !host.is_empty() && !is_loopback(host) && allow != Some(true) {
            self.err(
                &format!("{prefix}.tls"),
                format!(
                    "`none` sends the password in clear; it is allowed only to a loopback host \
                     (`localhost`, 127.0.0.0/8, `::1`), not `{host}` (set `allow_insecure = true` \
                     to force it)"
                ),
            );
        }
    }

    fn existing_file(&mut self, key: &str, p: &Path) -> PathBuf {
        let p = self.path(p);
        if let Err(e) = std::fs::metadata(&p) {
            if e.kind() == std::io::ErrorKind::NotFound {
                self.err(key, format!("`{}` does not exist", p.display()));
            }
            // NOTE: other errors (permission denied) are not reported: check-config
            // may run as another user than the service.
        }
        p
    }

    /// Exactly one (or, if not `required`, at most one) of the four secret sources.
    #[allow(clippy::too_many_arguments)]
    fn secret(
        &mut self,
        prefix: &str,
        what: &str,
        file: &Option<PathBuf>,
        command: &Option<CommandLine>,
        env: &Option<String>,
        credential: &Option<String>,
        required: bool,
    ) -> Option<Secret> {
        let names = [
            format!("{what}_file"),
            format!("{what}_command"),
            format!("{what}_env"),
            format!("{what}_credential"),
        ];
        let set = [
            file.is_some(),
            command.is_some(),
            env.is_some(),
            credential.is_some(),
        ];
        let given: Vec<&String> = names
            .iter()
            .zip(set)
            .filter(|(_, s)| *s)
            .map(|(n, _)| n)
            .collect();
        let all = names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        match given.len() {
            0 if required => {
                self.err(prefix, format!("needs a {what}: set one of {all}"));
                return None;
            }
            0 => return None,
            1 => {}
            _ => {
                let list = given.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>();
                self.err(
                    &format!("{prefix}.{}", given[1]),
                    format!("set only one {what} source; found {}", list.join(" and ")),
                );
                return None;
            }
        }
        let key = format!("{prefix}.{}", given[0]);
        if let Some(p) = file {
            return Some(Secret::File(self.existing_file(&key, p)));
        }
        if let Some(c) = command {
            let argv = c.argv();
            if argv.first().is_none_or(|p| p.trim().is_empty()) {
                self.err(&key, "must name a program");
                return None;
            }
            let program = Path::new(&argv[0]);
            if program.is_absolute() && !program.exists() {
                self.err(&key, format!("program `{}` does not exist", argv[0]));
            }
            return Some(Secret::Command(argv));
        }
        if let Some(e) = env {
            if e.is_empty() || e.contains(['=', '\0']) {
                self.err(&key, format!("`{e}` is not an environment variable name"));
                return None;
            }
            return Some(Secret::Env(e.clone()));
        }
        if let Some(c) = credential {
            if c.is_empty() || c.contains(['/', '\0']) || c == "." || c == ".." {
                self.err(&key, format!("`{c}` is not a credential name"));
                return None;
            }
            return Some(Secret::Credential(c.clone()));
        }
        None
    }
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
            s.to_string()
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
        let mb = mailbox(cx, &format!("mailbox[{i}]"), m);
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

    let smtp = f.smtp.as_ref().map(|s| smtp(cx, s));
    let notify = notify(cx, f.notify.as_ref());
    let offices = offices(cx, &f.offices);

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
        mailboxes,
        smtp,
        notify,
        offices,
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

fn mailbox(cx: &mut Ctx<'_>, p: &str, m: &MailboxFile) -> MailboxSettings {
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
    let batch_size = cx.count(&k("batch_size"), m.batch_size, 1000, 50);
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

fn smtp(cx: &mut Ctx<'_>, s: &SmtpFile) -> SmtpSettings {
    let p = "smtp";
    let host = cx.required("smtp.host", &s.host);
    let tls = cx.tls(p, &s.tls, TlsMode::StartTls);
    cx.check_plaintext(p, tls, &host, s.allow_insecure);
    let default_port = match tls {
        TlsMode::Implicit => 465,
        TlsMode::StartTls => 587,
        TlsMode::None => 25,
    };
    let port = cx.port("smtp.port", s.port, default_port);
    let ca_file = s
        .ca_file
        .as_ref()
        .map(|f| cx.existing_file("smtp.ca_file", f));
    let username = cx.optional("smtp.username", &s.username);
    let password = cx.secret(
        p,
        "password",
        &s.password_file,
        &s.password_command,
        &s.password_env,
        &s.password_credential,
        username.is_some(),
    );
    if username.is_none() && password.is_some() {
        cx.err(
            "smtp.username",
            "is required when a `password_*` source is set",
        );
    }
    let from = cx.required("smtp.from", &s.from);
    if !from.is_empty() && from.parse::<lettre::message::Mailbox>().is_err() {
        cx.err(
            "smtp.from",
            format!("`{from}` is not a mailbox such as `leje <permits@example.al>`"),
        );
    }
    let mut cc = Vec::new();
    for (i, c) in s.cc.iter().flatten().enumerate() {
        if c.trim().parse::<lettre::message::Mailbox>().is_err() {
            cx.err(
                &format!("smtp.cc[{i}]"),
                format!("`{c}` is not an email address"),
            );
        }
        cc.push(c.trim().to_string());
    }
    SmtpSettings {
        host,
        port,
        tls,
        ca_file,
        username,
        password,
        from,
        cc,
        retry_for: cx.duration(
            "smtp.retry_for",
            &s.retry_for,
            Duration::from_secs(2 * 86_400),
        ),
        max_per_recipient_per_day: cx.count(
            "smtp.max_per_recipient_per_day",
            s.max_per_recipient_per_day,
            10_000,
            5,
        ),
        timeout: cx.duration("smtp.timeout", &s.timeout, Duration::from_secs(30)),
    }
}

fn notify(cx: &mut Ctx<'_>, n: Option<&NotifyFile>) -> NotifySettings {
    let d = NotifySettings::default();
    let Some(n) = n else { return d };
    let default_language = cx.choice(
        "notify.default_language",
        &n.default_language,
        &[("en", Language::En), ("sq", Language::Sq)],
        d.default_language,
    );
    let templates_dir = n.templates_dir.as_ref().map(|t| {
        let t = cx.path(t);
        if !t.is_dir() {
            cx.err(
                "notify.templates_dir",
                format!("`{}` is not a directory", t.display()),
            );
        }
        t
    });
    let fee_default_lek = match n.fee_default_lek {
        None => d.fee_default_lek,
        Some(f) if f > 0 => f as u64,
        Some(f) => {
            cx.err(
                "notify.fee_default_lek",
                format!("`{f}` is not a positive amount"),
            );
            d.fee_default_lek
        }
    };
    let payment_route = cx.choice(
        "notify.payment_route",
        &n.payment_route,
        &[("bank", PaymentRoute::Bank), ("post", PaymentRoute::Post)],
        d.payment_route,
    );
    let mut staff_addresses = Vec::new();
    for (i, a) in n.staff_addresses.iter().flatten().enumerate() {
        let a = a.trim().to_lowercase();
        if a.parse::<lettre::Address>().is_err() {
            cx.err(
                &format!("notify.staff_addresses[{i}]"),
                format!("`{a}` is not an email address"),
            );
        }
        staff_addresses.push(a);
    }
    let mut staff_domains = Vec::new();
    for (i, s) in n.staff_domains.iter().flatten().enumerate() {
        let dom = s.trim().trim_start_matches('@').to_lowercase();
        if dom.is_empty() || dom.contains(|c: char| c.is_whitespace() || c == '@' || c == '/') {
            cx.err(
                &format!("notify.staff_domains[{i}]"),
                format!("`{s}` is not a domain such as `agency.al`"),
            );
        }
        staff_domains.push(dom);
    }
    NotifySettings {
        default_language,
        templates_dir,
        html: n.html.unwrap_or(d.html),
        fee_default_lek,
        payment_route,
        staff_addresses,
        staff_domains,
        dry_run_dir: n.dry_run_dir.as_ref().map(|p| cx.path(p)),
        agency_name: cx.optional("notify.agency_name", &n.agency_name),
    }
}

fn offices(
    cx: &mut Ctx<'_>,
    o: &std::collections::BTreeMap<String, OfficeFile>,
) -> std::collections::BTreeMap<crate::parse::Directorate, OfficeInfo> {
    let mut out = default_offices();
    let mut seen = BTreeSet::new();
    for (key, office) in o {
        let p = format!("offices.{key}");
        let Some(d) = directorate_from_key(key) else {
            let valid: Vec<String> = DIRECTORATES
                .iter()
                .map(|(_, k, _)| format!("`{k}`"))
                .collect();
            cx.err(
                &p,
                format!(
                    "`{key}` is not a directorate; the 12 are {}",
                    valid.join(", ")
                ),
            );
            continue;
        };
        if !seen.insert(d) {
            cx.err(
                &p,
                format!("`{key}` names a directorate that is already configured"),
            );
            continue;
        }
        let entry = out.get_mut(&d).expect("all twelve are present");
        if office.name.is_some() {
            entry.name = cx.required(&format!("{p}.name"), &office.name);
        }
        entry.address = cx.optional(&format!("{p}.address"), &office.address);
        entry.hours = cx.optional(&format!("{p}.hours"), &office.hours);
    }
    out
}
