//! `leje import`, `leje cases …`, `leje messages …`.
//!
//! Tables for people by default, JSON on request. The store is `--store`
//! (or `$LEJE_STORE`), else the configuration's `store`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::import::collect;
use super::output::{export_csv, print_cases, review, show, table};
use super::{parse_directorate, CaseFilter, Cause, Incoming, Keep, Origin, Outcome, Stage, Store};
use crate::parse::Directorate;

/// Arguments of `leje import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// .eml files, Maildir folders (cur/ and new/) or mbox files; directories are walked.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `leje cases …`
#[derive(Debug, clap::Subcommand)]
pub enum CasesCmd {
    /// List cases.
    List {
        /// Only cases at this stage (approved, address_confirmed, fee_paid, applied,
        /// card_ready, collected, nid_pending, rejected, needs_review, closed).
        #[arg(long, value_parser = parse_stage)]
        stage: Option<Stage>,
        /// Only cases of this Local Directorate (berat, diber, durres, … vlore).
        #[arg(long, value_parser = parse_directorate)]
        directorate: Option<Directorate>,
        /// An array of JSON objects instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One case: details, history, waybills, conflicts and emails.
    Show {
        /// Travel-document number (spaces and case ignored).
        doc: String,
        #[arg(long)]
        json: bool,
    },
    /// Save one of a case's waybills to a file (to print it, or send it by hand).
    Waybill {
        /// Travel-document number (spaces and case ignored).
        doc: String,
        /// Which waybill, as numbered by `cases show` (1 = the first that arrived).
        #[arg(long, default_value_t = 1)]
        number: usize,
        /// The file to write (created private to you, 0600); `-` for standard output.
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Move a case to another stage (refuses impossible moves, naming the allowed ones).
    Advance {
        doc: String,
        /// The new stage.
        #[arg(long, value_parser = parse_stage)]
        to: Stage,
        /// Why, kept in the case's history.
        #[arg(long)]
        note: Option<String>,
    },
    /// The needs_review queue: each case with its conflicting values and how to resolve it.
    Review {
        #[arg(long)]
        json: bool,
    },
    /// Resolve a needs_review case: keep the old or the new values, and return
    /// the case to the stage it was at.
    Resolve {
        doc: String,
        /// `old` (what the case had) or `new` (what the later message said).
        #[arg(long, value_parser = parse_keep)]
        keep: Keep,
        #[arg(long)]
        note: Option<String>,
    },
    /// Export every case.
    Export {
        /// CSV with a header line (the only format).
        #[arg(long, required = true)]
        csv: bool,
    },
}

/// `leje messages …`
#[derive(Debug, clap::Subcommand)]
pub enum MessagesCmd {
    /// List processed messages, newest first.
    List {
        /// Only this outcome (case_created, case_updated, needs_review, duplicate,
        /// ignored, failed, skipped).
        #[arg(long, value_parser = parse_outcome)]
        outcome: Option<Outcome>,
        /// At most this many.
        #[arg(long, default_value_t = 200)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

fn parse_stage(s: &str) -> Result<Stage, String> {
    s.parse()
}
fn parse_keep(s: &str) -> Result<Keep, String> {
    s.parse()
}
fn parse_outcome(s: &str) -> Result<Outcome, String> {
    s.parse()
}

/// Store URL, state directory and staff addresses for a CLI command.
struct Target {
    url: String,
    state_dir: PathBuf,
    staff_addresses: Vec<String>,
    staff_domains: Vec<String>,
}

fn target(globals: &crate::cli::Globals) -> anyhow::Result<Target> {
    let settings = crate::config::load_for(globals).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut state_dir = settings.state_dir.clone();
    // NOTE: `leje import --store sqlite:./try.db` without a config file keeps
    // its state (and looks for waybill files of schema < 5) beside that database
    // rather than in /var/lib/leje.
    if settings.source.is_none() && std::env::var_os("STATE_DIRECTORY").is_none() {
        if let Some(db) = super::sqlite::db_path(&settings.store_url) {
            if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
                state_dir = dir.to_owned();
            } else {
                state_dir = PathBuf::from(".");
            }
        }
    }
    Ok(Target {
        url: settings.store_url,
        state_dir,
        staff_addresses: settings.notify.staff_addresses,
        staff_domains: settings.notify.staff_domains,
    })
}

async fn open(t: &Target) -> anyhow::Result<Store> {
    Ok(Store::open(&t.url, &t.state_dir).await?)
}

/// The store the command line points at (`--store`, else the configuration's), opened.
pub async fn open_for(globals: &crate::cli::Globals) -> anyhow::Result<Store> {
    open(&target(globals)?).await
}

/// Who runs a command, for the events it records: `cli:<unix user>`.
pub fn cli_actor() -> String {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// `leje import PATH...`: parse and ingest every message; prints a summary by outcome.
pub async fn import(args: &ImportArgs, globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    let t = target(globals)?;
    let store = open(&t).await?;
    let (messages, failures) = collect(&args.paths);
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    for m in &messages {
        let parsed = crate::parse::parse(&m.raw);
        let raw_sha256 = hex::encode(Sha256::digest(&m.raw));
        let staff = parsed
            .forwarded_by
            .as_deref()
            .is_some_and(|f| is_staff(f, &t.staff_addresses, &t.staff_domains));
        let r = store
            .ingest(&Incoming {
                origin: Origin::File { path: &m.origin },
                raw_sha256: &raw_sha256,
                size: m.raw.len() as u64,
                parsed: &parsed,
                forwarder_is_staff: staff,
            })
            .await
            .with_context(|| format!("cannot import `{}`", m.origin))?;
        *counts.entry(r.outcome.as_str()).or_default() += 1;
    }
    for f in &failures {
        eprintln!("leje: cannot read `{}`: {}", f.path.display(), f.error);
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({
            "messages": messages.len(),
            "outcomes": counts,
            "unreadable": failures.iter().map(|f| f.path.display().to_string()).collect::<Vec<_>>(),
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "{} message(s) read, {} unreadable",
            messages.len(),
            failures.len()
        )?;
        for (k, n) in &counts {
            writeln!(out, "  {k:<14} {n}")?;
        }
    }
    store.close().await;
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The case with this travel document, or an error naming it.
async fn case_for(store: &Store, doc: &str) -> anyhow::Result<super::Case> {
    store
        .case_by_document(doc)
        .await?
        .with_context(|| format!("no case with travel document `{doc}`"))
}

fn is_staff(addr: &str, addresses: &[String], domains: &[String]) -> bool {
    let addr = addr.to_lowercase();
    let domain = addr.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    addresses.contains(&addr) || domains.iter().any(|d| d == domain)
}

/// `leje cases …`
pub async fn cases(cmd: &CasesCmd, globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    let t = target(globals)?;
    let store = open(&t).await?;
    let mut out = std::io::stdout().lock();
    match cmd {
        CasesCmd::List {
            stage,
            directorate,
            json,
        } => {
            let list = store
                .cases(CaseFilter {
                    stage: *stage,
                    directorate: *directorate,
                })
                .await?;
            if *json {
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            } else {
                print_cases(&mut out, &list)?;
            }
        }
        CasesCmd::Show { doc, json } => {
            let case = case_for(&store, doc).await?;
            show(&store, &mut out, &case, *json).await?;
        }
        CasesCmd::Waybill {
            doc,
            number,
            output,
        } => {
            let case = case_for(&store, doc).await?;
            let list = store.case_waybills(case.id).await?;
            let w = number
                .checked_sub(1)
                .and_then(|i| list.get(i))
                .with_context(|| {
                    format!(
                        "case `{}` has {} waybill(s); there is no number {number}",
                        case.travel_document,
                        list.len()
                    )
                })?;
            let data = store.waybill_data(&w.sha256).await?.with_context(|| {
                format!(
                    "the contents of waybill {number} (sha256 `{}`) are missing from the store",
                    w.sha256
                )
            })?;
            if output.as_os_str() == "-" {
                out.write_all(&data)?;
            } else {
                super::write_private(output, &data)
                    .with_context(|| format!("cannot write `{}`", output.display()))?;
                writeln!(out, "wrote `{}` ({} bytes)", output.display(), data.len())?;
            }
        }
        CasesCmd::Advance { doc, to, note } => {
            let id = store
                .case_by_document(doc)
                .await?
                .with_context(|| format!("no case `{}`", super::redact_doc(doc)))?
                .id;
            let a = store
                .advance_as(
                    id,
                    *to,
                    Cause::Cli,
                    &cli_actor(),
                    note.as_deref(),
                    super::query::now(),
                )
                .await?;
            writeln!(
                out,
                "case {}: {} → {}",
                super::cases::normalise_doc(doc),
                a.from,
                a.to
            )?;
            for id in &a.outbox_ids {
                writeln!(out, "  queued email #{id}")?;
            }
        }
        CasesCmd::Review { json } => review(&store, &mut out, *json).await?,
        CasesCmd::Resolve { doc, keep, note } => {
            let id = store
                .case_by_document(doc)
                .await?
                .with_context(|| format!("no case `{}`", super::redact_doc(doc)))?
                .id;
            let a = store
                .resolve_as(id, *keep, &cli_actor(), note.as_deref())
                .await?;
            writeln!(
                out,
                "case {}: kept the {keep} values; {} → {}",
                super::cases::normalise_doc(doc),
                a.from,
                a.to
            )?;
        }
        CasesCmd::Export { .. } => {
            let list = store.cases(CaseFilter::default()).await?;
            export_csv(&mut out, &list)?;
        }
    }
    drop(out);
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `leje messages …`
pub async fn messages(
    cmd: &MessagesCmd,
    globals: &crate::cli::Globals,
) -> anyhow::Result<ExitCode> {
    let t = target(globals)?;
    let store = open(&t).await?;
    let MessagesCmd::List {
        outcome,
        limit,
        json,
    } = cmd;
    let list = store.messages(*outcome, *limit).await?;
    let mut out = std::io::stdout().lock();
    if *json {
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
    } else {
        let rows: Vec<[String; 6]> = list
            .iter()
            .map(|m| {
                let origin = match (&m.mailbox, &m.path) {
                    (Some(mb), _) => {
                        format!("{mb} {}/{}", m.uidvalidity.unwrap_or(0), m.uid.unwrap_or(0))
                    }
                    (None, Some(p)) => p.clone(),
                    _ => "-".into(),
                };
                [
                    m.at.format("%Y-%m-%d %H:%M").to_string(),
                    origin,
                    m.outcome.to_string(),
                    m.kind.clone().unwrap_or_else(|| "-".into()),
                    m.case_id
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".into()),
                    m.reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        table(
            &mut out,
            &["AT", "ORIGIN", "OUTCOME", "KIND", "CASE", "REASON"],
            &rows,
        )?;
        writeln!(out, "{} message(s)", list.len())?;
    }
    drop(out);
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_by_address_or_domain() {
        let a = vec!["desk@agency.al".to_string()];
        let d = vec!["relocate.example".to_string()];
        assert!(is_staff("Desk@Agency.al", &a, &d));
        assert!(is_staff("anyone@relocate.example", &a, &d));
        assert!(!is_staff("applicant@example.com", &a, &d));
    }
}
