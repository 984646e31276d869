//! The citizenship clock in the console (issue 21): the Citizenship list, the
//! section of the case page, and its forms (the facts; a period of residence
//! added or removed; an absence). Each form is a POST with the session's CSRF
//! token and calls the store function `leje cases set` / `leje cases residence`
//! call, so the rules are the same and each change is an event naming the staff member.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Console, Staff, WebError};
use crate::citizenship::cli::{parse_date, parse_marriage, parse_yes_no};
use crate::citizenship::list::{self, Cursor, Sort};
use crate::citizenship::{listed, tirane_date, Listed};
use crate::store::{Actor, FactsChange, Marriage, ResidencePeriod};

/// Rows per page of the list.
const PAGE: usize = 50;

impl Console {
    /// The clock, unless `[citizenship] enabled = false`.
    fn clock_on(&self) -> Result<&crate::config::CitizenshipSettings, WebError> {
        let s = &self.0.settings.citizenship;
        if s.enabled {
            Ok(s)
        } else {
            Err(WebError::NotFound)
        }
    }

    /// Today in Europe/Tirane, on the console's clock.
    fn today(&self) -> NaiveDate {
        tirane_date(self.now())
    }
}

/// The list's query string.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct ListParams {
    #[serde(default)]
    eligible_by: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
}

#[derive(Serialize)]
struct ListPage {
    rows: Vec<list::Row>,
    eligible_by: String,
    sort: &'static str,
    today: NaiveDate,
    /// The query string of the next page.
    next: Option<String>,
    /// The query string of the first page (when this is not it).
    first: Option<String>,
}

/// GET /citizenship
pub(crate) async fn list(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Query(p): Query<ListParams>,
) -> Result<Response, WebError> {
    let settings = c.clock_on()?;
    let eligible_by = match p.eligible_by.trim() {
        "" => None,
        s => Some(parse_date(s).map_err(WebError::BadRequest)?),
    };
    let sort = Sort::parse(&p.sort);
    let after = match p.after.trim() {
        "" => None,
        s => Some(
            Cursor::parse(s).ok_or_else(|| WebError::BadRequest(format!("bad cursor `{s}`")))?,
        ),
    };
    let today = c.today();
    let q = list::Query {
        eligible_by,
        sort,
        after,
        limit: PAGE,
    };
    let page = list::page(c.store(), settings, today, &q).await?;
    // Every part is a parsed date, a fixed word or a cursor we wrote: nothing to encode.
    let link = |after: &str| {
        let by = eligible_by.map(|d| d.to_string()).unwrap_or_default();
        format!("eligible_by={by}&sort={}&after={after}", sort.as_str())
    };
    let view = ListPage {
        next: page.next.as_deref().map(link),
        first: after.is_some().then(|| link("")),
        rows: page.rows,
        eligible_by: eligible_by.map(|d| d.to_string()).unwrap_or_default(),
        sort: sort.as_str(),
        today,
    };
    c.page("citizenship.html", Some(&staff), view)
}

/// The facts as the form shows them: `""` is unknown.
#[derive(Serialize)]
struct FactFields {
    born: String,
    albanian_origin: &'static str,
    stateless: &'static str,
    /// A date, `no`, or `""`.
    married_since: String,
}

/// The citizenship section of the case page.
#[derive(Serialize)]
pub(crate) struct Section {
    fields: FactFields,
    periods: Vec<ResidencePeriod>,
    absences: Vec<ResidencePeriod>,
    /// The days (Europe/Tirane) of the approvals leje saw.
    approvals: Vec<NaiveDate>,
    clock: Listed,
    today: NaiveDate,
}

/// The section of case `id` (`None` when the clock is off).
pub(crate) async fn section(c: &Console, id: i64) -> Result<Option<Section>, WebError> {
    let Ok(settings) = c.clock_on() else {
        return Ok(None);
    };
    let Some(rec) = c.store().citizenship_records(Some(id)).await?.pop() else {
        return Ok(None);
    };
    let today = c.today();
    let f = &rec.facts;
    let yes_no = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    };
    let fields = FactFields {
        born: f.born.map(|d| d.to_string()).unwrap_or_default(),
        albanian_origin: yes_no(f.albanian_origin),
        stateless: yes_no(f.stateless),
        married_since: match (f.married_albanian, f.married_since) {
            (Some(true), Some(d)) => d.to_string(),
            (Some(false), _) => "no".into(),
            _ => String::new(),
        },
    };
    Ok(Some(Section {
        fields,
        clock: listed(&rec, settings, today),
        approvals: rec.approvals.iter().map(|t| tirane_date(*t)).collect(),
        periods: rec.periods,
        absences: rec.absences,
        today,
    }))
}

fn back_to(id: i64) -> Response {
    Redirect::to(&format!("/cases/{id}#citizenship")).into_response()
}

/// The travel document of case `id`: the store's fact functions take it, as the CLI does.
async fn doc_of(c: &Console, id: i64) -> Result<String, WebError> {
    Ok(c.store()
        .case_by_id(id)
        .await?
        .ok_or(WebError::NotFound)?
        .travel_document)
}

#[derive(Deserialize)]
pub(crate) struct FactsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    born: String,
    #[serde(default)]
    albanian_origin: String,
    #[serde(default)]
    stateless: String,
    #[serde(default)]
    married_since: String,
}

impl FactsForm {
    /// The change, as `leje cases set` would make it with every option given;
    /// an empty field is `unknown`.
    fn change(&self) -> Result<FactsChange, WebError> {
        let unknown = |s: &str| {
            let s = s.trim();
            if s.is_empty() {
                "unknown".to_string()
            } else {
                s.to_string()
            }
        };
        let bad = WebError::BadRequest;
        let born = match unknown(&self.born).as_str() {
            "unknown" => None,
            s => Some(parse_date(s).map_err(bad)?),
        };
        let marriage: Marriage = parse_marriage(&unknown(&self.married_since)).map_err(bad)?;
        Ok(FactsChange {
            born: Some(born),
            albanian_origin: Some(
                parse_yes_no(&unknown(&self.albanian_origin))
                    .map_err(bad)?
                    .0,
            ),
            stateless: Some(parse_yes_no(&unknown(&self.stateless)).map_err(bad)?.0),
            marriage: Some(marriage),
        })
    }
}

/// POST /cases/{id}/citizenship: the facts (one event for what changed).
pub(crate) async fn set_facts(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<i64>,
    Form(f): Form<FactsForm>,
) -> Result<Response, WebError> {
    staff.check_csrf(&f.csrf)?;
    c.clock_on()?;
    let change = f.change()?;
    let doc = doc_of(&c, id).await?;
    c.store()
        .citizenship_set(&doc, &change, Actor::staff(&staff.email))
        .await?;
    Ok(back_to(id))
}

#[derive(Deserialize)]
pub(crate) struct ResidenceForm {
    #[serde(default)]
    csrf: String,
    /// `add` (a period), `remove` (the period entered from `from`), `absent` (from `from` to `to`).
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// POST /cases/{id}/residence
pub(crate) async fn residence(
    State(c): State<Console>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<i64>,
    Form(f): Form<ResidenceForm>,
) -> Result<Response, WebError> {
    staff.check_csrf(&f.csrf)?;
    c.clock_on()?;
    let from = parse_date(&f.from).map_err(WebError::BadRequest)?;
    let to = match f.to.trim() {
        "" => None,
        s => Some(parse_date(s).map_err(WebError::BadRequest)?),
    };
    let doc = doc_of(&c, id).await?;
    let (store, who) = (c.store(), Actor::staff(&staff.email));
    match f.action.as_str() {
        "add" => store.residence_add(&doc, from, to, who).await?,
        "remove" => store.residence_remove(&doc, from, None, who).await?,
        "absent" => {
            let to = to.ok_or_else(|| {
                WebError::BadRequest("an absence needs its last day (YYYY-MM-DD)".into())
            })?;
            store.residence_remove(&doc, from, Some(to), who).await?
        }
        other => {
            return Err(WebError::BadRequest(format!(
                "unknown action `{}`",
                other.chars().take(20).collect::<String>()
            )))
        }
    }
    Ok(back_to(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(born: &str, origin: &str, stateless: &str, married: &str) -> FactsForm {
        FactsForm {
            csrf: String::new(),
            born: born.into(),
            albanian_origin: origin.into(),
            stateless: stateless.into(),
            married_since: married.into(),
        }
    }

    /// The templates look words up by the clock's names (`route_…`, `status_…`,
    /// `missing_…`); a name without a word would show as nothing.
    #[test]
    fn every_name_the_clock_gives_has_words() {
        use crate::citizenship::{Route, Status};
        let names = |v: Vec<serde_json::Value>| -> Vec<String> {
            v.iter().map(|v| v.as_str().unwrap().to_string()).collect()
        };
        let routes = names(Route::ALL.iter().map(|r| serde_json::json!(r)).collect());
        let statuses = names(
            [
                Status::Open,
                Status::Opens,
                Status::Unknown,
                Status::NotApplicable,
                Status::NotResident,
            ]
            .iter()
            .map(|s| serde_json::json!(s))
            .collect(),
        );
        let missing = [
            "residence_since",
            "date_of_birth",
            "albanian_origin",
            "married_albanian_since",
        ];
        for lang in ["en", "sq"] {
            let w = super::super::i18n::words(lang);
            for k in routes
                .iter()
                .map(|r| format!("route_{r}"))
                .chain(statuses.iter().map(|s| format!("status_{s}")))
                .chain(missing.iter().map(|m| format!("missing_{m}")))
            {
                assert!(w.contains_key(k.as_str()), "{lang}: {k}");
            }
        }
    }

    #[test]
    fn empty_fields_are_unknown_and_values_read_as_the_cli_reads_them() {
        let c = form("", "", "", "").change().unwrap();
        assert_eq!(c.born, Some(None));
        assert_eq!(c.albanian_origin, Some(None));
        assert_eq!(c.marriage, Some(Marriage::Unknown));
        let c = form(" 1990-05-01 ", "yes", "no", "2021-06-30")
            .change()
            .unwrap();
        assert_eq!(c.born, Some(NaiveDate::from_ymd_opt(1990, 5, 1)));
        assert_eq!(c.albanian_origin, Some(Some(true)));
        assert_eq!(c.stateless, Some(Some(false)));
        assert_eq!(
            c.marriage,
            Some(Marriage::Since(
                NaiveDate::from_ymd_opt(2021, 6, 30).unwrap()
            ))
        );
        assert_eq!(
            form("", "", "", "no").change().unwrap().marriage,
            Some(Marriage::No)
        );
        for bad in [
            form("01/05/1990", "", "", ""),
            form("", "maybe", "", ""),
            form("", "", "", "2021-02-30"),
        ] {
            assert!(matches!(bad.change(), Err(WebError::BadRequest(_))));
        }
    }
}
