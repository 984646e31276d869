//! The minijinja templates behind every email leje sends.
//!
//! Each [`TemplateKind`] has three templates per language: `<lang>/<kind>.subject.j2`,
//! `<lang>/<kind>.txt.j2` and `<lang>/<kind>.html.j2`. The shipped ones are embedded
//! in the binary (`include_str!`), so a bare `leje` binary is complete; an operator's
//! `notify.templates_dir` may hold any subset of the same relative paths, and each
//! file found there replaces the embedded one of the same name.

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::parse::Language;
use crate::store::Stage;

/// Which email: one template set each (mirrors the store's outbox kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateKind {
    /// The three next steps after an approval.
    Instructions,
    /// The card can be collected.
    CardReady,
    /// The ID number (NID) was not generated yet: retry in one to two weeks.
    NidPending,
    /// A route to Albanian citizenship opens (issue 21).
    Citizenship,
    /// A reminder of the steps still open (`approved`, `address_confirmed`,
    /// `fee_paid`; issue 20).
    Reminder,
    /// A reminder at the NID retry date: "you can try again now".
    ReminderNidPending,
    /// A reminder two weeks after applying: "your card should be ready: collect it and tell us".
    ReminderApplied,
    /// A reminder that a ready card is still not collected.
    ReminderCardReady,
}

impl TemplateKind {
    /// All kinds, for validation and tests.
    pub const ALL: [TemplateKind; 8] = [
        TemplateKind::Instructions,
        TemplateKind::CardReady,
        TemplateKind::NidPending,
        TemplateKind::Citizenship,
        TemplateKind::Reminder,
        TemplateKind::ReminderNidPending,
        TemplateKind::ReminderApplied,
        TemplateKind::ReminderCardReady,
    ];

    /// A reminder's template set, by the stage the case is in when it is sent:
    /// each stage's reminder has its own wording.
    pub fn reminder(stage: Stage) -> TemplateKind {
        match stage {
            Stage::NidPending => TemplateKind::ReminderNidPending,
            Stage::Applied => TemplateKind::ReminderApplied,
            Stage::CardReady => TemplateKind::ReminderCardReady,
            _ => TemplateKind::Reminder,
        }
    }

    /// The file stem used in template names.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Instructions => "instructions",
            TemplateKind::CardReady => "card_ready",
            TemplateKind::NidPending => "nid_pending",
            TemplateKind::Citizenship => "citizenship",
            TemplateKind::Reminder => "reminder",
            TemplateKind::ReminderNidPending => "reminder_nid_pending",
            TemplateKind::ReminderApplied => "reminder_applied",
            TemplateKind::ReminderCardReady => "reminder_card_ready",
        }
    }
}

/// The three parts of one email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Subject,
    Text,
    Html,
}

impl Part {
    const ALL: [Part; 3] = [Part::Subject, Part::Text, Part::Html];

    fn suffix(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Text => "txt",
            Part::Html => "html",
        }
    }
}

/// Short code of a language, as used in template paths (`en`, `sq`).
pub fn lang_code(lang: Language) -> &'static str {
    match lang {
        Language::En => "en",
        Language::Sq => "sq",
    }
}

/// The template name (and relative path under a templates dir), e.g. `sq/instructions.html.j2`.
pub fn template_name(lang: Language, kind: TemplateKind, part: Part) -> String {
    format!("{}/{}.{}.j2", lang_code(lang), kind.as_str(), part.suffix())
}

macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $path)))),*]
    };
}

/// The shipped templates, by relative path.
pub const EMBEDDED: &[(&str, &str)] = embed!(
    "en/instructions.subject.j2",
    "en/instructions.txt.j2",
    "en/instructions.html.j2",
    "en/card_ready.subject.j2",
    "en/card_ready.txt.j2",
    "en/card_ready.html.j2",
    "en/nid_pending.subject.j2",
    "en/nid_pending.txt.j2",
    "en/nid_pending.html.j2",
    "sq/instructions.subject.j2",
    "sq/instructions.txt.j2",
    "sq/instructions.html.j2",
    "sq/card_ready.subject.j2",
    "sq/card_ready.txt.j2",
    "sq/card_ready.html.j2",
    "sq/nid_pending.subject.j2",
    "sq/nid_pending.txt.j2",
    "sq/nid_pending.html.j2",
    "en/citizenship.subject.j2",
    "en/citizenship.txt.j2",
    "en/citizenship.html.j2",
    "sq/citizenship.subject.j2",
    "sq/citizenship.txt.j2",
    "sq/citizenship.html.j2",
    "en/reminder.subject.j2",
    "en/reminder.txt.j2",
    "en/reminder.html.j2",
    "sq/reminder.subject.j2",
    "sq/reminder.txt.j2",
    "sq/reminder.html.j2",
    "en/reminder_nid_pending.subject.j2",
    "en/reminder_nid_pending.txt.j2",
    "en/reminder_nid_pending.html.j2",
    "sq/reminder_nid_pending.subject.j2",
    "sq/reminder_nid_pending.txt.j2",
    "sq/reminder_nid_pending.html.j2",
    "en/reminder_applied.subject.j2",
    "en/reminder_applied.txt.j2",
    "en/reminder_applied.html.j2",
    "sq/reminder_applied.subject.j2",
    "sq/reminder_applied.txt.j2",
    "sq/reminder_applied.html.j2",
    "en/reminder_card_ready.subject.j2",
    "en/reminder_card_ready.txt.j2",
    "en/reminder_card_ready.html.j2",
    "sq/reminder_card_ready.subject.j2",
    "sq/reminder_card_ready.txt.j2",
    "sq/reminder_card_ready.html.j2",
);

/// Why the templates could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read template `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template `{name}`{}: {source:#}", origin.as_ref().map(|p| format!(" (from `{}`)", p.display())).unwrap_or_default())]
    Syntax {
        name: String,
        origin: Option<PathBuf>,
        source: minijinja::Error,
    },
    #[error("cannot render template `{name}`: {source:#}")]
    Render {
        name: String,
        source: minijinja::Error,
    },
}

/// The loaded template set: embedded defaults with the operator's overrides applied.
pub struct Templates {
    env: Environment<'static>,
    overridden: Vec<String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("overridden", &self.overridden)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// The embedded templates only.
    pub fn embedded() -> Templates {
        Templates::load(None).expect("embedded templates compile (checked by tests)")
    }

    /// Embedded templates, each replaced by `<dir>/<lang>/<kind>.<part>.j2` when that file exists.
    /// A syntax error in an override is reported with its path.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        // NOTE: strict undefined catches typos in an operator's override at the first render
        // instead of silently printing nothing; every variable the context offers is always
        // present (as none where unknown), so `{% if office.address %}` still works.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(true);
        let mut overridden = Vec::new();
        for (name, source) in EMBEDDED {
            let file = dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let result = match &file {
                Some(path) => {
                    let text =
                        std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
                            path: path.clone(),
                            source,
                        })?;
                    overridden.push((*name).to_string());
                    env.add_template_owned(*name, text)
                }
                None => env.add_template(name, source),
            };
            result.map_err(|source| TemplateError::Syntax {
                name: (*name).to_string(),
                origin: file.clone(),
                source,
            })?;
        }
        Ok(Templates { env, overridden })
    }

    /// Names of the templates taken from the operator's directory.
    pub fn overridden(&self) -> &[String] {
        &self.overridden
    }

    /// Render one part with `ctx`.
    pub fn render_part<S: Serialize>(
        &self,
        lang: Language,
        kind: TemplateKind,
        part: Part,
        ctx: &S,
    ) -> Result<String, TemplateError> {
        let name = template_name(lang, kind, part);
        let tmpl = self
            .env
            .get_template(&name)
            .map_err(|source| TemplateError::Render {
                name: name.clone(),
                source,
            })?;
        tmpl.render(ctx)
            .map_err(|source| TemplateError::Render { name, source })
    }

    /// Every template name, for checks.
    pub fn names() -> impl Iterator<Item = String> {
        [Language::En, Language::Sq].into_iter().flat_map(|l| {
            TemplateKind::ALL
                .into_iter()
                .flat_map(move |k| Part::ALL.into_iter().map(move |p| template_name(l, k, p)))
        })
    }
}
