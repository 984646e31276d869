//! What the daemon knows about itself: per-mailbox state, counters, and their
//! renderings for `/healthz`, `/metrics` and systemd's STATUS= line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// State of one watched mailbox.
#[derive(Debug, Clone, Default)]
pub struct MailboxHealth {
    /// Last time a check (search for new mail) succeeded.
    pub last_check: Option<Instant>,
    /// Whether a session is currently open.
    pub connected: bool,
    /// Messages found but not processed yet at the last check.
    pub backlog: u64,
    /// The last failure, for `/healthz` and the logs; cleared by a successful check.
    pub last_error: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    mailboxes: BTreeMap<String, MailboxHealth>,
    /// (mailbox or component, kind) → count.
    errors: BTreeMap<(String, &'static str), u64>,
    /// (mailbox, outcome) → messages handled by this process.
    ingested: BTreeMap<(String, &'static str), u64>,
}

/// Shared, cheap to update; one per daemon.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    inner: Mutex<Inner>,
}

/// Totals read from the store for `/metrics` (filled by the caller, so this module
/// does not depend on the store's types).
#[derive(Debug, Default, Clone)]
pub struct StoreFigures {
    pub messages_by_outcome: Vec<(String, u64)>,
    pub cases_by_stage: Vec<(String, u64)>,
    pub outbox_by_status: Vec<(String, u64)>,
    /// Live leases (mailboxes, `@job:…`): who holds each, since and until when.
    pub leases: Vec<LeaseFigure>,
}

/// One live lease, for `/metrics`.
#[derive(Debug, Default, Clone)]
pub struct LeaseFigure {
    pub name: String,
    pub holder: String,
    pub generation: i64,
    /// Unix time the holder took it.
    pub since_unix: i64,
    /// Seconds until it expires unless renewed.
    pub expires_in: f64,
}

impl Health {
    pub fn new<'a>(mailboxes: impl IntoIterator<Item = &'a str>) -> Health {
        let h = Health {
            started: Instant::now(),
            inner: Mutex::new(Inner::default()),
        };
        for m in mailboxes {
            h.add_mailbox(m);
        }
        h
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the counters inconsistent in
        // a way that matters; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a mailbox (at start or after a reload).
    pub fn add_mailbox(&self, name: &str) {
        self.lock().mailboxes.entry(name.to_string()).or_default();
    }

    /// Forgets a mailbox removed by a reload.
    pub fn remove_mailbox(&self, name: &str) {
        self.lock().mailboxes.remove(name);
    }

    pub fn set_connected(&self, name: &str, connected: bool) {
        self.lock()
            .mailboxes
            .entry(name.to_string())
            .or_default()
            .connected = connected;
    }

    /// A check of `name` succeeded and found `backlog` messages to process.
    pub fn checked(&self, name: &str, backlog: u64) {
        let mut g = self.lock();
        let m = g.mailboxes.entry(name.to_string()).or_default();
        m.last_check = Some(Instant::now());
        m.backlog = backlog;
        m.last_error = None;
    }

    /// The session is working through a backlog: as good as a check for staleness.
    pub fn touch(&self, name: &str) {
        if let Some(m) = self.lock().mailboxes.get_mut(name) {
            m.last_check = Some(Instant::now());
        }
    }

    /// One message of the backlog is done.
    pub fn ingested(&self, name: &str, outcome: &'static str) {
        let mut g = self.lock();
        if let Some(m) = g.mailboxes.get_mut(name) {
            m.backlog = m.backlog.saturating_sub(1);
        }
        *g.ingested.entry((name.to_string(), outcome)).or_default() += 1;
    }

    /// Counts an error of `kind` for `component` (a mailbox name, `outbox`, `http`, …).
    pub fn error(&self, component: &str, kind: &'static str, message: &str) {
        let mut g = self.lock();
        *g.errors.entry((component.to_string(), kind)).or_default() += 1;
        if let Some(m) = g.mailboxes.get_mut(component) {
            m.last_error = Some(message.to_string());
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, MailboxHealth> {
        self.lock().mailboxes.clone()
    }

    /// Mailboxes not checked successfully within `stale_after` (a mailbox never checked
    /// counts from the daemon's start). Empty = healthy.
    pub fn stale(&self, stale_after: Duration) -> Vec<(String, Option<Duration>)> {
        let now = Instant::now();
        self.lock()
            .mailboxes
            .iter()
            .filter_map(|(name, m)| {
                let since = now.duration_since(m.last_check.unwrap_or(self.started));
                (since > stale_after).then(|| (name.clone(), m.last_check.map(|_| since)))
            })
            .collect()
    }

    /// The `/healthz` answer: (healthy, body).
    pub fn healthz(&self, stale_after: Duration) -> (bool, String) {
        let stale = self.stale(stale_after);
        let now = Instant::now();
        let mut body = String::new();
        let _ = writeln!(body, "{}", if stale.is_empty() { "ok" } else { "stale" });
        for (name, m) in self.snapshot() {
            let age = m
                .last_check
                .map(|t| format!("{}s ago", now.duration_since(t).as_secs()))
                .unwrap_or_else(|| "never".into());
            let _ = write!(
                body,
                "mailbox {name}: last check {age}, {}, backlog {}",
                if m.connected {
                    "connected"
                } else {
                    "disconnected"
                },
                m.backlog
            );
            if let Some(e) = &m.last_error {
                let _ = write!(body, ", last error: {e}");
            }
            body.push('\n');
        }
        (stale.is_empty(), body)
    }

    /// systemd STATUS= text: short, one line.
    pub fn status_line(&self) -> String {
        let snap = self.snapshot();
        let now = Instant::now();
        let oldest = snap
            .values()
            .map(|m| {
                m.last_check
                    .map(|t| now.duration_since(t).as_secs().to_string() + "s ago")
                    .unwrap_or_else(|| "never".into())
            })
            .max_by_key(|s| {
                (
                    s == "never",
                    s.trim_end_matches("s ago").parse::<u64>().unwrap_or(0),
                )
            })
            .unwrap_or_else(|| "-".into());
        let backlog: u64 = snap.values().map(|m| m.backlog).sum();
        let up = snap.values().filter(|m| m.connected).count();
        format!(
            "{} mailbox(es), {up} connected; oldest check {oldest}; backlog {backlog}",
            snap.len()
        )
    }

    /// Prometheus text exposition format (version 0.0.4).
    // NOTE: the lease families come from the store (every instance's leases), so
    // any instance's /metrics shows who holds which mailbox.
    pub fn metrics(&self, store: Option<&StoreFigures>) -> String {
        let mut out = String::new();
        let now = Instant::now();
        let g = self.lock();
        if let Some(s) = store {
            family(
                &mut out,
                "leje_messages",
                "gauge",
                "Messages recorded in the store, by outcome.",
            );
            for (k, v) in &s.messages_by_outcome {
                let _ = writeln!(out, "leje_messages{{outcome=\"{}\"}} {v}", esc(k));
            }
            family(
                &mut out,
                "leje_cases",
                "gauge",
                "Cases in the store, by stage.",
            );
            for (k, v) in &s.cases_by_stage {
                let _ = writeln!(out, "leje_cases{{stage=\"{}\"}} {v}", esc(k));
            }
            family(
                &mut out,
                "leje_outbox",
                "gauge",
                "Outgoing emails in the store, by status (pending = outbox depth).",
            );
            for (k, v) in &s.outbox_by_status {
                let _ = writeln!(out, "leje_outbox{{status=\"{}\"}} {v}", esc(k));
            }
            lease_metrics(&mut out, &s.leases);
        }
        family(
            &mut out,
            "leje_ingested_total",
            "counter",
            "Messages ingested by this process, by mailbox and outcome.",
        );
        for ((m, o), v) in &g.ingested {
            let _ = writeln!(
                out,
                "leje_ingested_total{{mailbox=\"{}\",outcome=\"{o}\"}} {v}",
                esc(m)
            );
        }
        family(
            &mut out,
            "leje_mailbox_last_check_age_seconds",
            "gauge",
            "Seconds since the last successful check of the mailbox (since start if never).",
        );
        for (m, h) in &g.mailboxes {
            let age = now
                .duration_since(h.last_check.unwrap_or(self.started))
                .as_secs_f64();
            let _ = writeln!(
                out,
                "leje_mailbox_last_check_age_seconds{{mailbox=\"{}\"}} {age:.3}",
                esc(m)
            );
        }
        family(
            &mut out,
            "leje_mailbox_connected",
            "gauge",
            "1 while an IMAP session is open.",
        );
        for (m, h) in &g.mailboxes {
            let _ = writeln!(
                out,
                "leje_mailbox_connected{{mailbox=\"{}\"}} {}",
                esc(m),
                u8::from(h.connected)
            );
        }
        family(
            &mut out,
            "leje_mailbox_backlog",
            "gauge",
            "Messages waiting to be processed at the last check.",
        );
        for (m, h) in &g.mailboxes {
            let _ = writeln!(
                out,
                "leje_mailbox_backlog{{mailbox=\"{}\"}} {}",
                esc(m),
                h.backlog
            );
        }
        family(
            &mut out,
            "leje_errors_total",
            "counter",
            "Errors by component and kind.",
        );
        for ((c, k), v) in &g.errors {
            let _ = writeln!(
                out,
                "leje_errors_total{{component=\"{}\",kind=\"{k}\"}} {v}",
                esc(c)
            );
        }
        family(
            &mut out,
            "leje_uptime_seconds",
            "gauge",
            "Seconds since the daemon started.",
        );
        let _ = writeln!(
            out,
            "leje_uptime_seconds {:.3}",
            now.duration_since(self.started).as_secs_f64()
        );
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a Prometheus label value.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn lease_metrics(out: &mut String, leases: &[LeaseFigure]) {
    let families: [(&str, &str); 3] = [
        (
            "leje_lease_expires_in_seconds",
            "Seconds until each live lease expires unless its holder renews it.",
        ),
        (
            "leje_lease_held_since_seconds",
            "Unix time the current holder took each live lease.",
        ),
        (
            "leje_lease_generation",
            "Each live lease's fencing token (grows on every takeover).",
        ),
    ];
    for (i, (name, help)) in families.iter().enumerate() {
        family(out, name, "gauge", help);
        for l in leases {
            let labels = format!("lease=\"{}\",holder=\"{}\"", esc(&l.name), esc(&l.holder));
            let _ = match i {
                0 => writeln!(out, "{name}{{{labels}}} {:.3}", l.expires_in),
                1 => writeln!(out, "{name}{{{labels}}} {}", l.since_unix),
                _ => writeln!(out, "{name}{{{labels}}} {}", l.generation),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_until_checked() {
        let h = Health::new(["shared"]);
        assert_eq!(h.stale(Duration::ZERO).len(), 1);
        assert!(h.stale(Duration::from_secs(60)).is_empty());
        h.checked("shared", 3);
        std::thread::sleep(Duration::from_millis(20));
        let (ok, body) = h.healthz(Duration::from_millis(5));
        assert!(!ok);
        assert!(body.starts_with("stale\n"), "{body}");
        h.checked("shared", 0);
        let (ok, body) = h.healthz(Duration::from_secs(5));
        assert!(ok, "{body}");
        assert!(body.contains("mailbox shared: last check 0s ago"), "{body}");
    }

    #[test]
    fn metrics_format() {
        let h = Health::new(["a\"b"]);
        h.checked("a\"b", 2);
        h.ingested("a\"b", "case_created");
        h.error("a\"b", "auth", "login rejected");
        let m = h.metrics(Some(&StoreFigures {
            messages_by_outcome: vec![("case_created".into(), 7)],
            cases_by_stage: vec![("approved".into(), 5)],
            outbox_by_status: vec![("pending".into(), 1)],
            leases: vec![LeaseFigure {
                name: "mb0".into(),
                holder: "h~1".into(),
                generation: 3,
                since_unix: 1_700_000_000,
                expires_in: 12.5,
            }],
        }));
        assert!(
            m.contains("leje_lease_expires_in_seconds{lease=\"mb0\",holder=\"h~1\"} 12.500\n"),
            "{m}"
        );
        assert!(m.contains("leje_lease_generation{lease=\"mb0\",holder=\"h~1\"} 3\n"));
        assert!(
            m.contains("leje_messages{outcome=\"case_created\"} 7\n"),
            "{m}"
        );
        assert!(m.contains("leje_cases{stage=\"approved\"} 5\n"));
        assert!(m.contains("leje_outbox{status=\"pending\"} 1\n"));
        assert!(
            m.contains("leje_ingested_total{mailbox=\"a\\\"b\",outcome=\"case_created\"} 1\n"),
            "{m}"
        );
        assert!(m.contains("leje_errors_total{component=\"a\\\"b\",kind=\"auth\"} 1\n"));
        assert!(m.contains("leje_mailbox_backlog{mailbox=\"a\\\"b\"} 1\n"));
        // Every sample line belongs to a declared family.
        for line in m.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(m.contains(&format!("# TYPE {name} ")), "{line}");
        }
        assert!(h.status_line().contains("backlog 1"), "{}", h.status_line());
    }
}
