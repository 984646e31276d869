//! From plain case data to the rendered subject, text and HTML of one email.
//!
//! [`EmailContext`] is everything a template may use; it is built from plain values
//! (no store, no config types), so the templates can be snapshot-tested with fixed data.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::templates::{Part, TemplateError, TemplateKind, Templates};
use crate::parse::{Directorate, Language};

/// Where the applicant pays the fee (the operator's `notify.payment_route`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Payment {
    /// At a bank counter, with the printed waybill.
    Bank,
    /// At Albanian Post (Posta Shqiptare), with the coupon.
    Post,
}

/// One Directorate's office as the templates show it; `None` lines are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficeView {
    pub name: String,
    pub address: Option<String>,
    pub hours: Option<String>,
}

/// The plain facts an email is rendered from.
#[derive(Debug, Clone)]
pub struct Facts {
    pub language: Language,
    /// Applicant's name as written in the notification.
    pub name: Option<String>,
    pub directorate: Option<Directorate>,
    /// The Directorate's office (from the config), if the directorate is known.
    pub office: Option<OfficeView>,
    /// Amounts read from the attached waybills, in order; the first one found is the fee.
    pub waybill_amounts: Vec<Option<u64>>,
    /// Filenames of the waybills attached to this email.
    pub attachments: Vec<String>,
    /// `notify.fee_default_lek`, used when no waybill states the amount.
    pub fee_default_lek: u64,
    pub payment: Payment,
    /// The email goes to a staff member because the applicant's address is unknown.
    pub missing_applicant_address: bool,
    pub agency_name: Option<String>,
    /// For nid_pending: from when to try again (the case's next due date).
    pub retry_from: Option<NaiveDate>,
    /// For citizenship: the route that opens, and when.
    pub citizenship: Option<crate::store::CitizenshipNotice>,
    /// The case's stage when the email is rendered (reminders word themselves by it).
    pub stage: Option<crate::store::Stage>,
    /// Signed one-click links, when `followup.public_url` is set.
    pub links: Option<crate::links::EmailLinks>,
}

impl Facts {
    /// What every email of `case` says, from the case and the settings: no waybills,
    /// no citizenship route, no links. The sender (deliver.rs) and the console's
    /// preview (preview.rs) fill in the rest, so both render the same facts.
    pub fn of_case(
        settings: &crate::config::Settings,
        case: &crate::store::Case,
        language: Language,
    ) -> Facts {
        let n = &settings.notify;
        Facts {
            language,
            name: case.name.clone(),
            directorate: case.directorate,
            office: case
                .directorate
                .and_then(|d| settings.offices.get(&d))
                .map(|o| OfficeView {
                    name: o.name.clone(),
                    address: o.address.clone(),
                    hours: o.hours.clone(),
                }),
            waybill_amounts: Vec::new(),
            attachments: Vec::new(),
            fee_default_lek: n.fee_default_lek,
            payment: match n.payment_route {
                crate::config::PaymentRoute::Bank => Payment::Bank,
                crate::config::PaymentRoute::Post => Payment::Post,
            },
            missing_applicant_address: false,
            agency_name: n.agency_name.clone(),
            retry_from: case.next_due.map(|d| d.date_naive()),
            citizenship: None,
            stage: Some(case.stage),
            links: None,
        }
    }
}

/// Everything a template can use. Every field is always present (`none` when unknown),
/// which is what lets the environment run with strict undefined checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailContext {
    /// `en` or `sq`.
    pub lang: &'static str,
    pub name: Option<String>,
    /// The Directorate's city in the email's language (`Tirana` / `Tiranë`).
    pub city: Option<String>,
    pub office: Option<OfficeView>,
    /// Fee in Lek, as a number.
    pub fee_lek: u64,
    /// Fee formatted for the language, with the currency: `5,700 Lek` / `5.700 lekë`.
    pub fee: String,
    /// True when the amount was read from a waybill, false when it is the configured default.
    pub fee_from_waybill: bool,
    /// `bank` or `post`.
    pub payment: Payment,
    /// Filenames of the attached waybills (empty: none came with the notification).
    pub attachments: Vec<String>,
    pub missing_applicant_address: bool,
    pub agency_name: Option<String>,
    /// Formatted date from when to retry (nid_pending), e.g. `7 December 2026` / `7 dhjetor 2026`.
    pub retry_from: Option<String>,
    /// For citizenship: the route that opens (see `notify/citizenship.rs`).
    pub citizenship: Option<super::citizenship::CitizenshipView>,
    /// The case's stage (`approved`, `fee_paid`, …), if known.
    pub stage: Option<&'static str>,
    /// The steps still open at that stage, in order, each with its one-click
    /// link when links are configured.
    pub steps: Vec<StepView>,
    /// The one-click URL that stops reminders, when links are configured.
    pub unsubscribe: Option<String>,
}

/// One open step in an email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepView {
    /// `address`, `paid`, `applied`, `nid`, `collected`.
    pub step: &'static str,
    /// What the applicant says by clicking, in the email's language.
    pub label: &'static str,
    pub url: Option<String>,
}

impl EmailContext {
    /// Derive the template context from the facts.
    pub fn new(f: &Facts) -> EmailContext {
        let read = f.waybill_amounts.iter().flatten().next().copied();
        let fee_lek = read.unwrap_or(f.fee_default_lek);
        EmailContext {
            lang: super::templates::lang_code(f.language),
            // NOTE: the name came from an email: no control character may reach
            // the Subject or the text (crate::sanitize).
            name: f
                .name
                .as_deref()
                .map(|n| crate::sanitize::strip(n).into_owned())
                .filter(|n| !n.trim().is_empty()),
            city: f.directorate.map(|d| city(d, f.language).to_string()),
            office: f.office.clone(),
            fee_lek,
            fee: format_lek(fee_lek, f.language),
            fee_from_waybill: read.is_some(),
            payment: f.payment,
            attachments: f
                .attachments
                .iter()
                .map(|a| crate::sanitize::strip(a).into_owned())
                .collect(),
            missing_applicant_address: f.missing_applicant_address,
            agency_name: f.agency_name.clone().filter(|n| !n.trim().is_empty()),
            retry_from: f.retry_from.map(|d| format_date(d, f.language)),
            citizenship: f
                .citizenship
                .as_ref()
                .map(|n| super::citizenship::view(n, f.language)),
            stage: f.stage.map(|s| s.as_str()),
            steps: f
                .stage
                .map(crate::links::Step::open_at)
                .unwrap_or_default()
                .into_iter()
                .map(|s| StepView {
                    step: s.as_str(),
                    label: s.label(f.language),
                    url: f.links.as_ref().and_then(|l| {
                        l.steps
                            .iter()
                            .find(|x| x.step == s.as_str())
                            .map(|x| x.url.clone())
                    }),
                })
                .collect(),
            unsubscribe: f.links.as_ref().map(|l| l.unsubscribe.clone()),
        }
    }
}

/// One rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line, whitespace collapsed.
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Render subject, text and (when `html`) the HTML part of `kind` in `lang`.
pub fn render(
    templates: &Templates,
    lang: Language,
    kind: TemplateKind,
    ctx: &EmailContext,
    html: bool,
) -> Result<Rendered, TemplateError> {
    let subject = templates.render_part(lang, kind, Part::Subject, ctx)?;
    // NOTE: a subject is one header line; collapsing whitespace also removes any newline an
    // override template might produce, so no template can inject a header.
    let subject = crate::sanitize::strip(&subject)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let text = templates.render_part(lang, kind, Part::Text, ctx)?;
    let html = if html {
        Some(templates.render_part(lang, kind, Part::Html, ctx)?)
    } else {
        None
    };
    Ok(Rendered {
        subject,
        text: normalize_text(&text),
        html,
    })
}

/// Loads the operator's template overrides from `dir` and renders every email in
/// both languages once with every optional value present and once with none, so a
/// syntax error or a misspelt variable is reported by `leje check-config` rather
/// than when an applicant's email is due. Returns how many templates `dir` overrides.
pub fn check_templates(dir: &std::path::Path) -> Result<usize, TemplateError> {
    let templates = Templates::load(Some(dir))?;
    let full = Facts {
        language: Language::En,
        name: Some("Ana Example".into()),
        directorate: Some(Directorate::Tirane),
        office: Some(OfficeView {
            name: "Drejtoria Vendore për Kufirin dhe Migracionin Tiranë".into(),
            address: Some("Rruga e Durrësit".into()),
            hours: Some("08:00–16:00".into()),
        }),
        waybill_amounts: vec![Some(5700)],
        attachments: vec!["mandatpagesa.pdf".into()],
        fee_default_lek: 5700,
        payment: Payment::Bank,
        missing_applicant_address: true,
        agency_name: Some("Example Relocation".into()),
        retry_from: NaiveDate::from_ymd_opt(2026, 12, 7),
        citizenship: None,
        stage: Some(crate::store::Stage::FeePaid),
        links: Some(crate::links::EmailLinks {
            stage: "fee_paid",
            steps: vec![crate::links::StepLink {
                step: "applied",
                label: "I have applied",
                url: "https://leje.example.al/l/1.applied.2.x".into(),
            }],
            unsubscribe: "https://leje.example.al/l/1.unsubscribe.2.x".into(),
        }),
    };
    let sparse = Facts {
        name: None,
        directorate: None,
        office: None,
        waybill_amounts: Vec::new(),
        attachments: Vec::new(),
        payment: Payment::Post,
        missing_applicant_address: false,
        agency_name: None,
        retry_from: None,
        stage: None,
        links: None,
        ..full.clone()
    };
    for lang in [Language::En, Language::Sq] {
        for facts in [&full, &sparse] {
            let ctx = EmailContext::new(&Facts {
                language: lang,
                ..facts.clone()
            });
            for kind in TemplateKind::ALL {
                for ctx in super::citizenship::samples(&ctx, lang) {
                    render(&templates, lang, kind, &ctx, true)?;
                }
            }
        }
    }
    Ok(templates.overridden().len())
}

/// Trailing spaces off every line, at most one blank line in a row, one final newline.
fn normalize_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.trim_matches('\n').lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The Directorate's city as written in `lang`.
pub fn city(d: Directorate, lang: Language) -> &'static str {
    use Directorate::*;
    match (d, lang) {
        (Berat, _) => "Berat",
        (Diber, _) => "Dibër",
        (Durres, _) => "Durrës",
        (Elbasan, _) => "Elbasan",
        (Fier, _) => "Fier",
        (Gjirokaster, _) => "Gjirokastër",
        (Korce, _) => "Korçë",
        (Kukes, _) => "Kukës",
        (Lezhe, _) => "Lezhë",
        (Shkoder, _) => "Shkodër",
        (Tirane, Language::En) => "Tirana",
        (Tirane, Language::Sq) => "Tiranë",
        (Vlore, _) => "Vlorë",
    }
}

/// `5700` → `5,700 Lek` (en) / `5.700 lekë` (sq).
pub fn format_lek(amount: u64, lang: Language) -> String {
    let digits = amount.to_string();
    let sep = match lang {
        Language::En => ',',
        Language::Sq => '.',
    };
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(sep);
        }
        grouped.push(c);
    }
    match lang {
        Language::En => format!("{grouped} Lek"),
        Language::Sq => format!("{grouped} lekë"),
    }
}

/// `2026-12-07` → `7 December 2026` (en) / `7 dhjetor 2026` (sq).
pub fn format_date(d: NaiveDate, lang: Language) -> String {
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const SQ: [&str; 12] = [
        "janar", "shkurt", "mars", "prill", "maj", "qershor", "korrik", "gusht", "shtator",
        "tetor", "nëntor", "dhjetor",
    ];
    let m = d.month0() as usize;
    let month = match lang {
        Language::En => EN[m],
        Language::Sq => SQ[m],
    };
    format!("{} {} {}", d.day(), month, d.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lek_grouping() {
        assert_eq!(format_lek(5700, Language::En), "5,700 Lek");
        assert_eq!(format_lek(5700, Language::Sq), "5.700 lekë");
        assert_eq!(format_lek(700, Language::En), "700 Lek");
        assert_eq!(format_lek(1234567, Language::Sq), "1.234.567 lekë");
    }

    #[test]
    fn dates() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(format_date(d, Language::En), "7 December 2026");
        assert_eq!(format_date(d, Language::Sq), "7 dhjetor 2026");
    }

    #[test]
    fn fee_from_first_waybill_with_amount() {
        let mut f = Facts {
            language: Language::En,
            name: Some("  ".into()),
            directorate: Some(Directorate::Tirane),
            office: None,
            waybill_amounts: vec![None, Some(6200), Some(5700)],
            attachments: vec![],
            fee_default_lek: 5700,
            payment: Payment::Bank,
            missing_applicant_address: false,
            agency_name: None,
            retry_from: None,
            citizenship: None,
            stage: None,
            links: None,
        };
        let c = EmailContext::new(&f);
        assert_eq!((c.fee_lek, c.fee_from_waybill), (6200, true));
        assert_eq!(c.name, None);
        assert_eq!(c.city.as_deref(), Some("Tirana"));
        f.waybill_amounts = vec![None];
        let c = EmailContext::new(&f);
        assert_eq!((c.fee_lek, c.fee_from_waybill), (5700, false));
    }

    #[test]
    fn normalize_collapses_blank_runs() {
        assert_eq!(normalize_text("\n\na  \n\n\n\nb\n\n"), "a\n\nb\n");
    }
}
