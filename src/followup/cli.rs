//! `leje remind [--dry-run DIR]` and `leje replies [list|done ID]`.
//! (`leje cases pause|resume DOC` live with the other case commands.)

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use crate::store::Store;

/// Arguments of `leje remind`.
#[derive(Debug, clap::Args)]
pub struct RemindArgs {
    /// Change nothing: write what the pass would do to DIR/remind-dry-run.json, and
    /// each reminder it would queue as an .eml file.
    #[arg(long, value_name = "DIR")]
    pub dry_run: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `leje replies …`
#[derive(Debug, clap::Subcommand)]
pub enum RepliesCmd {
    /// Replies and Directorate mail waiting for an answer, oldest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Mark one as answered (its number from `leje replies list`).
    Done { id: i64 },
}

async fn open(globals: &crate::cli::Globals) -> anyhow::Result<(Store, crate::config::Settings)> {
    let mut settings = crate::config::load_for(globals).map_err(|e| anyhow::anyhow!("{e}"))?;
    // Like the other commands: `--store sqlite:./x.db` without a config keeps its
    // state beside that database rather than in /var/lib/leje.
    if settings.source.is_none() && std::env::var_os("STATE_DIRECTORY").is_none() {
        if let Some(db) = settings.store_url.strip_prefix("sqlite:") {
            let db = std::path::Path::new(db.split('?').next().unwrap_or(db));
            settings.state_dir = match db.parent().filter(|d| !d.as_os_str().is_empty()) {
                Some(d) => d.to_owned(),
                None => PathBuf::from("."),
            };
        }
    }
    let store = Store::open_existing(&settings.store_url, &settings.state_dir)
        .await
        .with_context(|| {
            format!(
                "cannot open the store `{}`",
                crate::store::redact_url(&settings.store_url)
            )
        })?;
    Ok((store, settings))
}

/// One reminder pass at the system clock's `now` (so `faketime` works), then exit.
pub async fn remind(args: &RemindArgs, globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    let (store, settings) = open(globals).await?;
    let now = Utc::now();
    let commit = args.dry_run.is_none();
    let r = super::run_pass(&store, &settings.followup, now, commit).await?;
    let mut out = std::io::stdout().lock();
    if let Some(dir) = &args.dry_run {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let path = dir.join("remind-dry-run.json");
        let body = serde_json::to_vec_pretty(&serde_json::json!({ "now": now, "report": r }))?;
        crate::store::write_private(&path, &body)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        // The emails themselves, as the sender would write them.
        let files = crate::notify::dryrun::write(&store, &settings, &r.rows, dir).await?;
        writeln!(
            out,
            "dry run: nothing changed; wrote `{}` and {} email(s)",
            path.display(),
            files.len()
        )?;
    }
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?;
    } else if r.outside_window {
        let (a, b) = settings.followup.window;
        writeln!(
            out,
            "outside the reminder window {:02}:{:02}-{:02}:{:02} (Europe/Tirane): nothing to do",
            a / 60,
            a % 60,
            b / 60,
            b % 60
        )?;
    } else {
        writeln!(
            out,
            "{} reminder(s) queued, {} case(s) flagged stalled ({} case rows read)",
            r.reminded.len(),
            r.stalled.len(),
            r.rows_read
        )?;
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `leje replies list|done`.
pub async fn replies(cmd: &RepliesCmd, globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    let (store, _) = open(globals).await?;
    let mut out = std::io::stdout().lock();
    match cmd {
        RepliesCmd::List { json } => {
            let list = store.waiting_mail().await?;
            if *json {
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            } else {
                for m in &list {
                    let doc = store
                        .case_by_id(m.case_id)
                        .await?
                        .map(|c| c.travel_document)
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "#{}  {}  case {doc}  {}  from {}  \"{}\"{}",
                        m.id,
                        m.at.format("%Y-%m-%d %H:%M"),
                        m.kind.as_str(),
                        m.sender.as_deref().unwrap_or("?"),
                        m.subject.as_deref().unwrap_or(""),
                        if m.files.is_empty() {
                            String::new()
                        } else {
                            format!("  ({} file(s))", m.files.len())
                        }
                    )?;
                }
                writeln!(out, "{} waiting for an answer", list.len())?;
            }
        }
        RepliesCmd::Done { id } => {
            store.mark_answered(*id, Utc::now()).await?;
            writeln!(out, "reply #{id} marked answered")?;
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
