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
    /// Years of residence the route asks for (5, 3 or 1 under Law No. 8389).
    pub residence_years: u32,
    /// Years of marriage (marriage route; 3 under Law No. 8389), else none.
    pub marriage_years: Option<u32>,
}

pub(super) fn view(n: &CitizenshipNotice, lang: Language) -> CitizenshipView {
    CitizenshipView {
        route: n.route.clone(),
        opens_on: format_date(n.opens_on, lang),
        opens_on_iso: n.opens_on.format("%Y-%m-%d").to_string(),
        early: n.early,
        stateless: n.stateless,
        residence_years: n.residence_years,
        marriage_years: n.marriage_years,
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
            residence_years: [5, 3, 1][i],
            marriage_years: (i == 2).then_some(3),
        };
        out.push(EmailContext {
            citizenship: Some(view(&n, lang)),
            ..ctx.clone()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::{render, Facts, Payment};
    use crate::notify::templates::{TemplateKind, Templates};
    use crate::parse::Directorate;

    fn email(
        lang: Language,
        route: &str,
        early: bool,
        stateless: bool,
    ) -> (String, String, String) {
        let f = Facts {
            language: lang,
            name: Some("Ana <b>".into()),
            directorate: Some(Directorate::Tirane),
            office: None,
            waybill_amounts: Vec::new(),
            attachments: Vec::new(),
            fee_default_lek: 5700,
            payment: Payment::Bank,
            missing_applicant_address: false,
            agency_name: None,
            retry_from: None,
            stage: None,
            links: None,
            citizenship: Some(CitizenshipNotice {
                case_id: 1,
                route: route.into(),
                opens_on: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
                early,
                stateless,
                residence_years: match route {
                    "general" => 5,
                    "albanian_origin" => 3,
                    _ => 1,
                },
                marriage_years: (route == "marriage").then_some(3),
            }),
        };
        let r = render(
            &Templates::embedded(),
            lang,
            TemplateKind::Citizenship,
            &EmailContext::new(&f),
            true,
        )
        .unwrap();
        (r.subject, r.text, r.html.unwrap())
    }

    #[test]
    fn each_route_names_its_article_conditions_and_procedure() {
        let (subject, text, html) = email(Language::En, "general", false, false);
        if std::env::var_os("LEJE_PRINT").is_some() {
            println!("{subject}\n\n{text}");
        }
        assert_eq!(
            subject,
            "You may now apply for Albanian citizenship (Ana <b>)"
        );
        assert!(text.contains("Since 10 March 2026 you may apply"), "{text}");
        assert!(
            text.contains("article 9") && text.contains("5 consecutive years"),
            "{text}"
        );
        assert!(text.contains("elementary Albanian") && text.contains("18 years old"));
        assert!(
            text.contains("article 17") && text.contains("the oath (article 23)"),
            "{text}"
        );
        assert!(
            html.contains("Ana &lt;b&gt;"),
            "the name is escaped in HTML"
        );

        let (subject, text, _) = email(Language::En, "marriage", true, false);
        assert!(
            subject.starts_with("From 10 March 2026 you may apply"),
            "{subject}"
        );
        assert!(
            text.contains("article 10") && !text.contains("elementary Albanian"),
            "{text}"
        );
        assert!(
            text.contains("married to an Albanian citizen for 3 years")
                && text.contains("at least 1 year\n"),
            "{text}"
        );
        assert!(text.contains("marriage certificate"));

        let (_, text, _) = email(Language::En, "albanian_origin", false, true);
        assert!(
            text.contains("Albanian origin") && text.contains("3 consecutive years"),
            "{text}"
        );
        assert!(
            text.contains("stateless") && !text.contains("18 years old"),
            "{text}"
        );

        let (subject, text, _) = email(Language::Sq, "general", false, false);
        if std::env::var_os("LEJE_PRINT").is_some() {
            println!("{subject}\n\n{text}");
        }
        assert!(subject.starts_with("Tani mund të aplikoni"), "{subject}");
        assert!(
            text.contains("10 mars 2026") && text.contains("neni 9") && text.contains("neni 17")
        );
    }
}
