//! `leje citizenship`, `leje cases set` and `leje cases residence`, and the
//! citizenship part of `cases show` and `cases export`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{NaiveDate, Utc};

use super::{listed, tirane_date, Listed, Status};
use crate::config::CitizenshipSettings;
use crate::store::{Case, FactsChange, Marriage, Store};

/// `leje citizenship`
#[derive(Debug, clap::Args)]
pub struct CitizenshipArgs {
    /// Only cases with a route open on or before this day (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    pub eligible_by: Option<NaiveDate>,
    /// Count as if today were this day (YYYY-MM-DD, Europe/Tirane). Default: today.
    #[arg(long, value_parser = parse_date)]
    pub today: Option<NaiveDate>,
    /// An array of JSON objects instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `leje cases set DOC …`: the facts the citizenship rules need.
#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// Travel-document number (spaces and case ignored).
    pub doc: String,
    /// Date of birth (YYYY-MM-DD), or `unknown`.
    #[arg(long, value_parser = parse_opt_date)]
    pub born: Option<Known<NaiveDate>>,
    /// Married to an Albanian citizen since (YYYY-MM-DD), `no`, or `unknown`.
    #[arg(long, value_parser = parse_marriage)]
    pub married_albanian_since: Option<Marriage>,
    /// Of Albanian origin up to the second degree: `yes`, `no` or `unknown`.
    #[arg(long, value_parser = parse_yes_no)]
    pub albanian_origin: Option<Known<bool>>,
    /// Stateless: `yes`, `no` or `unknown`.
    #[arg(long, value_parser = parse_yes_no)]
    pub stateless: Option<Known<bool>>,
}

/// A fact as given on the command line: a value, or `unknown` (`None`).
// NOTE: not `Option<Option<T>>`, which clap reads as a flag with an optional value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known<T>(pub Option<T>);

/// `leje cases residence DOC add|remove FROM [TO]`
#[derive(Debug, clap::Args)]
pub struct ResidenceArgs {
    /// Travel-document number (spaces and case ignored).
    pub doc: String,
    /// `add` a period of lawful residence (or change the end of the one starting
    /// on FROM); `remove FROM` removes the period entered from FROM; `remove FROM TO`
    /// records an absence (not resident from FROM to TO), which cuts any period.
    #[arg(value_parser = ["add", "remove"])]
    pub action: String,
    /// First day (YYYY-MM-DD).
    #[arg(value_parser = parse_date)]
    pub from: NaiveDate,
    /// Last day (YYYY-MM-DD); without it the period is still going on.
    #[arg(value_parser = parse_date)]
    pub to: Option<NaiveDate>,
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date written YYYY-MM-DD"))
}

fn parse_opt_date(s: &str) -> Result<Known<NaiveDate>, String> {
    match s.trim() {
        "unknown" => Ok(Known(None)),
        _ => parse_date(s).map(|d| Known(Some(d))),
    }
}

pub(crate) fn parse_yes_no(s: &str) -> Result<Known<bool>, String> {
    match s.trim().to_lowercase().as_str() {
        "yes" => Ok(Known(Some(true))),
        "no" => Ok(Known(Some(false))),
        "unknown" => Ok(Known(None)),
        _ => Err(format!("`{s}` is not one of `yes`, `no`, `unknown`")),
    }
}

pub(crate) fn parse_marriage(s: &str) -> Result<Marriage, String> {
    match s.trim() {
        "no" => Ok(Marriage::No),
        "unknown" => Ok(Marriage::Unknown),
        _ => parse_date(s)
            .map(Marriage::Since)
            .map_err(|e| format!("{e}, `no` or `unknown`")),
    }
}

/// Who made a change from the command line, for the case's history.
fn actor() -> String {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_default();
    if user.is_empty() {
        "cli".into()
    } else {
        format!("cli ({user})")
    }
}

/// Today in Europe/Tirane.
pub fn today() -> NaiveDate {
    tirane_date(Utc::now())
}

/// `cases set`.
pub async fn set(store: &Store, a: &SetArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let change = FactsChange {
        born: a.born.map(|k| k.0),
        albanian_origin: a.albanian_origin.map(|k| k.0),
        stateless: a.stateless.map(|k| k.0),
        marriage: a.married_albanian_since,
    };
    if change == FactsChange::default() {
        anyhow::bail!(
            "nothing to set: give --born, --married-albanian-since, --albanian-origin or --stateless"
        );
    }
    let (_, lines) = store.citizenship_set(&a.doc, &change, &actor()).await?;
    if lines.is_empty() {
        writeln!(out, "nothing changed")?;
    }
    for l in lines {
        writeln!(out, "{l}")?;
    }
    Ok(())
}

/// `cases residence`.
pub async fn residence(
    store: &Store,
    a: &ResidenceArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if a.action == "add" {
        store.residence_add(&a.doc, a.from, a.to, &actor()).await?;
        let until =
            a.to.map(|t| t.to_string())
                .unwrap_or_else(|| "ongoing".into());
        writeln!(out, "residence period {} – {until} added", a.from)?;
    } else {
        store
            .residence_remove(&a.doc, a.from, a.to, &actor())
            .await?;
        match a.to {
            None => writeln!(out, "residence period from {} removed", a.from)?,
            Some(to) => writeln!(out, "not resident from {} to {to}: recorded", a.from)?,
        }
    }
    Ok(())
}

/// The citizenship clock of one case, for `cases show`.
pub async fn of_case(
    store: &Store,
    settings: &CitizenshipSettings,
    case: &Case,
) -> anyhow::Result<Listed> {
    let rec = store
        .citizenship_records(Some(case.id))
        .await?
        .pop()
        .with_context(|| format!("case {} disappeared", case.id))?;
    Ok(listed(&rec, settings, today()))
}

/// Every case's clock, by case id, for `cases export`.
pub async fn all(
    store: &Store,
    settings: &CitizenshipSettings,
) -> anyhow::Result<std::collections::HashMap<i64, Listed>> {
    let today = today();
    Ok(store
        .citizenship_records(None)
        .await?
        .iter()
        .map(|r| (r.case.id, listed(r, settings, today)))
        .collect())
}

/// The citizenship columns of `cases export --csv`.
pub const CSV_HEAD: &str =
    "residence_since,general_opens_on,albanian_origin_opens_on,marriage_opens_on,citizenship_earliest";

/// The cells under [`CSV_HEAD`] (empty where unknown).
pub fn csv_cells(l: Option<&Listed>) -> [String; 5] {
    let d = |v: Option<NaiveDate>| v.map(|d| d.to_string()).unwrap_or_default();
    let Some(l) = l else {
        return Default::default();
    };
    let route = |i: usize| d(l.routes.get(i).and_then(|r| r.opens_on));
    [
        d(l.residence_since),
        route(0),
        route(1),
        route(2),
        d(l.earliest),
    ]
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
}

/// One route in a table cell: its date, or why there is none.
fn cell(l: &Listed, i: usize) -> String {
    let Some(r) = l.routes.get(i) else {
        return "-".into();
    };
    match r.status {
        Status::Open => format!("{} (open)", date(r.opens_on)),
        Status::Opens => date(r.opens_on),
        Status::Unknown => "unknown".into(),
        Status::NotApplicable => "n/a".into(),
        Status::NotResident => "not resident".into(),
    }
}

/// The lines `cases show` prints.
pub fn print_case(out: &mut impl Write, l: &Listed) -> std::io::Result<()> {
    writeln!(out, "Citizenship (Law No. 8389; check the law in force):")?;
    writeln!(out, "  residence since: {}", date(l.residence_since))?;
    for r in &l.routes {
        let missing = if r.missing.is_empty() {
            String::new()
        } else {
            format!("; missing: {}", r.missing.join(", "))
        };
        let state = serde_json::to_value(r.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}: {} ({state}{missing})",
            r.route,
            date(r.opens_on)
        )?;
        for w in &r.why {
            writeln!(out, "      {w}")?;
        }
    }
    for n in &l.notes {
        writeln!(out, "  note: {n}")?;
    }
    if !l.notified.is_empty() {
        writeln!(out, "  emailed: {}", l.notified.join(", "))?;
    }
    Ok(())
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
    let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    for r in std::iter::once(&head[..]).chain(rows.iter().map(|r| &r[..])) {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < N {
                line.push_str(&" ".repeat(w[i] - c.chars().count() + 2));
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// `leje citizenship`.
pub async fn run(a: &CitizenshipArgs, globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    let settings = crate::config::load_for(globals).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !settings.citizenship.enabled {
        anyhow::bail!("the citizenship clock is off (`[citizenship] enabled = false`)");
    }
    let store = Store::open_existing(&settings.store_url, &settings.state_dir).await?;
    let today = a.today.unwrap_or_else(today);
    let recs = store.citizenship_records(None).await?;
    store.close().await;
    let list: Vec<Listed> = recs
        .iter()
        .map(|r| listed(r, &settings.citizenship, today))
        .filter(|l| match a.eligible_by {
            Some(by) => l.earliest.is_some_and(|e| e <= by),
            None => true,
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 7]> = list
        .iter()
        .map(|l| {
            [
                l.travel_document.clone(),
                l.name.clone().unwrap_or_else(|| "-".into()),
                date(l.residence_since),
                cell(l, 0),
                cell(l, 1),
                cell(l, 2),
                date(l.earliest),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "DOCUMENT",
            "NAME",
            "RESIDENT SINCE",
            "GENERAL (ART. 9)",
            "ORIGIN (ART. 9)",
            "MARRIAGE (ART. 10)",
            "EARLIEST",
        ],
        &rows,
    )?;
    writeln!(
        out,
        "{} case(s) on {today}; periods of Law No. 8389 (check the law in force)",
        list.len()
    )?;
    Ok(ExitCode::SUCCESS)
}
