//! Output of the store commands: aligned tables, case details, the review
//! queue and CSV. JSON goes straight through serde.
//!
//! Every value that came from an email is shown through
//! [`crate::sanitize::visible`]: control characters appear as `\u{1b}`, never raw.

use std::io::Write;

use super::{Case, CaseFilter, Stage, Store};
use crate::parse::Directorate;

use crate::sanitize::visible;

/// The value shown visibly, or `-`.
fn opt(s: &Option<String>) -> std::borrow::Cow<'_, str> {
    visible(s.as_deref().unwrap_or("-"))
}

fn dir_name(d: Option<Directorate>) -> String {
    d.map(super::types::directorate_str)
        .unwrap_or_else(|| "-".into())
}

pub(super) fn print_cases(out: &mut impl Write, list: &[Case]) -> std::io::Result<()> {
    let rows: Vec<[String; 7]> = list
        .iter()
        .map(|c| {
            [
                c.travel_document.clone(),
                opt(&c.name).into_owned(),
                opt(&c.nationality).into_owned(),
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

/// Left-aligned columns sized to their widest cell; every cell shown visibly.
pub(super) fn table<const N: usize>(
    out: &mut impl Write,
    head: &[&str; N],
    rows: &[[String; N]],
) -> std::io::Result<()> {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|r| r.clone().map(|c| visible(&c).into_owned()))
        .collect();
    let rows = &rows[..];
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

pub(super) async fn show(
    store: &Store,
    out: &mut impl Write,
    c: &Case,
    json: bool,
    citizenship: &crate::citizenship::Listed,
) -> anyhow::Result<()> {
    let events = store.case_events(c.id).await?;
    let waybills = store.case_waybills(c.id).await?;
    let conflicts = store.case_conflicts(c.id, false).await?;
    let emails: Vec<_> = store
        .outbox_list(None)
        .await?
        .into_iter()
        .filter(|o| o.case_id == c.id)
        .collect();
    let followup = store.followup(c.id).await?;
    let mail = store.case_mail(c.id).await?;
    let messages = store.case_messages(c.id).await?;
    if json {
        let v = serde_json::json!({
            "case": c, "events": events, "waybills": waybills,
            "conflicts": conflicts, "emails": emails, "citizenship": citizenship,
            "reminders": followup, "mail": mail, "messages": messages,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    writeln!(out, "Case {} (#{})", c.travel_document, c.id)?;
    writeln!(out, "  name:        {}", opt(&c.name))?;
    writeln!(out, "  nationality: {}", opt(&c.nationality))?;
    writeln!(out, "  directorate: {}", dir_name(c.directorate))?;
    writeln!(out, "  contacts:    {}", visible(&c.contacts.join(", ")))?;
    writeln!(out, "  stage:       {}", c.stage)?;
    if let Some(d) = c.next_due {
        writeln!(out, "  next due:    {}", d.format("%Y-%m-%d"))?;
    }
    writeln!(
        out,
        "  created:     {}",
        c.created_at.format("%Y-%m-%d %H:%M UTC")
    )?;
    super::replies::print_followup(out, followup.as_ref(), &mail)?;
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
                .map(|d| format!(": {}", visible(d)))
                .unwrap_or_default()
        )?;
    }
    if !messages.is_empty() {
        writeln!(out, "Messages (who sent them):")?;
        for m in &messages {
            writeln!(
                out,
                "  #{}  {}  {}  {}",
                m.id,
                m.at.format("%Y-%m-%d %H:%M"),
                trust_label(m),
                m.trust_reason
                    .as_deref()
                    .unwrap_or("stored before sender checks")
            )?;
        }
    }
    if !waybills.is_empty() {
        writeln!(
            out,
            "Waybills (save one with `leje cases waybill {} --number N --output FILE`):",
            c.travel_document
        )?;
        for (n, w) in waybills.iter().enumerate() {
            let amount = w
                .amount_lek
                .map(|a| format!("{a} Lek"))
                .unwrap_or_else(|| "amount unknown".into());
            writeln!(
                out,
                "  {}. {} ({}, {} bytes, {amount})",
                n + 1,
                visible(w.filename.as_deref().unwrap_or("(no name)")),
                visible(&w.content_type),
                w.size,
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
    crate::citizenship::cli::print_case(out, citizenship)?;
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

pub(super) async fn review(store: &Store, out: &mut impl Write, json: bool) -> anyhow::Result<()> {
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
            writeln!(out, "  why: {}", visible(r))?;
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
    let s = &*visible(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub(super) fn export_csv(
    out: &mut impl Write,
    list: &[Case],
    citizenship: &std::collections::HashMap<i64, crate::citizenship::Listed>,
) -> std::io::Result<()> {
    writeln!(
        out,
        "travel_document,name,nationality,directorate,stage,contacts,language,next_due,created_at,updated_at,{}",
        crate::citizenship::cli::CSV_HEAD
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
        let mut line: Vec<String> = cells.iter().map(|s| csv_field(s)).collect();
        let cz = crate::citizenship::cli::csv_cells(citizenship.get(&c.id));
        line.extend(cz.iter().map(|s| csv_field(s)));
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}

/// One word for a message's trust verdict: `trusted`, `untrusted`, or `-` (stored
/// before schema 8).
pub(super) fn trust_label(m: &super::MessageRecord) -> &'static str {
    match m.trusted {
        Some(true) => "trusted",
        Some(false) => "untrusted",
        None => "-",
    }
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
}
