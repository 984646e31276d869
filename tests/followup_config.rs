//! `[followup]` in the configuration file (issue 20): defaults, values, and
//! every bad value reported with its key and reason.

#[path = "config_support/mod.rs"]
mod config_support;

use std::time::Duration;

use config_support::{errors, ok};
use leje::store::Stage;

#[test]
fn defaults_and_values() {
    let d = ok("").followup;
    assert!(d.reminders);
    assert_eq!((d.max_reminders, d.window), (2, (540, 1140)));
    assert_eq!(d.link_ttl, Duration::from_secs(60 * 86400));
    assert_eq!(d.public_url, None);
    assert!(d
        .after
        .contains(&(Stage::Approved, Duration::from_secs(10 * 86400))));
    let s = ok(
        "[followup]\nmax_reminders = 3\nwindow = \"08:30-20:00\"\npublic_url = \"https://leje.example.al/\"\n\
         reply_to = \"permits@agency.al\"\n[followup.after]\napplied = \"21d\"\n",
    )
    .followup;
    assert_eq!((s.max_reminders, s.window), (3, (510, 1200)));
    assert_eq!(s.public_url.as_deref(), Some("https://leje.example.al"));
    assert_eq!(s.reply_to.as_deref(), Some("permits@agency.al"));
    assert!(s
        .after
        .contains(&(Stage::Applied, Duration::from_secs(21 * 86400))));
    // http:// on loopback only (tests, a reverse proxy on the same host).
    let l = ok("[followup]\npublic_url = \"http://127.0.0.1:8080\"\n").followup;
    assert_eq!(l.public_url.as_deref(), Some("http://127.0.0.1:8080"));
}

#[test]
fn every_bad_value_is_named() {
    let errs = errors(
        "[followup]\nmax_reminders = 99\nwindow = \"19:00-09:00\"\npublic_url = \"http://leje.example.al\"\n\
         reply_to = \"not an address\"\nlink_ttl = \"soon\"\n[followup.after]\ncollected = \"1d\"\n",
    );
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    for key in [
        "followup.max_reminders",
        "followup.window",
        "followup.public_url",
        "followup.reply_to",
        "followup.link_ttl",
        "followup.after.collected",
    ] {
        assert!(
            text.iter().any(|t| t.contains(key)),
            "{key} not in {text:#?}"
        );
    }
    let unknown = errors("[followup]\nremind = true\n");
    assert!(unknown[0].to_string().contains("remind"), "{unknown:?}");
}
