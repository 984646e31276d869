//! The reminder email per stage, in both languages, with its one-click links
//! (issue 20): each stage's reminder has its own wording (its own template set), each open step has its link, the
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

/// Each stage's distinctive sentence (the text part), per language.
const WORDING: [(Stage, Language, &str); 12] = [
    (Stage::Approved, Language::En, "These steps are still open"),
    (
        Stage::AddressConfirmed,
        Language::En,
        "These steps are still open",
    ),
    (Stage::FeePaid, Language::En, "These steps are still open"),
    (Stage::NidPending, Language::En, "You can try again now."),
    (
        Stage::Applied,
        Language::En,
        "Your card should be ready: collect it and tell us.",
    ),
    (
        Stage::CardReady,
        Language::En,
        "Your residence card is still waiting for you.",
    ),
    (
        Stage::Approved,
        Language::Sq,
        "këta hapa janë ende të hapur",
    ),
    (
        Stage::AddressConfirmed,
        Language::Sq,
        "këta hapa janë ende të hapur",
    ),
    (Stage::FeePaid, Language::Sq, "këta hapa janë ende të hapur"),
    (
        Stage::NidPending,
        Language::Sq,
        "Tani mund të provoni përsëri.",
    ),
    (
        Stage::Applied,
        Language::Sq,
        "Karta juaj duhet të jetë gati: tërhiqeni dhe na njoftoni.",
    ),
    (
        Stage::CardReady,
        Language::Sq,
        "Karta juaj e qëndrimit ende ju pret.",
    ),
];

/// The reminder of `stage` in `lang`, rendered from its own template set.
fn reminder(t: &Templates, lang: Language, stage: Stage) -> (Facts, leje::notify::Rendered) {
    let f = facts(lang, stage);
    let r = render(
        t,
        lang,
        TemplateKind::reminder(stage),
        &EmailContext::new(&f),
        true,
    )
    .unwrap();
    (f, r)
}

/// One test per stage and language: the stage's sentence is there (text and
/// HTML) and no other stage's is.
fn wording_of(stage: Stage, lang: Language) {
    let t = Templates::load(None).unwrap();
    let (_, r) = reminder(&t, lang, stage);
    let html = r.html.as_deref().unwrap();
    for (s, l, sentence) in WORDING {
        if l != lang {
            continue;
        }
        let want = s == stage || (is_steps(s) && is_steps(stage));
        assert_eq!(
            r.text.contains(sentence),
            want,
            "{stage} {lang:?} / {sentence}: {}",
            r.text
        );
        assert_eq!(
            html.contains(sentence),
            want,
            "{stage} {lang:?} / {sentence}: {html}"
        );
    }
}

fn is_steps(s: Stage) -> bool {
    matches!(
        s,
        Stage::Approved | Stage::AddressConfirmed | Stage::FeePaid
    )
}

macro_rules! wording_tests {
    ($($name:ident: $stage:ident, $lang:ident;)*) => {$(
        #[test]
        fn $name() {
            wording_of(Stage::$stage, Language::$lang);
        }
    )*};
}

wording_tests! {
    wording_approved_en: Approved, En;
    wording_approved_sq: Approved, Sq;
    wording_address_confirmed_en: AddressConfirmed, En;
    wording_address_confirmed_sq: AddressConfirmed, Sq;
    wording_fee_paid_en: FeePaid, En;
    wording_fee_paid_sq: FeePaid, Sq;
    wording_nid_pending_en: NidPending, En;
    wording_nid_pending_sq: NidPending, Sq;
    wording_applied_en: Applied, En;
    wording_applied_sq: Applied, Sq;
    wording_card_ready_en: CardReady, En;
    wording_card_ready_sq: CardReady, Sq;
}

#[test]
fn each_stage_names_itself_in_the_subject() {
    let t = Templates::load(None).unwrap();
    let subjects = [
        (Stage::Approved, Language::En, "the next steps"),
        (Stage::NidPending, Language::En, "You can try again now"),
        (Stage::Applied, Language::En, "should be ready"),
        (Stage::CardReady, Language::En, "is waiting for you"),
        (Stage::Approved, Language::Sq, "hapat e ardhshëm"),
        (Stage::NidPending, Language::Sq, "provoni përsëri"),
        (Stage::Applied, Language::Sq, "duhet të jetë gati"),
        (Stage::CardReady, Language::Sq, "ju pret"),
    ];
    for (stage, lang, want) in subjects {
        let (_, r) = reminder(&t, lang, stage);
        assert!(r.subject.contains(want), "{stage} {lang:?}: {}", r.subject);
    }
}

/// An operator overrides one stage's reminder; the others keep theirs.
#[test]
fn one_stage_is_overridden_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    std::fs::write(
        dir.path().join("en/reminder_applied.txt.j2"),
        "Hello {{ name }}, the card office says hi.\n",
    )
    .unwrap();
    let t = Templates::load(Some(dir.path())).unwrap();
    assert_eq!(t.overridden(), ["en/reminder_applied.txt.j2"]);
    let (_, r) = reminder(&t, Language::En, Stage::Applied);
    assert!(r.text.contains("the card office says hi"), "{}", r.text);
    let (_, r) = reminder(&t, Language::En, Stage::CardReady);
    assert!(r.text.contains("still waiting for you"), "{}", r.text);
    let (_, r) = reminder(&t, Language::Sq, Stage::Applied);
    assert!(r.text.contains("duhet të jetë gati"), "{}", r.text);
}

#[test]
fn each_stage_has_its_links() {
    let t = Templates::load(None).unwrap();
    let cases = [
        (Language::En, Stage::Approved, "I have confirmed my address"),
        (Language::En, Stage::FeePaid, "I have applied"),
        (Language::En, Stage::Applied, "I have collected my card"),
        (Language::En, Stage::CardReady, "I have collected my card"),
        (Language::En, Stage::NidPending, "I have applied"),
        (Language::Sq, Stage::Approved, "E kam konfirmuar adresën"),
        (Language::Sq, Stage::Applied, "E kam tërhequr kartën"),
        (Language::Sq, Stage::NidPending, "E kam bërë aplikimin"),
    ];
    for (lang, stage, step) in cases {
        let (f, r) = reminder(&t, lang, stage);
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

/// The console's preview of a queued reminder (an outbox row of kind
/// `reminder`) shows what the sender will send: the set of the case's stage.
#[test]
fn the_console_preview_words_a_reminder_by_the_stage() {
    let settings = leje::config::load(None).unwrap();
    let t = Templates::load(None).unwrap();
    let at = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
    let routing = leje::notify::preview::Routing {
        forwarded_by: None,
        forwarder_is_staff: false,
        original_to: None,
        forwarder_unverified: false,
        original_to_unverified: false,
    };
    for (stage, sentence) in [
        (Stage::Approved, "These steps are still open"),
        (
            Stage::Applied,
            "Your card should be ready: collect it and tell us.",
        ),
        (
            Stage::CardReady,
            "Your residence card is still waiting for you.",
        ),
        (Stage::NidPending, "You can try again now."),
    ] {
        let case = leje::store::Case {
            id: 7,
            travel_document: "PV1234567".into(),
            name: Some("Ana".into()),
            nationality: None,
            directorate: Some(Directorate::Durres),
            contacts: vec!["ana@example.org".into()],
            language: Some(Language::En),
            stage,
            next_due: None,
            created_at: at,
            updated_at: at,
        };
        let p = leje::notify::preview::preview(&settings, &t, &case, "reminder", &routing, &[])
            .expect("a reminder has templates")
            .unwrap();
        assert!(
            p.rendered.text.contains(sentence),
            "{stage}: {}",
            p.rendered.text
        );
    }
}
