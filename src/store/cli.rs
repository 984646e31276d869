//! `leje import`, `leje cases …`, `leje messages …`.
//!
//! Tables for people by default, JSON on request. The store is `--store`
//! (or `$LEJE_STORE`), else the configuration's `store`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::import::{self as local, Item};
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
    /// Set the facts the citizenship clock needs (date of birth, origin, statelessness, marriage).
    Set(crate::citizenship::cli::SetArgs),
    /// Add or remove a period of lawful residence (citizenship clock).
    Residence(crate::citizenship::cli::ResidenceArgs),
    /// Stop the reminders of a case (staff), until `cases resume`.
    Pause { doc: String },
    /// Resume the reminders of a paused, stalled or unsubscribed case.
    Resume { doc: String },
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

/// `max_message_size` when no mailbox is configured: the mailbox default.
const DEFAULT_MAX_MESSAGE_SIZE: u64 = 25 << 20;

/// Store URL, state directory and staff addresses for a CLI command.
struct Target {
    url: String,
    /// The largest `max_message_size` of the configured mailboxes (default 25 MB).
    max_message_size: u64,
    limits: crate::budget::Limits,
    state_dir: PathBuf,
    staff_addresses: Vec<String>,
    staff_domains: Vec<String>,
    citizenship: crate::config::CitizenshipSettings,
    trust: crate::config::TrustSettings,
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
        max_message_size: settings
            .mailboxes
            .iter()
            .map(|m| m.max_message_size)
            .max()
            .unwrap_or(DEFAULT_MAX_MESSAGE_SIZE),
        limits: settings.limits,
        state_dir,
        staff_addresses: settings.notify.staff_addresses,
        staff_domains: settings.notify.staff_domains,
        citizenship: settings.citizenship,
        trust: settings.trust,
    })
}

/// The store for `import`, created if missing.
async fn open(t: &Target) -> anyhow::Result<Store> {
    Ok(Store::open(&t.url, &t.state_dir).await?)
}

/// The store for `cases` and `messages`: never created (a missing one is an error naming it).
async fn open_existing(t: &Target) -> anyhow::Result<Store> {
    Ok(Store::open_existing(&t.url, &t.state_dir).await?)
}

/// The store the command line points at (`--store`, else the configuration's), opened
/// (created when missing: `leje staff add` may come before the first `leje run`).
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

/// `leje import PATH...`: parse and ingest every message, one at a time and each
/// under the daemon's size limit and per-message budget; prints a summary by outcome.
pub async fn import(args: &ImportArgs, globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    let t = target(globals)?;
    let store = open(&t).await?;
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut read = 0usize;
    let mut unreadable = Vec::new();
    // NOTE: one parser thread under the watchdog, fed one message at a time: a
    // message over its budget is recorded `failed` and the next one goes on.
    // NOTE: each message is judged (who sent it) on the parser thread, as in the daemon.
    let judge = crate::budget::pool::judge_with(Arc::new(crate::trust::Checker::new(&t.trust)));
    let mut parsers = crate::budget::pool::Parsers::start(1, t.limits, judge);
    for item in local::messages(&args.paths, t.max_message_size) {
        let (origin, outcome) = match item {
            Item::Unreadable(f) => {
                eprintln!("leje: cannot read `{}`: {}", f.path.display(), f.error);
                unreadable.push(f.path.display().to_string());
                continue;
            }
            Item::Oversize {
                origin,
                size,
                sha256,
                message_id,
            } => {
                let reason = format!(
                    "message is {size} bytes, over the limit of {} bytes (max_message_size)",
                    t.max_message_size
                );
                store
                    .record_unparsed(
                        &Origin::File { path: &origin },
                        message_id.as_deref(),
                        Some(&sha256),
                        size,
                        Outcome::Skipped,
                        &reason,
                    )
                    .await
                    .with_context(|| format!("cannot import `{origin}`"))?;
                (origin, Outcome::Skipped)
            }
            Item::Message(m) => {
                let size = m.raw.len();
                let sha = hex::encode(Sha256::digest(&m.raw));
                parsers.submit(0, m.raw);
                let p = parsers.next().await.context("the parser thread is gone")?;
                let outcome = match p.result {
                    Ok((raw_sha256, parsed, verdict)) => {
                        let staff = parsed
                            .forwarded_by
                            .as_deref()
                            .is_some_and(|f| is_staff(f, &t.staff_addresses, &t.staff_domains));
                        store
                            .ingest(&Incoming {
                                origin: Origin::File { path: &m.origin },
                                raw_sha256: &raw_sha256,
                                size: size as u64,
                                parsed: &parsed,
                                forwarder_is_staff: staff,
                                trust: &verdict,
                            })
                            .await
                            .with_context(|| format!("cannot import `{}`", m.origin))?
                            .outcome
                    }
                    Err(failure) => {
                        eprintln!("leje: `{}`: {failure}", m.origin);
                        store
                            .record_unparsed(
                                &Origin::File { path: &m.origin },
                                None,
                                Some(&sha),
                                size as u64,
                                Outcome::Failed,
                                &failure.to_string(),
                            )
                            .await
                            .with_context(|| format!("cannot import `{}`", m.origin))?;
                        Outcome::Failed
                    }
                };
                (m.origin, outcome)
            }
        };
        tracing::debug!(%origin, outcome = outcome.as_str(), "imported");
        read += 1;
        *counts.entry(outcome.as_str()).or_default() += 1;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({
            "messages": read,
            "outcomes": counts,
            "unreadable": unreadable,
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "{read} message(s) read, {} unreadable",
            unreadable.len()
        )?;
        for (k, n) in &counts {
            writeln!(out, "  {k:<14} {n}")?;
        }
    }
    store.close().await;
    Ok(if unreadable.is_empty() {
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
    let store = open_existing(&t).await?;
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
            let clock = crate::citizenship::cli::of_case(&store, &t.citizenship, &case).await?;
            show(&store, &mut out, &case, *json, &clock).await?;
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
        CasesCmd::Pause { doc } | CasesCmd::Resume { doc } => {
            let pause = matches!(cmd, CasesCmd::Pause { .. });
            let state = pause.then_some(super::RemindState::Paused);
            store.set_reminders(doc, state, chrono::Utc::now()).await?;
            let what = if pause { "paused" } else { "resumed" };
            writeln!(
                out,
                "reminders of case `{}` {what}",
                super::cases::normalise_doc(doc)
            )?;
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
            let clocks = crate::citizenship::cli::all(&store, &t.citizenship).await?;
            export_csv(&mut out, &list, &clocks)?;
        }
        CasesCmd::Set(a) => crate::citizenship::cli::set(&store, a, &mut out).await?,
        CasesCmd::Residence(a) => crate::citizenship::cli::residence(&store, a, &mut out).await?,
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
    let store = open_existing(&t).await?;
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
        let rows: Vec<[String; 7]> = list
            .iter()
            .map(|m| {
                // NOTE: mailbox and message number as a mail client shows them
                // (`permits #6`); the UIDVALIDITY that makes it unique is in `--json`.
                let origin = match (&m.mailbox, &m.path) {
                    (Some(mb), _) => format!("{mb} #{}", m.uid.unwrap_or(0)),
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
                    super::output::trust_label(m).into(),
                    m.reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        table(
            &mut out,
            &["AT", "ORIGIN", "OUTCOME", "KIND", "CASE", "TRUST", "REASON"],
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
