//! One case: its details, the moves allowed from its stage, its timeline,
//! waybills, emails and messages; and the actions on it (each a POST with the
//! session's CSRF token, each recorded with the staff member as actor).

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::{Deserialize, Serialize};

use super::{Console, Staff, WebError};
use crate::store::views::{MessageLine, OutboxLine, TimelineEntry};
use crate::store::{Case, CaseEdit, Cause, Conflict, Keep, Stage, StoredWaybill};

#[derive(Serialize)]
struct CasePage {
    case: Case,
    moves: Vec<&'static str>,
    timeline: Vec<TimelineEntry>,
    waybills: Vec<StoredWaybill>,
    emails: Vec<OutboxLine>,
    messages: Vec<MessageLine>,
    conflicts: Vec<Conflict>,
    language: &'static str,
    /// The citizenship clock and its facts (`None` when the clock is off).
    citizenship: Option<super::citizenship::Section>,
}

/// GET /cases/{id}
pub(crate) async fn show(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let store = c.store();
    let v = store.view_case_page(id).await?.ok_or(WebError::NotFound)?;
    let case = v.case;
    let conflicts = if case.stage == Stage::NeedsReview {
        store.case_conflicts(id, true).await?
    } else {
        Vec::new()
    };
    let page = CasePage {
        moves: case
            .stage
            .allowed_next(v.review_from)
            .iter()
            .map(|s| s.as_str())
            .collect(),
        timeline: v.timeline,
        waybills: store.case_waybills(id).await?,
        emails: v.emails,
        messages: v.messages,
        conflicts,
        citizenship: super::citizenship::section(&c, id).await?,
        language: case
            .language
            .map(crate::notify::templates::lang_code)
            .unwrap_or(""),
        case,
    };
    c.page("case.html", Some(&staff), page)
}

fn back_to(id: i64) -> Response {
    Redirect::to(&format!("/cases/{id}")).into_response()
}

#[derive(Deserialize)]
pub(crate) struct AdvanceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    note: String,
}

/// POST /cases/{id}/advance
pub(crate) async fn advance(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<i64>,
    Form(f): Form<AdvanceForm>,
) -> Result<Response, WebError> {
    staff.check_csrf(&f.csrf)?;
    let to: Stage = f.to.parse().map_err(|e: String| WebError::BadRequest(e))?;
    let note = Some(f.note.trim()).filter(|n| !n.is_empty());
    c.store()
        .advance_as(id, to, Cause::Staff, &staff.email, note, c.now())
        .await?;
    Ok(back_to(id))
}

#[derive(Deserialize)]
pub(crate) struct NoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// POST /cases/{id}/note
pub(crate) async fn note(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<i64>,
    Form(f): Form<NoteForm>,
) -> Result<Response, WebError> {
    staff.check_csrf(&f.csrf)?;
    if f.text.trim().is_empty() {
        return Err(WebError::BadRequest("the note is empty".into()));
    }
    c.store()
        .add_note(id, &staff.email, &f.text, c.now())
        .await?;
    Ok(back_to(id))
}

#[derive(Deserialize)]
pub(crate) struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    /// One address per line (or separated by commas).
    #[serde(default)]
    contacts: String,
    /// `en`, `sq` or empty (the configured default).
    #[serde(default)]
    language: String,
}

/// POST /cases/{id}/edit: each changed field is its own timeline entry.
pub(crate) async fn edit(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<i64>,
    Form(f): Form<EditForm>,
) -> Result<Response, WebError> {
    staff.check_csrf(&f.csrf)?;
    let contacts: Vec<String> = f
        .contacts
        .split(['\n', ',', ';'])
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    for a in &contacts {
        let ok = a.len() <= 254
            && !a
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
            && a.split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'));
        if !ok {
            return Err(WebError::BadRequest(format!(
                "`{a}` is not an email address"
            )));
        }
    }
    let language = match f.language.as_str() {
        "" => None,
        "en" => Some(crate::parse::Language::En),
        "sq" => Some(crate::parse::Language::Sq),
        other => return Err(WebError::BadRequest(format!("unknown language `{other}`"))),
    };
    let name = Some(f.name.trim().chars().take(300).collect::<String>()).filter(|n| !n.is_empty());
    let (store, now) = (c.store(), c.now());
    store
        .edit_case(id, CaseEdit::Name(name), &staff.email, now)
        .await?;
    store
        .edit_case(id, CaseEdit::Contacts(contacts), &staff.email, now)
        .await?;
    store
        .edit_case(id, CaseEdit::Language(language), &staff.email, now)
        .await?;
    Ok(back_to(id))
}

#[derive(Deserialize)]
pub(crate) struct ResolveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    keep: String,
    /// Where to go afterwards: `review` (the review page) or the case.
    #[serde(default)]
    back: String,
}

/// POST /cases/{id}/resolve: keep the case's values, or take the new message's.
pub(crate) async fn resolve(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<i64>,
    Form(f): Form<ResolveForm>,
) -> Result<Response, WebError> {
    staff.check_csrf(&f.csrf)?;
    let keep: Keep = f
        .keep
        .parse()
        .map_err(|e: String| WebError::BadRequest(e))?;
    c.store().resolve_as(id, keep, &staff.email, None).await?;
    if f.back == "review" {
        return Ok(Redirect::to("/review").into_response());
    }
    Ok(back_to(id))
}

/// What the bytes of a waybill are, by their first bytes (never by what the email said).
fn sniff(data: &[u8]) -> Option<(&'static str, &'static str)> {
    if data.starts_with(b"%PDF-") {
        Some(("application/pdf", "pdf"))
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if data.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(("image/jpeg", "jpg"))
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        Some(("image/gif", "gif"))
    } else if data.len() > 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else {
        None
    }
}

/// A filename safe in a header and on any disk: ASCII letters, digits, `-_.`,
/// at most 80 characters, with the extension of what the bytes are.
fn safe_filename(name: Option<&str>, ext: &str) -> String {
    let stem: String = name
        .unwrap_or("waybill")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("waybill")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let stem = stem.trim_matches('_');
    let stem = stem.strip_suffix(&format!("_{ext}")).unwrap_or(stem);
    let stem = if stem.is_empty() { "waybill" } else { stem };
    format!("{stem}.{ext}")
}

#[derive(Deserialize)]
pub(crate) struct WaybillQuery {
    #[serde(default)]
    download: Option<String>,
}

/// GET /cases/{id}/waybills/{sha}: only a PDF or an image, only of this case.
pub(crate) async fn waybill(
    State(c): State<Console>,
    Path((id, sha)): Path<(i64, String)>,
    axum::extract::Query(wq): axum::extract::Query<WaybillQuery>,
) -> Result<Response, WebError> {
    let store = c.store();
    let w = store
        .case_waybills(id)
        .await?
        .into_iter()
        .find(|w| w.sha256 == sha)
        .ok_or(WebError::NotFound)?;
    let data = store
        .waybill_data(&w.sha256)
        .await?
        .ok_or(WebError::NotFound)?;
    let Some((ctype, ext)) = sniff(&data) else {
        return Err(WebError::Forbidden(
            "this attachment is neither a PDF nor an image; it is not served",
        ));
    };
    let name = safe_filename(w.filename.as_deref(), ext);
    let disposition = if wq.download.is_some() {
        "attachment"
    } else {
        "inline"
    };
    let mut r = data.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'none'",
        ),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waybills_are_sniffed_and_named_safely() {
        assert_eq!(sniff(b"%PDF-1.7 ...").unwrap().0, "application/pdf");
        assert!(sniff(b"<html><script>").is_none());
        assert!(sniff(b"MZ\x90\x00").is_none());
        assert_eq!(
            safe_filename(Some("../../etc/pass\"wd.pdf"), "pdf"),
            "pass_wd.pdf"
        );
        assert_eq!(
            safe_filename(Some("fletë pagesa.exe"), "pdf"),
            "flet__pagesa_exe.pdf"
        );
        assert_eq!(safe_filename(None, "png"), "waybill.png");
    }
}
