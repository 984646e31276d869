//! `leje outbox list|retry|release|send`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::store::{OutboxRow, OutboxStatus, Store};
use anyhow::Context;

/// `leje outbox …`
#[derive(Debug, clap::Subcommand)]
pub enum OutboxCmd {
    /// List outgoing emails and their state, newest first.
    List {
        /// Only rows with this status: pending, sent, failed or held.
        #[arg(long, value_parser = parse_status)]
        status: Option<OutboxStatus>,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put a failed (or deferred) email back in the queue, due now.
    Retry {
        /// The outbox row id (see `leje outbox list`).
        id: i64,
    },
    /// Release a held email (from a message whose sender is not verified):
    /// it is queued, due now, and the case's history records who released it.
    Release {
        /// The outbox row id (see `leje outbox list --status held`).
        id: i64,
        /// Who releases it. Default: $SUDO_USER, else $USER.
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Send what is due now (useful without the daemon), then exit.
    Send {
        /// Write each email as DIR/outbox-ID-KIND.eml instead of sending; rows stay pending.
        #[arg(long, value_name = "DIR")]
        dry_run: Option<PathBuf>,
    },
}

fn parse_status(s: &str) -> Result<OutboxStatus, String> {
    s.parse()
}

/// Runs one `leje outbox` subcommand.
pub async fn outbox(cmd: &OutboxCmd, globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    let settings = crate::config::load_for(globals).map_err(|e| anyhow::anyhow!("{e}"))?;
    // NOTE: never creates a store: `outbox list` on a mistyped path must not leave an empty one.
    let store = Store::open_existing(&settings.store_url, &settings.state_dir).await?;
    let code = match cmd {
        OutboxCmd::List { status, json } => {
            let rows = store.outbox_list(*status).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let mut to = Vec::with_capacity(rows.len());
                for r in &rows {
                    to.push(recipients_shown(&store, &settings, r).await?);
                }
                print!("{}", table(&rows, &to));
            }
            ExitCode::SUCCESS
        }
        OutboxCmd::Retry { id } => {
            store
                .outbox_requeue(*id)
                .await
                .with_context(|| format!("cannot requeue outbox row `{id}`"))?;
            println!("outbox row {id} is queued and due now");
            ExitCode::SUCCESS
        }
        OutboxCmd::Release { id, by } => {
            let actor = by
                .clone()
                .or_else(|| std::env::var("SUDO_USER").ok())
                .or_else(|| std::env::var("USER").ok())
                .filter(|a| !a.trim().is_empty())
                .context("say who releases it: --by NAME")?;
            store
                .outbox_release(*id, &actor)
                .await
                .with_context(|| format!("cannot release outbox row `{id}`"))?;
            println!("outbox row {id} is released by {actor}, queued and due now");
            ExitCode::SUCCESS
        }
        OutboxCmd::Send { dry_run } => {
            let opts = super::SendOptions {
                dry_run_dir: dry_run.clone(),
                holder: Some(format!("{}/cli-{}", settings.instance, std::process::id())),
                ..Default::default()
            };
            let r = super::send_due_once(&store, &settings, &opts).await?;
            if r.busy {
                anyhow::bail!(
                    "another leje process is sending the outbox right now (lease `{}`); try again in a moment",
                    super::worker::OUTBOX_LEASE
                );
            }
            for p in &r.written {
                println!("wrote {}", p.display());
            }
            println!(
                "sent {}, written {}, retry later {}, deferred to tomorrow {}, failed {}",
                r.sent,
                r.written.len(),
                r.retried,
                r.deferred,
                r.failed
            );
            if r.failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
    };
    store.close().await;
    Ok(code)
}

/// Who a row went to, or (unsent) who it would go to under the current config.
async fn recipients_shown(
    store: &Store,
    settings: &crate::config::Settings,
    r: &OutboxRow,
) -> anyhow::Result<String> {
    if !r.sent_to.is_empty() {
        return Ok(r.sent_to.join(","));
    }
    let contacts = match store.case_by_id(r.case_id).await? {
        Some(c) => c.contacts,
        None => return Ok("(case missing)".into()),
    };
    let policy = super::worker::policy_for(settings);
    // NOTE: a held row shows where it would go once a person releases it.
    let vouched = r.released_by.is_some() || r.status == OutboxStatus::Held;
    Ok(
        match policy.decide(&super::recipients::Parties {
            forwarded_by: r.forwarded_by.as_deref(),
            forwarder_is_staff: r.forwarder_is_staff,
            original_to: r.original_to.as_deref(),
            contacts: &contacts,
            forwarder_unverified: !r.forwarder_verified && !vouched,
            original_to_unverified: !(r.forwarder_verified || r.original_verified || vouched),
        }) {
            Ok(d) => format!(
                "→ {}{}",
                d.to.join(","),
                if d.missing_applicant_address {
                    " (staff: applicant address missing)"
                } else {
                    ""
                }
            ),
            Err(_) => "(no recipient)".into(),
        },
    )
}

/// The human-readable listing; `to[i]` is what to show for `rows[i]`.
pub fn table(rows: &[OutboxRow], to: &[String]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>5}  {:>5}  {:<12}  {:<7}  {:>3}  {:<20}  {:<30}  ERROR",
        "ID", "CASE", "KIND", "STATUS", "TRY", "NEXT/SENT (UTC)", "TO"
    );
    for (r, to) in rows.iter().zip(to) {
        let when = r.sent_at.unwrap_or(r.next_attempt_at);
        let _ = writeln!(
            out,
            "{:>5}  {:>5}  {:<12}  {:<7}  {:>3}  {:<20}  {:<30}  {}",
            r.id,
            r.case_id,
            r.kind.as_str(),
            r.status.as_str(),
            r.attempts,
            when.format("%Y-%m-%d %H:%M:%S"),
            to,
            r.last_error.as_deref().unwrap_or("")
        );
    }
    if rows.is_empty() {
        out.push_str("(no outgoing emails)\n");
    }
    out
}
