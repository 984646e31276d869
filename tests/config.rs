//! Configuration: the example file, error reporting, secrets, units, and
//! `leje check-config` as a user runs it.

use std::path::PathBuf;
use std::time::Duration;

use leje::config::{self, Action, ConfigError, Secret, TlsMode};
use leje::parse::Directorate;

mod config_support;
use config_support::*;

#[test]
fn embedded_defaults() {
    let s = config::load(None).unwrap();
    assert_eq!(s.source, None);
    assert!(s.mailboxes.is_empty());
    assert!(s.smtp.is_none());
    assert!(s.http.is_none());
    assert_eq!(s.log.level, "info");
    assert_eq!(s.offices.len(), 12);
    assert_eq!(
        s.offices[&Directorate::Tirane].name,
        "Drejtoria Vendore për Kufirin dhe Migracionin Tiranë"
    );
    assert_eq!(
        s.offices[&Directorate::Gjirokaster].name,
        "Drejtoria Vendore për Kufirin dhe Migracionin Gjirokastër"
    );
    assert!(s
        .offices
        .values()
        .all(|o| o.address.is_none() && o.hours.is_none()));
    assert_eq!(
        s.store_url,
        format!("sqlite:{}", s.state_dir.join("leje.db").display())
    );
    assert_eq!(s.notify.fee_default_lek, 5700);
    assert!(!s.instance.is_empty());
}

#[test]
fn mailbox_defaults() {
    let s = ok(MAILBOX);
    let m = &s.mailboxes[0];
    assert_eq!(m.port, 993);
    assert_eq!(m.tls, TlsMode::Implicit);
    assert_eq!(m.folder, "INBOX");
    assert!(m.idle);
    assert_eq!(m.poll_interval, Duration::from_secs(60));
    assert_eq!(m.idle_renew, Duration::from_secs(25 * 60));
    assert_eq!(m.batch_size, 500);
    assert_eq!(m.max_message_size, 25 * 1024 * 1024);
    assert_eq!(m.reconnect_max, Duration::from_secs(300));
    assert_eq!(m.since, None);
    assert_eq!(m.actions.processed, Action::Move("leje/processed".into()));
    assert_eq!(m.actions.ignored, Action::Seen);
    assert_eq!(m.actions.review, Action::Move("leje/review".into()));
    assert_eq!(m.actions.failed, Action::Move("leje/failed".into()));
    assert_eq!(m.actions.oversize, Action::Move("leje/oversize".into()));
}

#[test]
fn values_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tpl")).unwrap();
    let text = format!(
        r#"{MAILBOX}
port = 1993
tls = "starttls"
folder = "Shared/Permits"
idle = false
poll_interval = "90s"
idle_renew = 600
batch_size = 200
max_message_size = "500KB"
since = 2024-01-31
reconnect_max = "1h30m"
[mailbox.actions]
processed = "keyword:$LejeDone"
ignored = "leave"
review = "move:Review"

[http]
enabled = true
listen = "[::1]:9999"
stale_after = "2m"

[smtp]
host = "smtp.example.al"
tls = "implicit"
username = "permits@example.al"
password_credential = "smtp"
from = "Permits <permits@example.al>"
cc = ["records@agency.al"]
retry_for = "1d"

[notify]
default_language = "sq"
templates_dir = "tpl"
payment_route = "post"
staff_addresses = ["Desk@Agency.AL"]
staff_domains = ["@Agency.AL"]
agency_name = "Agjencia"

[offices.tirane]
address = "Rruga e Durrësit"
[offices."korçë"]
hours = "8-16"
"#
    );
    let path = dir.path().join("leje.toml");
    std::fs::write(&path, text).unwrap();
    let s = config::load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
    let m = &s.mailboxes[0];
    assert_eq!((m.port, m.tls), (1993, TlsMode::StartTls));
    assert_eq!(m.folder, "Shared/Permits");
    assert!(!m.idle);
    assert_eq!(m.poll_interval, Duration::from_secs(90));
    assert_eq!(m.idle_renew, Duration::from_secs(600));
    assert_eq!(m.batch_size, 200);
    assert_eq!(m.max_message_size, 500_000);
    assert_eq!(m.since, chrono::NaiveDate::from_ymd_opt(2024, 1, 31));
    assert_eq!(m.reconnect_max, Duration::from_secs(5400));
    assert_eq!(m.actions.processed, Action::Keyword("$LejeDone".into()));
    assert_eq!(m.actions.ignored, Action::Leave);
    assert_eq!(m.actions.review, Action::Move("Review".into()));
    let http = s.http.unwrap();
    assert_eq!(http.listen.to_string(), "[::1]:9999");
    assert_eq!(http.stale_after, Duration::from_secs(120));
    let smtp = s.smtp.unwrap();
    assert_eq!((smtp.port, smtp.tls), (465, TlsMode::Implicit));
    assert_eq!(smtp.password, Some(Secret::Credential("smtp".into())));
    assert_eq!(smtp.retry_for, Duration::from_secs(86_400));
    assert_eq!(smtp.max_per_recipient_per_day, 5);
    assert_eq!(smtp.cc, vec!["records@agency.al".to_string()]);
    assert_eq!(s.notify.default_language, leje::parse::Language::Sq);
    assert_eq!(s.notify.templates_dir, Some(dir.path().join("tpl")));
    assert_eq!(s.notify.payment_route, config::PaymentRoute::Post);
    assert_eq!(s.notify.staff_addresses, vec!["desk@agency.al".to_string()]);
    assert_eq!(s.notify.staff_domains, vec!["agency.al".to_string()]);
    assert_eq!(
        s.offices[&Directorate::Tirane].address.as_deref(),
        Some("Rruga e Durrësit")
    );
    assert_eq!(
        s.offices[&Directorate::Korce].hours.as_deref(),
        Some("8-16")
    );
    assert!(s.offices[&Directorate::Korce].name.ends_with("Korçë"));
}

#[test]
fn several_errors_are_all_reported_with_file_key_and_reason() {
    let (dir, r) = load_text(
        r#"
store = "mysql://x"

[log]
format = "xml"

[[mailbox]]
name = "a"
host = "imap.example.al"
port = 70000
username = "u"
password_env = "A"
password_file = "/etc/passwd"

[[mailbox]]
name = "a"
host = "imap.example.al"
username = "u"
idle_renew = "30m"
poll_interval = "0s"
max_message_size = "25XB"
[mailbox.actions]
processed = "move:"
ignored = "frob"

[smtp]
host = "smtp.example.al"
from = "not a mailbox"

[offices.rome]
address = "Via Roma"
"#,
    );
    let errs: Vec<ConfigError> = r.unwrap_err().into_iter().collect();
    let file = dir.path().join("leje.toml").display().to_string();
    let expect = [
        ("store", "`mysql://x`"),
        ("log.format", "`xml`"),
        ("mailbox[0].port", "`70000`"),
        ("mailbox[0].password_env", "only one password source"),
        ("mailbox[1].name", "`a` is already used"),
        ("mailbox[1]", "needs a password"),
        ("mailbox[1].idle_renew", "29 minutes"),
        ("mailbox[1].poll_interval", "`0s`"),
        ("mailbox[1].max_message_size", "`25XB`"),
        ("mailbox[1].actions.processed", "names no folder"),
        ("mailbox[1].actions.ignored", "`frob`"),
        ("smtp.from", "`not a mailbox`"),
        ("offices.rome", "`rome` is not a directorate"),
    ];
    for (key, reason) in expect {
        let e = error_for(&errs, key);
        let line = e.to_string();
        assert!(line.starts_with(&format!("{file}:")), "{line}");
        assert!(line.contains(&format!(": {key}: ")), "{line}");
        assert!(line.contains(reason), "`{reason}` not in {line}");
        assert!(
            matches!(e, ConfigError::Invalid { at: Some(_), .. }),
            "no line number: {line}"
        );
    }
    assert_eq!(errs.len(), expect.len(), "{errs:#?}");
    // The directorate error names all twelve.
    let rome = error_for(&errs, "offices.rome").to_string();
    for k in [
        "berat",
        "diber",
        "durres",
        "elbasan",
        "fier",
        "gjirokaster",
        "korce",
        "kukes",
        "lezhe",
        "shkoder",
        "tirane",
        "vlore",
    ] {
        assert!(rome.contains(&format!("`{k}`")), "{rome}");
    }
    // Reported in file order, with the line of the key.
    let port = error_for(&errs, "mailbox[0].port");
    assert!(
        matches!(
            port,
            ConfigError::Invalid {
                at: Some((10, 1)),
                ..
            }
        ),
        "{port}"
    );
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let errs = errors(&format!(
        "statedir = \"/x\"\n{MAILBOX}prot = 993\n[mailbox.actions]\nproccessed = \"seen\"\n"
    ));
    let top = error_for(&errs, "statedir").to_string();
    assert!(top.contains("unknown key `statedir`"), "{top}");
    assert!(
        top.contains("`state_dir`"),
        "suggests the valid keys: {top}"
    );
    let nested = error_for(&errs, "mailbox[0].prot").to_string();
    assert!(nested.contains("unknown key `prot`"), "{nested}");
    assert!(nested.contains(":8:1:"), "line of the key: {nested}");
    let actions = error_for(&errs, "mailbox[0].actions.proccessed").to_string();
    assert!(actions.contains("unknown key `proccessed`"), "{actions}");
}

#[test]
fn syntax_errors_have_line_and_column() {
    let errs = errors("[log]\nlevel = \"info\"\nformat = text\n");
    assert!(
        matches!(
            &errs[0],
            ConfigError::Syntax {
                line: 3,
                column: 10,
                ..
            }
        ),
        "{errs:?}"
    );
    assert!(
        errs[0].to_string().contains("leje.toml:3:10: invalid TOML"),
        "{}",
        errs[0]
    );
}

#[test]
fn wrong_types_name_the_key() {
    let errs = errors(&format!("{MAILBOX}idle = \"yes\"\n"));
    let e = error_for(&errs, "mailbox[0].idle").to_string();
    assert!(e.contains("leje.toml:7:"), "{e}");
}

#[test]
fn plaintext_only_on_loopback() {
    let insecure = |host: &str, extra: &str| {
        format!(
            "[[mailbox]]\nname = \"m\"\nhost = \"{host}\"\ntls = \"none\"\nusername = \"u\"\npassword_env = \"P\"\n{extra}\n\
             [smtp]\nhost = \"{host}\"\ntls = \"none\"\nfrom = \"a@b.al\"\n{extra}\n"
        )
    };
    let errs = errors(&insecure("imap.example.al", ""));
    for key in ["mailbox[0].tls", "smtp.tls"] {
        let e = error_for(&errs, key).to_string();
        assert!(
            e.contains("`imap.example.al`") && e.contains("loopback"),
            "{e}"
        );
    }
    assert_eq!(errs.len(), 2);
    for host in [
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "[::1]",
        "localhost",
        "LOCALHOST",
    ] {
        let s = ok(&insecure(host, ""));
        assert_eq!(s.mailboxes[0].port, 143);
        assert_eq!(s.smtp.unwrap().port, 25);
    }
    for host in ["10.0.0.1", "128.0.0.1", "localhost.example.al", "::2"] {
        assert_eq!(errors(&insecure(host, "")).len(), 2, "{host}");
    }
    ok(&insecure("imap.example.al", "allow_insecure = true"));
}

#[test]
fn durations_and_sizes_in_the_file() {
    let forms = [
        ("\"90s\"", 90),
        ("\"5m\"", 300),
        ("\"1h\"", 3600),
        ("\"2d\"", 172_800),
        ("45", 45),
    ];
    for (v, secs) in forms {
        let s = ok(&format!("{MAILBOX}reconnect_max = {v}\n"));
        assert_eq!(
            s.mailboxes[0].reconnect_max,
            Duration::from_secs(secs),
            "{v}"
        );
    }
    let sizes = [
        ("\"25MB\"", 25_000_000),
        ("\"25MiB\"", 26_214_400),
        ("\"500KB\"", 500_000),
        ("4096", 4096),
    ];
    for (v, n) in sizes {
        let s = ok(&format!("{MAILBOX}max_message_size = {v}\n"));
        assert_eq!(s.mailboxes[0].max_message_size, n, "{v}");
    }
    for bad in ["-5", "0", "\"soon\"", "\"5 parsecs\""] {
        let errs = errors(&format!("{MAILBOX}reconnect_max = {bad}\n"));
        error_for(&errs, "mailbox[0].reconnect_max");
    }
}

#[test]
fn more_checks() {
    let e = errors(&format!("{MAILBOX}port = 0\nbatch_size = 0\nfolder = \"\"\n[smtp]\nhost=\"h\"\nfrom=\"a@b.al\"\ncc = [\"nope\"]\nmax_per_recipient_per_day = -1\n[notify]\nstaff_addresses = [\"x\"]\nfee_default_lek = 0\ntemplates_dir = \"missing\"\n[offices.vlore]\nname = \"\"\n[offices.tirane]\n[offices.\"Tiranë\"]\n"));
    for key in [
        "mailbox[0].port",
        "mailbox[0].batch_size",
        "mailbox[0].folder",
        "smtp.cc[0]",
        "smtp.max_per_recipient_per_day",
        "notify.staff_addresses[0]",
        "notify.fee_default_lek",
        "notify.templates_dir",
        "offices.vlore.name",
    ] {
        error_for(&e, key);
    }
    // `tirane` and `Tiranë` are the same directorate.
    assert!(
        e.iter()
            .any(|e| e.to_string().contains("already configured")),
        "{e:?}"
    );
    // Moving into the watched folder would make a loop.
    let e = errors(&format!(
        "{MAILBOX}[mailbox.actions]\nreview = \"move:inbox\"\n"
    ));
    error_for(&e, "mailbox[0].actions.review");
}

#[test]
fn resolve_path_order() {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct T {
        #[command(flatten)]
        g: leje::cli::Globals,
    }
    let t = T::try_parse_from(["x", "--config", "/tmp/a.toml"]).unwrap();
    assert_eq!(
        config::resolve_path(&t.g),
        Some(PathBuf::from("/tmp/a.toml"))
    );
    let t =
        T::try_parse_from(["x", "--config", "/dev/null", "--store", "sqlite:/tmp/s.db"]).unwrap();
    assert_eq!(
        config::load_for(&t.g).unwrap().store_url,
        "sqlite:/tmp/s.db"
    );
}

#[test]
fn relative_paths_are_relative_to_the_file() {
    let (dir, r) = load_text("state_dir = \"state\"\nstore = \"sqlite:db/leje.db?mode=rwc\"\n");
    let s = r.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.state_dir, dir.path().join("state"));
    assert_eq!(
        s.store_url,
        format!(
            "sqlite:{}",
            dir.path().join("db/leje.db?mode=rwc").display()
        )
    );
    let (_, r) = load_text("store = \"sqlite:/abs/leje.db\"\n");
    assert_eq!(r.unwrap().store_url, "sqlite:/abs/leje.db");
    let (_, r) = load_text("store = \"postgres://leje@localhost/leje\"\n");
    assert_eq!(r.unwrap().store_url, "postgres://leje@localhost/leje");
    let (dir, r) = load_text("state_dir = \"/srv/leje\"\n");
    drop(dir);
    assert_eq!(r.unwrap().store_url, "sqlite:/srv/leje/leje.db");
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let s = ok(&format!("\u{feff}{MAILBOX}"));
    assert_eq!(s.mailboxes[0].name, "permits");
}
