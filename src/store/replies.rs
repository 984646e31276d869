//! Mail attached to a case (issue 20): applicants' replies to leje's email,
//! auto-replies and bounces of it, and the Directorate's follow-ups.
//!
//! Called from the ingest transaction for a message that is not a
//! notification but whose [`crate::parse::Thread`] may tie it to a case. A
//! reply waits for staff ("waiting for an answer") until marked answered; a
//! bounce marks the address bad and sends the case to review; an auto-reply is
//! only recorded. Nothing here ever answers a message.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::cases::{insert_event, load_by_id, transition, MINTED_DOMAIN};
use super::ingest::Decision;
use super::query::{q, Row, Tx};
use super::{Cause, Incoming, Outcome, Stage, Store, StoreError};
use crate::parse::{Kind, ParsedMessage};

/// Most candidates looked up per message.
const MAX_LOOKUP: usize = 16;

/// What kind of mail is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// The applicant answered leje's email.
    Reply,
    /// An automatic answer (vacation notice …) to leje's email.
    AutoReply,
    /// leje's email could not be delivered.
    Bounce,
    /// Other mail from the Directorate naming the case's travel document.
    Directorate,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Reply => "reply",
            MailKind::AutoReply => "auto_reply",
            MailKind::Bounce => "bounce",
            MailKind::Directorate => "directorate",
        }
    }

    fn parse(s: &str) -> Result<MailKind, StoreError> {
        Ok(match s {
            "reply" => MailKind::Reply,
            "auto_reply" => MailKind::AutoReply,
            "bounce" => MailKind::Bounce,
            "directorate" => MailKind::Directorate,
            o => return Err(StoreError::Corrupt(format!("case_mail kind `{o}`"))),
        })
    }

    /// Whether staff should answer or act on it.
    pub fn waits_for_staff(self) -> bool {
        matches!(self, MailKind::Reply | MailKind::Directorate)
    }
}

impl Serialize for MailKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A file that came with attached mail; its contents are [`Store::waybill_data`] of `sha256`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailFile {
    pub filename: Option<String>,
    pub content_type: String,
    pub sha256: String,
    pub size: u64,
}

/// One message attached to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseMail {
    pub id: i64,
    pub case_id: i64,
    pub kind: MailKind,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
    /// `None` while a reply or Directorate mail waits for staff.
    pub answered_at: Option<DateTime<Utc>>,
    pub files: Vec<MailFile>,
}

/// Attaches the message to the case it answers, if any; `None` leaves it to the
/// ordinary outcome (ignored, failed …).
pub(super) async fn attach(
    tx: &mut Tx,
    msg: &Incoming<'_>,
    pm: i64,
    at: DateTime<Utc>,
) -> Result<Option<Decision>, StoreError> {
    let p = msg.parsed;
    let t = &p.followup;
    if !t.is_candidate() {
        return Ok(None);
    }
    let office = from_office(p);
    let (case_id, kind) = match p.kind {
        Kind::Bounce | Kind::AutoReply => {
            let Some(id) = leje_case(tx, p).await? else {
                return Ok(None);
            };
            let kind = if p.kind == Kind::Bounce {
                MailKind::Bounce
            } else {
                MailKind::AutoReply
            };
            (id, kind)
        }
        Kind::Unrelated | Kind::Empty | Kind::Calendar => {
            let by_thread = case_of_ids(tx, &t.refs).await?;
            match by_thread {
                Some(id) => (
                    id,
                    if office {
                        MailKind::Directorate
                    } else {
                        MailKind::Reply
                    },
                ),
                None => {
                    let mut docs = t.subject_docs.clone();
                    if office {
                        docs.extend(t.text_docs.iter().cloned());
                    }
                    let Some(id) = case_of_docs(tx, &docs).await? else {
                        return Ok(None);
                    };
                    (
                        id,
                        if office {
                            MailKind::Directorate
                        } else {
                            MailKind::Reply
                        },
                    )
                }
            }
        }
        _ => return Ok(None),
    };
    let Some(l) = load_by_id(tx, case_id).await? else {
        return Ok(None);
    };
    let sender = p.forwarded_by.clone();
    let mut detail = None;
    let mut outcome = Outcome::CaseUpdated;
    let mut reason = format!("{} attached to the case", kind.as_str().replace('_', "-"));
    match kind {
        MailKind::Bounce => {
            let addr = t.failed_recipient.clone();
            if let Some(a) = &addr {
                tx.execute(
                    q("INSERT INTO bad_addresses (address, case_id, reason, at) VALUES ($1, $2, $3, $4) \
                       ON CONFLICT (address) DO NOTHING")
                    .bind(a)
                    .bind(case_id)
                    .bind("leje's email bounced")
                    .bind(at),
                )
                .await?;
            }
            let note = format!(
                "leje's email bounced{}; check the applicant's address",
                addr.as_deref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default()
            );
            detail = Some(note.clone());
            if l.case
                .stage
                .allowed_next(l.review_from)
                .contains(&Stage::NeedsReview)
            {
                transition(
                    tx,
                    &l,
                    Stage::NeedsReview,
                    Cause::Message,
                    Some(&note),
                    Some(pm),
                    at,
                )
                .await?;
            } else {
                note_event(tx, &l.case, &note, pm, at).await?;
            }
        }
        MailKind::AutoReply => {
            outcome = Outcome::Ignored;
            reason = "auto-reply to leje's email, recorded on the case".into();
        }
        MailKind::Reply => {
            note_event(
                tx,
                &l.case,
                "reply from the applicant: waiting for an answer",
                pm,
                at,
            )
            .await?;
        }
        MailKind::Directorate => {
            let ready = t.card_ready
                && msg.trust.original_verified
                && l.case
                    .stage
                    .allowed_next(l.review_from)
                    .contains(&Stage::CardReady)
                && l.case.stage != Stage::NeedsReview;
            if ready {
                let note = "the Directorate wrote that the card is ready";
                transition(
                    tx,
                    &l,
                    Stage::CardReady,
                    Cause::Message,
                    Some(note),
                    Some(pm),
                    at,
                )
                .await?;
                detail = Some(note.into());
            } else {
                note_event(tx, &l.case, "mail from the Directorate: for staff", pm, at).await?;
            }
        }
    }
    let row = tx
        .fetch_one(
            q("INSERT INTO case_mail (case_id, message, kind, sender, subject, detail, at, answered_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
            .bind(case_id)
            .bind(pm)
            .bind(kind.as_str())
            .bind(sender)
            .bind(p.subject.as_deref().map(|s| s.chars().take(300).collect::<String>()))
            .bind(detail)
            .bind(at)
            .bind((!kind.waits_for_staff()).then_some(at)),
        )
        .await?;
    let mail_id: i64 = row.get("id")?;
    for f in &t.files {
        tx.execute(
            q("INSERT INTO waybill_data (sha256, data) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING")
                .bind(f.sha256.as_str())
                .bind(f.data.as_slice()),
        )
        .await?;
        tx.execute(
            q(
                "INSERT INTO case_mail_files (mail_id, filename, content_type, sha256, size) \
               VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(mail_id)
            .bind(f.filename.as_deref())
            .bind(f.content_type.as_str())
            .bind(f.sha256.as_str())
            .bind(f.size),
        )
        .await?;
    }
    Ok(Some(Decision::new(outcome, Some(reason), Some(case_id))))
}

/// A case event that leaves the stage as it is.
async fn note_event(
    tx: &mut Tx,
    case: &super::Case,
    detail: &str,
    pm: i64,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    insert_event(
        tx,
        case.id,
        at,
        Some(case.stage),
        case.stage,
        Cause::Message,
        Some(detail),
        Some(pm),
    )
    .await
}

/// Sender address under `gov.al` (the Immigration Office and Directorates).
fn from_office(p: &ParsedMessage) -> bool {
    p.forwarded_by
        .as_deref()
        .and_then(|a| a.rsplit_once('@'))
        .is_some_and(|(_, d)| d == "gov.al" || d.ends_with(".gov.al"))
}

/// The case a bounce or auto-reply is about: the returned `X-Leje-Case` if a
/// returned Message-ID confirms it (or none was returned), else by Message-ID.
async fn leje_case(tx: &mut Tx, p: &ParsedMessage) -> Result<Option<i64>, StoreError> {
    let t = &p.followup;
    let mut ids = t.returned_ids.clone();
    ids.extend(t.refs.iter().cloned());
    if let Some(id) = case_of_ids(tx, &ids).await? {
        return Ok(Some(id));
    }
    Ok(None)
}

/// Every form a Message-ID leje minted may have been sent under.
fn id_forms(id: &str) -> Vec<String> {
    let mut out = vec![id.to_string()];
    if let Some((local, _)) = id.split_once('@') {
        if local.starts_with("leje-") {
            out.push(format!("{local}@{MINTED_DOMAIN}"));
            out.push(format!("{local}@leje.invalid"));
        }
    }
    out
}

/// The case whose outbox sent one of these Message-IDs.
async fn case_of_ids(tx: &mut Tx, ids: &[String]) -> Result<Option<i64>, StoreError> {
    let forms: Vec<String> = ids
        .iter()
        .filter(|i| i.starts_with("leje-"))
        .flat_map(|i| id_forms(i))
        .take(MAX_LOOKUP * 3)
        .collect();
    for f in forms {
        let r = tx
            .fetch_optional(q("SELECT case_id FROM outbox WHERE message_id = $1").bind(f))
            .await?;
        if let Some(r) = r {
            return Ok(Some(r.get("case_id")?));
        }
    }
    Ok(None)
}

/// The one case whose travel document is among `docs` (none if several match).
async fn case_of_docs(tx: &mut Tx, docs: &[String]) -> Result<Option<i64>, StoreError> {
    let mut found: Option<i64> = None;
    for d in docs.iter().take(MAX_LOOKUP) {
        let r = tx
            .fetch_optional(q("SELECT id FROM cases WHERE travel_document = $1").bind(d.as_str()))
            .await?;
        if let Some(r) = r {
            let id: i64 = r.get("id")?;
            if found.is_some_and(|f| f != id) {
                return Ok(None);
            }
            found = Some(id);
        }
    }
    Ok(found)
}

fn mail_from_row(r: &Row) -> Result<CaseMail, StoreError> {
    Ok(CaseMail {
        id: r.get("id")?,
        case_id: r.get("case_id")?,
        kind: MailKind::parse(&r.get::<String>("kind")?)?,
        sender: r.get("sender")?,
        subject: r.get("subject")?,
        detail: r.get("detail")?,
        at: r.get("at")?,
        answered_at: r.get("answered_at")?,
        files: Vec::new(),
    })
}

const MAIL_COLS: &str = "id, case_id, kind, sender, subject, detail, at, answered_at";

impl Store {
    /// Mail attached to a case, oldest first, with its files.
    pub async fn case_mail(&self, case_id: i64) -> Result<Vec<CaseMail>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(
                q(format!(
                    "SELECT {MAIL_COLS} FROM case_mail WHERE case_id = $1 ORDER BY id"
                ))
                .bind(case_id),
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut m = mail_from_row(r)?;
            m.files = files_of(&mut tx, m.id).await?;
            out.push(m);
        }
        Ok(out)
    }

    /// Replies and Directorate mail still waiting for staff, oldest first.
    pub async fn waiting_mail(&self) -> Result<Vec<CaseMail>, StoreError> {
        let mut tx = self.pool().read().await?;
        let rows = tx
            .fetch_all(q(format!(
                "SELECT {MAIL_COLS} FROM case_mail WHERE answered_at IS NULL ORDER BY id"
            )))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut m = mail_from_row(r)?;
            m.files = files_of(&mut tx, m.id).await?;
            out.push(m);
        }
        Ok(out)
    }

    /// Marks attached mail as answered (`leje replies done ID`).
    pub async fn mark_answered(&self, mail_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.pool().write().await?;
        let n = tx
            .execute(
                q("UPDATE case_mail SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL")
                    .bind(super::query::trunc(now))
                    .bind(mail_id),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "no reply {mail_id} waiting for an answer"
            )));
        }
        tx.commit().await
    }

    /// Whether mail to this address bounced before.
    pub async fn is_bad_address(&self, address: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool().read().await?;
        let r = tx
            .fetch_optional(
                q("SELECT address FROM bad_addresses WHERE address = $1")
                    .bind(address.to_lowercase()),
            )
            .await?;
        Ok(r.is_some())
    }
}

async fn files_of(tx: &mut Tx, mail_id: i64) -> Result<Vec<MailFile>, StoreError> {
    let rows = tx
        .fetch_all(
            q(
                "SELECT filename, content_type, sha256, size FROM case_mail_files \
               WHERE mail_id = $1 ORDER BY id",
            )
            .bind(mail_id),
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(MailFile {
                filename: r.get("filename")?,
                content_type: r.get("content_type")?,
                sha256: r.get("sha256")?,
                size: r.get_u64("size")?,
            })
        })
        .collect()
}

/// The reminder state and attached mail, for `leje cases show`.
pub(super) fn print_followup(
    out: &mut impl std::io::Write,
    f: Option<&super::Followup>,
    mail: &[CaseMail],
) -> std::io::Result<()> {
    if let Some(f) = f {
        let state = f.state.map(|s| s.as_str()).unwrap_or("active");
        writeln!(
            out,
            "  reminders:   {state}, {} sent in this stage (counting from {})",
            f.reminders_sent,
            f.remind_from.format("%Y-%m-%d %H:%M UTC")
        )?;
    }
    let waiting = mail.iter().filter(|m| m.answered_at.is_none()).count();
    if waiting > 0 {
        writeln!(
            out,
            "  WAITING FOR AN ANSWER: {waiting} message(s) (`leje replies list`)"
        )?;
    }
    if mail.is_empty() {
        return Ok(());
    }
    writeln!(out, "Mail:")?;
    for m in mail {
        writeln!(
            out,
            "  #{} {}  {}  from {}  \"{}\"{}",
            m.id,
            m.at.format("%Y-%m-%d %H:%M"),
            m.kind.as_str(),
            m.sender.as_deref().unwrap_or("?"),
            m.subject.as_deref().unwrap_or(""),
            if m.answered_at.is_none() {
                "  [waiting]"
            } else {
                ""
            }
        )?;
        for f in &m.files {
            writeln!(
                out,
                "      file: {} ({}, {} bytes, sha256 {})",
                f.filename.as_deref().unwrap_or("(no name)"),
                f.content_type,
                f.size,
                &f.sha256[..f.sha256.len().min(12)]
            )?;
        }
    }
    Ok(())
}
