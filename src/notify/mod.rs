//! Next-step instruction emails: templates, rendering, recipients, SMTP and the outbox sender.
//!
//! The store writes an outbox row in the same transaction as the case change that
//! calls for an email; this module turns each due row into one email:
//!
//! ```text
//!  outbox row ─► recipients (pure policy) ─► render (minijinja, en/sq) ─► message (MIME)
//!             ─► SMTP (lettre) or a .eml file (dry run) ─► mark sent / retry / failed
//! ```
//!
//! - [`templates`]: the shipped templates (embedded) and the operator's overrides.
//! - [`render`](mod@render): plain case facts → subject, text and HTML.
//! - [`message`]: headers (stable Message-ID, threading, `Auto-Submitted`, `X-Leje`) and attachments.
//! - [`recipients`]: who gets the email.
//! - [`links`](mod@links): one-click links, `Reply-To` and `List-Unsubscribe` of each email (issue 20).
//! - [`smtp`]: transport, temporary/permanent classification, backoff.
//! - [`worker`]: the sending pass ([`send_due_once`]) and the daemon's loop ([`run_outbox`]);
//!   `deliver` handles one row.
//! - [`cli`]: `leje outbox list|retry|send`.
//! - `citizenship`: what the citizenship email's templates see (issue 21).

pub mod attach;
pub mod caps;
mod citizenship;
pub mod cli;
mod deliver;
/// `leje remind --dry-run`: emails not in the outbox yet, written as .eml files.
pub mod dryrun;
pub mod links;
pub mod message;
pub mod preview;
pub mod recipients;
pub mod render;
pub mod smtp;
pub mod templates;
pub mod worker;

pub use render::{render, EmailContext, Facts, OfficeView, Payment, Rendered};
pub use templates::{TemplateKind, Templates};
pub use worker::{
    run_outbox, run_outbox_with, send_due_once, SendOptions, SendReport, WorkerOptions,
};

/// Why a sending pass could not run (per-row problems are recorded on the row instead).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Neither `[smtp]` nor a dry-run directory: there is nowhere to send to.
    #[error("no [smtp] section in the configuration; configure one, or use --dry-run DIR")]
    NotConfigured,
    #[error(transparent)]
    Template(#[from] templates::TemplateError),
    #[error(transparent)]
    Setup(#[from] smtp::SetupError),
    #[error("smtp.password: {0}")]
    Secret(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot write dry-run email `{}`: {source}", path.display())]
    DryRun {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}
