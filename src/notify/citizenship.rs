//! What the citizenship email's templates see (issue 21): the route that opens and
//! when, in the email's language. The conditions, the office and the procedure are
//! written in the templates, per route, so an operator can adapt them to the law
//! in force.

use chrono::NaiveDate;
use serde::Serialize;

use super::render::{format_date, EmailContext};
use crate::parse::Language;
use crate::store::CitizenshipNotice;

/// `citizenship` in the template context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CitizenshipView {
    /// `general`, `albanian_origin` or `marriage`.
    pub route: String,
    /// The day the route opens, e.g. `7 December 2026` / `7 dhjetor 2026`.
    pub opens_on: String,
    /// `YYYY-MM-DD`.
    pub opens_on_iso: String,
    /// The email goes out before the route opens (`citizenship.notify_days_before`).
    pub early: bool,
    /// Stateless: the age, dwelling/income, sentence and language conditions are not considered (art. 9).
    pub stateless: bool,
}

pub(super) fn view(n: &CitizenshipNotice, lang: Language) -> CitizenshipView {
    CitizenshipView {
        route: n.route.clone(),
        opens_on: format_date(n.opens_on, lang),
        opens_on_iso: n.opens_on.format("%Y-%m-%d").to_string(),
        early: n.early,
        stateless: n.stateless,
    }
}

/// `ctx` as it is, and with each route (early and not, stateless and not), for
/// `check-config`'s render of every template.
pub(super) fn samples(ctx: &EmailContext, lang: Language) -> Vec<EmailContext> {
    let mut out = vec![ctx.clone()];
    let opens_on = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap_or_default();
    for (i, route) in ["general", "albanian_origin", "marriage"]
        .iter()
        .enumerate()
    {
        let n = CitizenshipNotice {
            case_id: 1,
            route: (*route).to_string(),
            opens_on,
            early: i % 2 == 0,
            stateless: i == 1,
        };
        out.push(EmailContext {
            citizenship: Some(view(&n, lang)),
            ..ctx.clone()
        });
    }
    out
}
