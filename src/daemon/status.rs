//! `leje status`: which instance holds which mailbox, since when, and until when;
//! the live instances; and the outbox rows claimed for sending.

use std::process::ExitCode;

use chrono::{DateTime, Utc};

use crate::store::{InstanceInfo, LeaseInfo, Store};

/// `leje status`
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// One JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Everything `leje status` shows.
#[derive(Debug, serde::Serialize)]
pub struct Status {
    pub instances: Vec<InstanceInfo>,
    pub leases: Vec<LeaseInfo>,
    /// Pending outbox rows claimed for sending, per claim (`holder#epoch`).
    pub outbox_claims: Vec<(String, u64)>,
}

/// Reads the status from the store.
pub async fn status(store: &Store) -> Result<Status, crate::store::StoreError> {
    let (leases, instances) = store.cluster_status().await?;
    let outbox_claims = store.outbox_claims().await?;
    Ok(Status {
        instances,
        leases,
        outbox_claims,
    })
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
}

/// The status as text tables.
pub fn render(s: &Status) -> String {
    let mut out = String::from("INSTANCES\n");
    if s.instances.is_empty() {
        out.push_str("  (none registered)\n");
    }
    for i in &s.instances {
        out.push_str(&format!(
            "  {:<40} epoch {:<3} started {}  {} {}\n",
            i.holder,
            i.epoch,
            ts(i.started_at),
            if i.live { "alive until" } else { "GONE since" },
            ts(i.expires_at)
        ));
    }
    out.push_str("LEASES\n");
    if s.leases.is_empty() {
        out.push_str("  (none)\n");
    }
    for l in &s.leases {
        let since = l.since.map(ts).unwrap_or_else(|| "-".into());
        if l.live {
            out.push_str(&format!(
                "  {:<24} {:<40} gen {:<4} since {}  expires {}\n",
                l.name,
                l.holder,
                l.generation,
                since,
                ts(l.expires_at)
            ));
        } else {
            out.push_str(&format!(
                "  {:<24} (free; last {} gen {})\n",
                l.name, l.holder, l.generation
            ));
        }
    }
    out.push_str("OUTBOX (claimed for sending, one row at a time per instance)\n");
    if s.outbox_claims.is_empty() {
        out.push_str("  (no row claimed)\n");
    }
    for (who, n) in &s.outbox_claims {
        out.push_str(&format!("  {who:<44} {n} row(s)\n"));
    }
    out
}

/// Runs `leje status`.
pub async fn run(a: &StatusArgs, g: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    let settings = crate::config::load_for(g).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = Store::open(&settings.store_url, &settings.state_dir).await?;
    let s = status(&store).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print!("{}", render(&s));
    }
    Ok(ExitCode::SUCCESS)
}
