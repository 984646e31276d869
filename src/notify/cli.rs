//! `leje outbox list|retry|send`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::store::{OutboxRow, OutboxStatus, Store};

/// `leje outbox …`
#[derive(Debug, clap::Subcommand)]
pub enum OutboxCmd {
    /// List outgoing emails and their state, newest first.
    List {
        /// Only rows with this status: pending, sent or failed.
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
    /// Send what is due now (useful without the daemon), then exit.
    Send {
        /// Write each email as DIR/outbox-<id>-<kind>.eml instead of sending; rows stay pending.
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
    let store = Store::open(&settings.store_url, &settings.state_dir)
        .await
        .with_context(|| "cannot open the store".to_string())?;
    let code = match cmd {
        OutboxCmd::List { status, json } => {
            let rows = store.outbox_list(*status).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print!("{}", table(&rows));
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

/// The human-readable listing.
pub fn table(rows: &[OutboxRow]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>5}  {:>5}  {:<12}  {:<7}  {:>3}  {:<20}  {:<30}  ERROR",
        "ID", "CASE", "KIND", "STATUS", "TRY", "NEXT/SENT (UTC)", "TO"
    );
    for r in rows {
        let when = r.sent_at.unwrap_or(r.next_attempt_at);
        let to = if r.sent_to.is_empty() {
            r.forwarded_by.clone().unwrap_or_default()
        } else {
            r.sent_to.join(",")
        };
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
