//! The public pages' one template and wording (English, Albanian). Everything
//! shown is escaped (minijinja's HTML auto-escaping by the `.html` name); the only
//! personal datum shown is the first name.

use minijinja::{context, Environment};

use crate::links::Step;
use crate::parse::Language;
use crate::store::Stage;

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ title }}</title>
</head>
<body style="font-family: sans-serif; line-height: 1.5; max-width: 36em; margin: 2em auto; padding: 0 1em;">
<h1 style="font-size: 1.4em;">{{ title }}</h1>
{% if first_name %}<p>{{ hello }} {{ first_name }},</p>{% endif %}
<p id="message">{{ message }}</p>
{% if stage_text %}<p id="stage">{{ stage_label }}: <strong>{{ stage_text }}</strong></p>{% endif %}
{% if button %}
<form method="post">
<button type="submit" id="confirm" style="font-size: 1.1em; padding: 0.5em 1.2em;">{{ button }}</button>
</form>
{% endif %}
</body>
</html>
"#;

/// What a page says.
pub(super) struct Page<'a> {
    pub lang: Language,
    pub title: &'a str,
    pub first_name: Option<String>,
    pub message: String,
    pub stage: Option<Stage>,
    /// A form with one button, posting back to the page's own URL (so a
    /// `public_url` with a path prefix works).
    pub button: Option<&'a str>,
}

pub(super) fn render(p: &Page<'_>) -> String {
    let mut env = Environment::new();
    if env.add_template("page.html", PAGE).is_err() {
        return String::from("error");
    }
    let lang = p.lang;
    env.get_template("page.html")
        .and_then(|t| {
            t.render(context! {
                lang => code(lang),
                title => p.title,
                hello => t_(lang, "hello"),
                first_name => p.first_name,
                message => p.message,
                stage_label => t_(lang, "stage"),
                stage_text => p.stage.map(|s| stage_text(s, lang)),
                button => p.button,
            })
        })
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "public page template failed");
            String::from("error")
        })
}

fn code(l: Language) -> &'static str {
    match l {
        Language::En => "en",
        Language::Sq => "sq",
    }
}

/// Fixed wording by key.
pub(super) fn t_(l: Language, key: &str) -> &'static str {
    use Language::*;
    match (key, l) {
        ("hello", En) => "Hello",
        ("hello", Sq) => "Përshëndetje",
        ("stage", En) => "Where your case stands",
        ("stage", Sq) => "Ku ndodhet çështja juaj",
        ("confirm_title", En) => "Please confirm",
        ("confirm_title", Sq) => "Ju lutemi konfirmoni",
        ("confirm", En) => "Press the button to tell us:",
        ("confirm", Sq) => "Shtypni butonin për të na njoftuar:",
        ("button", En) => "Confirm",
        ("button", Sq) => "Konfirmo",
        ("thanks_title", En) => "Thank you",
        ("thanks_title", Sq) => "Faleminderit",
        ("thanks", En) => "We have recorded it.",
        ("thanks", Sq) => "E kemi regjistruar.",
        ("used_title", En) => "Already recorded",
        ("used_title", Sq) => "Është regjistruar tashmë",
        ("used", En) => "This link was already used; nothing more to do.",
        ("used", Sq) => "Kjo lidhje është përdorur tashmë; nuk ka asgjë për të bërë.",
        ("outdated_title", En) => "Nothing to change",
        ("outdated_title", Sq) => "Asgjë për të ndryshuar",
        ("outdated", En) => "This step does not apply to your case any more.",
        ("outdated", Sq) => "Ky hap nuk vlen më për çështjen tuaj.",
        ("unsub", En) => "You will receive no more reminders about your residence card.",
        ("unsub", Sq) => "Nuk do të merrni më kujtesa për kartën tuaj të qëndrimit.",
        ("unsub_ask", En) => "Press the button to stop the reminders about your residence card.",
        ("unsub_ask", Sq) => {
            "Shtypni butonin për të ndaluar kujtesat për kartën tuaj të qëndrimit."
        }
        ("bad_title", En) => "This link is not valid",
        ("bad_title", Sq) => "Kjo lidhje nuk është e vlefshme",
        ("bad", En) => "Please use the link exactly as it is in our email, or reply to the email.",
        ("bad", Sq) => {
            "Ju lutemi përdorni lidhjen ashtu siç është në email-in tonë, ose përgjigjuni email-it."
        }
        ("expired_title", En) => "This link has expired",
        ("expired_title", Sq) => "Kjo lidhje ka skaduar",
        ("expired", En) => "Please reply to our email instead, or use the link in a newer one.",
        ("expired", Sq) => {
            "Ju lutemi përgjigjuni email-it tonë, ose përdorni lidhjen në një email më të ri."
        }
        ("error_title", En) => "Something went wrong",
        ("error_title", Sq) => "Diçka shkoi keq",
        ("error", En) => "Please try again later, or reply to our email.",
        ("error", Sq) => "Ju lutemi provoni përsëri më vonë, ose përgjigjuni email-it tonë.",
        _ => "",
    }
}

/// The step, as the applicant says it.
pub(super) fn step_text(s: Step, l: Language) -> &'static str {
    s.label(l)
}

/// Where a case stands, in the applicant's words.
pub(super) fn stage_text(s: Stage, l: Language) -> &'static str {
    use Language::*;
    use Stage::*;
    match (s, l) {
        (Approved, En) => "permit approved; next: confirm your address",
        (Approved, Sq) => "leja u miratua; hapi tjetër: konfirmoni adresën",
        (AddressConfirmed, En) => "address confirmed; next: pay the fee",
        (AddressConfirmed, Sq) => "adresa u konfirmua; hapi tjetër: paguani tarifën",
        (FeePaid, En) => "fee paid; next: apply at the Directorate",
        (FeePaid, Sq) => "tarifa u pagua; hapi tjetër: aplikoni në Drejtori",
        (Applied, En) => "applied; the card is usually ready in about two weeks",
        (Applied, Sq) => "keni aplikuar; karta zakonisht është gati pas rreth dy javësh",
        (CardReady, En) => "your card is ready to collect",
        (CardReady, Sq) => "karta juaj është gati për t'u tërhequr",
        (Collected, En) => "card collected: all done",
        (Collected, Sq) => "karta u tërhoq: gjithçka u krye",
        (NidPending, En) => "waiting for your ID number; try applying again soon",
        (NidPending, Sq) => {
            "në pritje të numrit të identitetit; provoni të aplikoni përsëri së shpejti"
        }
        (Rejected, En) => "the permit was not approved",
        (Rejected, Sq) => "leja nuk u miratua",
        (NeedsReview, En) => "our staff are looking at your case",
        (NeedsReview, Sq) => "stafi ynë po shqyrton çështjen tuaj",
        (Closed, En) => "closed",
        (Closed, Sq) => "e mbyllur",
    }
}
