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
use super::{
    parse_directorate, Case, CaseFilter, Cause, Incoming, Keep, Origin, Outcome, Stage, Store,
};
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
    // the waybills beside that database rather than in /var/lib/leje.
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
            let case = store
                .case_by_document(doc)
                .await?
                .with_context(|| format!("no case with travel document `{doc}`"))?;
            show(&store, &mut out, &case, *json).await?;
        }
        CasesCmd::Advance { doc, to, note } => {
            let a = store.advance(doc, *to, Cause::Cli, note.as_deref()).await?;
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
            let a = store.resolve_review(doc, *keep, note.as_deref()).await?;
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

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

fn dir_name(d: Option<Directorate>) -> String {
    d.map(super::types::directorate_str)
        .unwrap_or_else(|| "-".into())
}

fn print_cases(out: &mut impl Write, list: &[Case]) -> std::io::Result<()> {
    let rows: Vec<[String; 7]> = list
        .iter()
        .map(|c| {
            [
                c.travel_document.clone(),
                opt(&c.name).to_owned(),
                opt(&c.nationality).to_owned(),
                dir_name(c.directorate),
                c.stage.to_string(),
                c.contacts.join(", "),
                c.updated_at.format("%Y-%m-%d %H:%M").to_string(),
            ]
        })
        .collect();
    table(
        out,
        &[
            "DOCUMENT",
            "NAME",
            "NATIONALITY",
            "DIRECTORATE",
            "STAGE",
            "CONTACTS",
            "UPDATED",
        ],
        &rows,
    )?;
    writeln!(out, "{} case(s)", list.len())
}

/// Left-aligned columns sized to their widest cell.
fn table<const N: usize>(
    out: &mut impl Write,
    head: &[&str; N],
    rows: &[[String; N]],
) -> std::io::Result<()> {
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == N {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(w[i] - c.chars().count() + 2));
            }
        }
        s
    };
    writeln!(out, "{}", line(head.to_vec()))?;
    for r in rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

async fn show(store: &Store, out: &mut impl Write, c: &Case, json: bool) -> anyhow::Result<()> {
    let events = store.case_events(c.id).await?;
    let waybills = store.case_waybills(c.id).await?;
    let conflicts = store.case_conflicts(c.id, false).await?;
    let emails: Vec<_> = store
        .outbox_list(None)
        .await?
        .into_iter()
        .filter(|o| o.case_id == c.id)
        .collect();
    if json {
        let v = serde_json::json!({
            "case": c, "events": events, "waybills": waybills,
            "conflicts": conflicts, "emails": emails,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    writeln!(out, "Case {} (#{})", c.travel_document, c.id)?;
    writeln!(out, "  name:        {}", opt(&c.name))?;
    writeln!(out, "  nationality: {}", opt(&c.nationality))?;
    writeln!(out, "  directorate: {}", dir_name(c.directorate))?;
    writeln!(out, "  contacts:    {}", c.contacts.join(", "))?;
    writeln!(out, "  stage:       {}", c.stage)?;
    if let Some(d) = c.next_due {
        writeln!(out, "  next due:    {}", d.format("%Y-%m-%d"))?;
    }
    writeln!(
        out,
        "  created:     {}",
        c.created_at.format("%Y-%m-%d %H:%M UTC")
    )?;
    writeln!(out, "History:")?;
    for e in &events {
        let from = e
            .from_stage
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "  {}  {from} → {}  ({}){}",
            e.at.format("%Y-%m-%d %H:%M"),
            e.to_stage,
            e.cause,
            e.detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )?;
    }
    if !waybills.is_empty() {
        writeln!(out, "Waybills:")?;
        for w in &waybills {
            let amount = w
                .amount_lek
                .map(|a| format!("{a} Lek"))
                .unwrap_or_else(|| "amount unknown".into());
            writeln!(
                out,
                "  {} ({}, {} bytes, {amount})  {}",
                w.filename.as_deref().unwrap_or("(no name)"),
                w.content_type,
                w.size,
                w.path.display()
            )?;
        }
    }
    if !conflicts.is_empty() {
        writeln!(out, "Conflicts:")?;
        for k in &conflicts {
            writeln!(
                out,
                "  {}: old `{}`, new `{}`{}",
                k.field,
                opt(&k.old_value),
                opt(&k.new_value),
                k.resolution
                    .as_deref()
                    .map(|r| format!(" (resolved: kept {r})"))
                    .unwrap_or_default()
            )?;
        }
    }
    if !emails.is_empty() {
        writeln!(out, "Emails:")?;
        for o in &emails {
            writeln!(
                out,
                "  #{} {} {} (attempts {})",
                o.id, o.kind, o.status, o.attempts
            )?;
        }
    }
    Ok(())
}

async fn review(store: &Store, out: &mut impl Write, json: bool) -> anyhow::Result<()> {
    let list = store
        .cases(CaseFilter {
            stage: Some(Stage::NeedsReview),
            directorate: None,
        })
        .await?;
    let mut items = Vec::new();
    for c in &list {
        let conflicts = store.case_conflicts(c.id, true).await?;
        let from = store.review_from(c.id).await?;
        let reason = store.case_events(c.id).await?.pop().and_then(|e| e.detail);
        items.push((c, conflicts, from, reason));
    }
    if json {
        let v: Vec<_> = items
            .iter()
            .map(|(c, k, from, reason)| {
                serde_json::json!({"case": c, "conflicts": k, "returns_to": from, "reason": reason})
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    if items.is_empty() {
        writeln!(out, "No cases need review.")?;
        return Ok(());
    }
    for (c, conflicts, from, reason) in &items {
        let back = from
            .map(|s| s.to_string())
            .unwrap_or_else(|| "approved".into());
        writeln!(
            out,
            "{}  {}  (returns to {back})",
            c.travel_document,
            opt(&c.name)
        )?;
        if let Some(r) = reason {
            writeln!(out, "  why: {r}")?;
        }
        for k in conflicts {
            writeln!(
                out,
                "  {}: old `{}` | new `{}`",
                k.field,
                opt(&k.old_value),
                opt(&k.new_value)
            )?;
        }
        writeln!(
            out,
            "  resolve: leje cases resolve {} --keep old   (or --keep new)\n",
            c.travel_document
        )?;
    }
    writeln!(out, "{} case(s) need review", items.len())?;
    Ok(())
}

/// RFC 4180 field: quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn export_csv(out: &mut impl Write, list: &[Case]) -> std::io::Result<()> {
    writeln!(
        out,
        "travel_document,name,nationality,directorate,stage,contacts,language,next_due,created_at,updated_at"
    )?;
    for c in list {
        let cells = [
            c.travel_document.clone(),
            c.name.clone().unwrap_or_default(),
            c.nationality.clone().unwrap_or_default(),
            c.directorate
                .map(super::types::directorate_str)
                .unwrap_or_default(),
            c.stage.to_string(),
            c.contacts.join(" "),
            c.language
                .map(|l| super::types::language_str(l).to_owned())
                .unwrap_or_default(),
            c.next_due.map(|d| d.to_rfc3339()).unwrap_or_default(),
            c.created_at.to_rfc3339(),
            c.updated_at.to_rfc3339(),
        ];
        let line: Vec<String> = cells.iter().map(|s| csv_field(s)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
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
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn staff_by_address_or_domain() {
        let a = vec!["desk@agency.al".to_string()];
        let d = vec!["relocate.example".to_string()];
        assert!(is_staff("Desk@Agency.al", &a, &d));
        assert!(is_staff("anyone@relocate.example", &a, &d));
        assert!(!is_staff("applicant@example.com", &a, &d));
    }
}
