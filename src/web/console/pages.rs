//! Today (the home page), the case list and its CSV export.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::{Console, Staff, WebError};
use crate::store::views::{search, CaseQuery, CaseSort};
use crate::store::{parse_directorate, Case, Stage};

const PAGE: u64 = 50;
/// The most rows a CSV export holds.
const CSV_MAX: u64 = 100_000;

#[derive(Serialize)]
struct Today {
    stages: Vec<(String, i64)>,
    review: Vec<Case>,
    failed: Vec<crate::store::views::OutboxLine>,
    stalled: Vec<Case>,
    stalled_days: u64,
    mailboxes: Vec<crate::web::health::MailboxStatus>,
    marks: Vec<crate::store::views::MailboxMark>,
}

/// GET /
pub(crate) async fn today(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
) -> Result<Response, WebError> {
    let store = c.store();
    let stalled_days = c.0.web.stalled_after.as_secs() / 86400;
    let few = |stage: Option<Stage>, stalled: bool| CaseQuery {
        stage,
        stalled_before: stalled
            .then(|| c.now() - Duration::seconds(c.0.web.stalled_after.as_secs() as i64)),
        sort: CaseSort::Updated,
        limit: 20,
        ..Default::default()
    };
    let page = Today {
        stages: store.view_stage_counts().await?,
        review: store
            .view_cases(&few(Some(Stage::NeedsReview), false))
            .await?,
        failed: store.view_outbox(Some("failed"), None, 20).await?,
        stalled: store.view_cases(&few(None, true)).await?,
        stalled_days,
        mailboxes: c.0.health.mailboxes(),
        marks: store.view_mailbox_marks().await?,
    };
    c.page("today.html", Some(&staff), page)
}

/// The case list's query string.
#[derive(Debug, Default, Deserialize, Serialize, Clone)]
pub(crate) struct CasesParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    directorate: String,
    #[serde(default)]
    nationality: String,
    #[serde(default)]
    stalled: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: u64,
}

impl CasesParams {
    fn query(&self, c: &Console, limit: u64) -> Result<CaseQuery, WebError> {
        let bad = |what: &str, v: &str| WebError::BadRequest(format!("unknown {what} `{v}`"));
        Ok(CaseQuery {
            words: search::query_words(&self.q),
            stage: match self.stage.as_str() {
                "" => None,
                s => Some(s.parse().map_err(|_| bad("stage", s))?),
            },
            directorate: match self.directorate.as_str() {
                "" => None,
                d => Some(parse_directorate(d).map_err(|_| bad("directorate", d))?),
            },
            nationality: Some(self.nationality.trim().to_string()).filter(|n| !n.is_empty()),
            stalled_before: (!self.stalled.is_empty())
                .then(|| c.now() - Duration::seconds(c.0.web.stalled_after.as_secs() as i64)),
            sort: CaseSort::parse(&self.sort),
            offset: self.page.min(100_000) * PAGE,
            limit,
        })
    }

    /// The query string of this view on another page.
    fn link(&self, page: u64) -> String {
        let mut p = self.clone();
        p.page = page;
        serde_urlencoded_like(&p)
    }
}

/// `key=value&…` with percent-encoding (the fields are all strings or numbers).
fn serde_urlencoded_like(p: &CasesParams) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "q={}&stage={}&directorate={}&nationality={}&stalled={}&sort={}&page={}",
        enc(&p.q),
        enc(&p.stage),
        enc(&p.directorate),
        enc(&p.nationality),
        enc(&p.stalled),
        enc(&p.sort),
        p.page
    )
}

#[derive(Serialize)]
struct CasesPage {
    cases: Vec<Case>,
    params: CasesParams,
    stages: Vec<&'static str>,
    directorates: Vec<&'static str>,
    nationalities: Vec<String>,
    prev: Option<String>,
    next: Option<String>,
    csv: String,
}

const DIRECTORATES: [&str; 12] = [
    "berat",
    "diber",
    "durres",
    "elbasan",
    "fier",
    "gjirokaster",
    "korce",
    "kukes",
    "lezhe",
    "shkoder",
    "tirane",
    "vlore",
];

/// GET /cases
pub(crate) async fn cases(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Query(p): Query<CasesParams>,
) -> Result<Response, WebError> {
    let mut list = c.store().view_cases(&p.query(&c, PAGE + 1)?).await?;
    let more = list.len() as u64 > PAGE;
    list.truncate(PAGE as usize);
    let page = CasesPage {
        cases: list,
        prev: (p.page > 0).then(|| p.link(p.page - 1)),
        next: more.then(|| p.link(p.page + 1)),
        csv: p.link(0),
        stages: Stage::ALL.iter().map(|s| s.as_str()).collect(),
        directorates: DIRECTORATES.to_vec(),
        nationalities: c.nationalities().await?,
        params: p,
    };
    c.page("cases.html", Some(&staff), page)
}

/// A CSV field: quoted when needed, and a leading `= + - @` defused so a
/// spreadsheet does not run a name as a formula.
fn csv_field(s: &str) -> String {
    let s = super::view::visible(s);
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// GET /cases.csv: the current view (search, filters, sort), every page.
pub(crate) async fn cases_csv(
    State(c): State<Console>,
    Query(mut p): Query<CasesParams>,
) -> Result<Response, WebError> {
    p.page = 0;
    let list = c.store().view_cases(&p.query(&c, CSV_MAX)?).await?;
    let mut out = String::from(
        "id,travel_document,name,nationality,directorate,stage,contacts,language,created_at,updated_at\r\n",
    );
    for k in &list {
        let row = [
            k.id.to_string(),
            k.travel_document.clone(),
            k.name.clone().unwrap_or_default(),
            k.nationality.clone().unwrap_or_default(),
            k.directorate
                .map(crate::store::views::directorate_name)
                .unwrap_or_default(),
            k.stage.as_str().to_string(),
            k.contacts.join(" "),
            k.language
                .map(|l| crate::notify::templates::lang_code(l).to_string())
                .unwrap_or_default(),
            k.created_at.to_rfc3339(),
            k.updated_at.to_rfc3339(),
        ];
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"leje-cases.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(super::csv_field("a,b"), "\"a,b\"");
        assert_eq!(super::csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(super::csv_field("plain"), "plain");
    }
}
