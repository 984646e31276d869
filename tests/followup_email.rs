//! The reminder email per stage, in both languages, with its one-click links
//! (issue 20): the wording follows the stage, each open step has its link, the
//! unsubscribe link is there, and nothing the applicant's name holds is
//! rendered as HTML.

use chrono::{DateTime, Utc};
use leje::links::{email_links, Signer};
use leje::notify::templates::TemplateKind;
use leje::notify::{render, EmailContext, Facts, Payment, Templates};
use leje::parse::{Directorate, Language};
use leje::store::Stage;

fn facts(lang: Language, stage: Stage) -> Facts {
    let signer = Signer::from_key(&[5u8; 32]);
    let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
    Facts {
        language: lang,
        name: Some("Ana <b>Bold</b>".into()),
        directorate: Some(Directorate::Durres),
        office: None,
        waybill_amounts: vec![],
        attachments: vec![],
        fee_default_lek: 5700,
        payment: Payment::Bank,
        missing_applicant_address: false,
        agency_name: None,
        retry_from: None,
        stage: Some(stage),
        citizenship: None,
        links: Some(email_links(
            &signer,
            "https://leje.example.al",
            7,
            stage,
            lang,
            now,
            std::time::Duration::from_secs(60 * 86400),
        )),
    }
}

#[test]
fn each_stage_has_its_wording_and_links() {
    let t = Templates::load(None).unwrap();
    let cases = [
        (
            Language::En,
            Stage::Approved,
            "still open",
            "I have confirmed my address",
        ),
        (Language::En, Stage::FeePaid, "still open", "I have applied"),
        (
            Language::En,
            Stage::Applied,
            "should be ready",
            "I have collected my card",
        ),
        (
            Language::En,
            Stage::CardReady,
            "ready and waiting",
            "I have collected my card",
        ),
        (
            Language::En,
            Stage::NidPending,
            "try again now",
            "I have applied",
        ),
        (
            Language::Sq,
            Stage::Approved,
            "ende të hapur",
            "E kam konfirmuar adresën",
        ),
        (
            Language::Sq,
            Stage::Applied,
            "duhet të jetë gati",
            "E kam tërhequr kartën",
        ),
        (
            Language::Sq,
            Stage::NidPending,
            "provoni përsëri",
            "E kam bërë aplikimin",
        ),
    ];
    for (lang, stage, wording, step) in cases {
        let f = facts(lang, stage);
        let r = render(
            &t,
            lang,
            TemplateKind::Reminder,
            &EmailContext::new(&f),
            true,
        )
        .unwrap();
        let all = format!("{}\n{}", r.subject, r.text);
        assert!(all.contains(wording), "{stage} {lang:?}: {all}");
        let url = f
            .links
            .as_ref()
            .unwrap()
            .steps
            .iter()
            .find(|s| s.label == step)
            .unwrap_or_else(|| panic!("{stage}: no {step} link"))
            .url
            .clone();
        assert!(
            r.text.contains(&format!("{step}: {url}")),
            "{stage} {lang:?}: {}",
            r.text
        );
        let html = r.html.unwrap();
        // minijinja escapes `/` in HTML (`&#x2f;`); a browser reads the same URL.
        let esc = |u: &str| u.replace('/', "&#x2f;");
        assert!(
            html.contains(&format!("<a href=\"{}\">{step}</a>", esc(&url))),
            "{html}"
        );
        let unsub = &f.links.as_ref().unwrap().unsubscribe;
        assert!(r.text.contains(unsub.as_str()) && html.contains(&esc(unsub)));
        assert!(
            !html.contains("<b>Bold</b>") && html.contains("&lt;b&gt;"),
            "{html}"
        );
    }
}

#[test]
fn the_instructions_carry_the_links_too() {
    let t = Templates::load(None).unwrap();
    for lang in [Language::En, Language::Sq] {
        let f = facts(lang, Stage::Approved);
        let r = render(
            &t,
            lang,
            TemplateKind::Instructions,
            &EmailContext::new(&f),
            true,
        )
        .unwrap();
        for s in &f.links.as_ref().unwrap().steps {
            assert!(r.text.contains(&s.url), "{lang:?}: {}", r.text);
        }
    }
}
