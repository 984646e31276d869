//! Review (conflicts side by side), Outbox (emails, one rendered, retry) and
//! Messages (what was done with each email received, by outcome).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::{Deserialize, Serialize};

use super::{Console, Staff, WebError};
use crate::store::views::{CaseQuery, CaseSort, MessageLine, OutboxLine};
use crate::store::{Case, Conflict, Outcome, Stage};

const PAGE: u64 = 50;

#[derive(Serialize)]
struct ReviewItem {
    case: Case,
    conflicts: Vec<Conflict>,
}

/// GET /review: every case waiting for a decision, oldest change first.
pub(crate) async fn review(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
) -> Result<Response, WebError> {
    let store = c.store();
    let cases = store
        .view_cases(&CaseQuery {
            stage: Some(Stage::NeedsReview),
            sort: CaseSort::Updated,
            limit: PAGE,
            ..Default::default()
        })
        .await?;
    let mut items = Vec::with_capacity(cases.len());
    for case in cases {
        let conflicts = store.case_conflicts(case.id, true).await?;
        items.push(ReviewItem { case, conflicts });
    }
    c.page(
        "review.html",
        Some(&staff),
        serde_json::json!({ "items": items }),
    )
}

#[derive(Deserialize)]
pub(crate) struct ListParams {
    #[serde(default)]
    status: String,
    #[serde(default)]
    outcome: String,
    /// Rows older than this id (the next page).
    #[serde(default)]
    before: Option<i64>,
}

#[derive(Serialize)]
struct OutboxPage {
    rows: Vec<OutboxLine>,
    status: String,
    statuses: Vec<&'static str>,
    next: Option<i64>,
}

/// GET /outbox
pub(crate) async fn outbox(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Query(p): Query<ListParams>,
) -> Result<Response, WebError> {
    let status = Some(p.status.trim()).filter(|s| !s.is_empty() && s.len() < 40);
    let mut rows = c.store().view_outbox(status, p.before, PAGE + 1).await?;
    let next = (rows.len() as u64 > PAGE).then(|| rows[PAGE as usize - 1].id);
    rows.truncate(PAGE as usize);
    let page = OutboxPage {
        rows,
        status: status.unwrap_or("").to_string(),
        // NOTE: statuses other than these (e.g. `held`) are listed as they are
        // and can be filtered by ?status=…
        statuses: vec!["pending", "failed", "sent", "held"],
        next,
    };
    c.page("outbox.html", Some(&staff), page)
}

#[derive(Serialize)]
struct OutboxRowPage {
    row: OutboxLine,
    case: Option<Case>,
    to: Vec<String>,
    cc: Vec<String>,
    subject: Option<String>,
    text: Option<String>,
    error: Option<String>,
    /// Row actions offered for this status (POST /outbox/{id}/{action}).
    actions: Vec<&'static str>,
}

/// The POST actions an email in `status` offers.
fn row_actions(status: &str) -> Vec<&'static str> {
    match status {
        "sent" => vec![],
        // A held email goes out only when a person vouches for it (README "Trust and security").
        "held" => vec!["release"],
        _ => vec!["retry"],
    }
}

/// GET /outbox/{id}: one email, rendered as its recipient sees it.
pub(crate) async fn outbox_row(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let store = c.store();
    let row = store.view_outbox_row(id).await?.ok_or(WebError::NotFound)?;
    let case = store.case_by_id(row.case_id).await?;
    let mut page = OutboxRowPage {
        actions: row_actions(&row.status),
        row,
        case: None,
        to: Vec::new(),
        cc: Vec::new(),
        subject: None,
        text: None,
        error: None,
    };
    if let Some(case) = case {
        let waybills = store.cycle_waybills(case.id).await?;
        let routing = crate::notify::preview::Routing {
            forwarded_by: page.row.forwarded_by.as_deref(),
            forwarder_is_staff: page.row.forwarder_is_staff,
            original_to: page.row.original_to.as_deref(),
            forwarder_unverified: !page.row.forwarder_verified && page.row.released_by.is_none(),
            original_to_unverified: !(page.row.forwarder_verified || page.row.original_verified)
                && page.row.released_by.is_none(),
        };
        match crate::notify::preview::preview(
            &c.0.settings,
            &c.0.templates,
            &case,
            &page.row.kind,
            &routing,
            &waybills,
        ) {
            Some(Ok(p)) => {
                page.to = if page.row.sent_to.is_empty() {
                    p.to
                } else {
                    page.row.sent_to.clone()
                };
                page.cc = p.cc;
                page.subject = Some(p.rendered.subject);
                page.text = Some(p.rendered.text);
            }
            Some(Err(e)) => page.error = Some(e.to_string()),
            None => page.error = Some(format!("no template for `{}`", page.row.kind)),
        }
        page.case = Some(case);
    }
    c.page("outbox_row.html", Some(&staff), page)
}

#[derive(Deserialize)]
pub(crate) struct RowForm {
    #[serde(default)]
    csrf: String,
}

/// POST /outbox/{id}/retry: due now, again.
pub(crate) async fn retry(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<i64>,
    Form(f): Form<RowForm>,
) -> Result<Response, WebError> {
    staff.check_csrf(&f.csrf)?;
    c.store().outbox_retry_as(id, &staff.email, c.now()).await?;
    Ok(Redirect::to(&format!("/outbox/{id}")).into_response())
}

/// POST /outbox/{id}/release: a held email goes out; the case's history names who released it.
pub(crate) async fn release(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<i64>,
    Form(f): Form<RowForm>,
) -> Result<Response, WebError> {
    staff.check_csrf(&f.csrf)?;
    c.store().outbox_release(id, &staff.email).await?;
    Ok(Redirect::to(&format!("/outbox/{id}")).into_response())
}

#[derive(Serialize)]
struct MessagesPage {
    rows: Vec<MessageLine>,
    outcome: String,
    outcomes: Vec<&'static str>,
    next: Option<i64>,
}

/// GET /messages
pub(crate) async fn messages(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Query(p): Query<ListParams>,
) -> Result<Response, WebError> {
    let outcome = match p.outcome.as_str() {
        "" => None,
        o => Some(o.parse::<Outcome>().map_err(WebError::BadRequest)?.as_str()),
    };
    let mut rows = c.store().view_messages(outcome, p.before, PAGE + 1).await?;
    let next = (rows.len() as u64 > PAGE).then(|| rows[PAGE as usize - 1].id);
    rows.truncate(PAGE as usize);
    let page = MessagesPage {
        rows,
        outcome: outcome.unwrap_or("").to_string(),
        outcomes: Outcome::ALL.iter().map(|o| o.as_str()).collect(),
        next,
    };
    c.page("messages.html", Some(&staff), page)
}
