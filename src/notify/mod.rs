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
//! - [`render`]: plain case facts → subject, text and HTML.
//! - [`message`]: headers (stable Message-ID, threading, `Auto-Submitted`, `X-Leje`) and attachments.
//! - [`recipients`]: who gets the email.
//! - [`smtp`]: transport, temporary/permanent classification, backoff.

pub mod cli;
pub mod message;
pub mod recipients;
pub mod render;
pub mod smtp;
pub mod templates;

pub use render::{render, EmailContext, Facts, OfficeView, Payment, Rendered};
pub use templates::{TemplateKind, Templates};
