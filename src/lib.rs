//! # leje
//!
//! leje reads a shared mailbox, recognises the Albanian Immigration Office's
//! residence-permit approval notifications in it, keeps a case per applicant,
//! and emails each applicant exactly what to do next.
//!
//! ## Architecture
//!
//! One module per stage of the pipeline:
//!
//! ```text
//!  IMAP mailbox ──► imap ──► parse ──► store ──► notify ──► SMTP
//!  (Dovecot, Gmail, (fetch,   (recognise (cases,   (templates,
//!   M365 …)         IDLE)     & extract) events,   outbox sender)
//!                                        outbox)
//!                      ▲                              ▲
//!                      └────────── daemon ────────────┘
//!                         (wiring, signals, health)
//! ```
//!
//! - [`config`]: the TOML file, validated once into runtime settings.
//! - [`parse`]: raw RFC 5322 bytes → [`parse::ParsedMessage`]; pure, never panics.
//!   Waybill PDFs are read through lopdf (file structure) and a bounded text walker.
//! - [`store`]: cases, events, processed messages, outbox and IMAP checkpoints
//!   over SQLite or PostgreSQL. A group of messages is one transaction (their rows,
//!   case changes, outbox rows and the checkpoint at the group's last UID), which
//!   makes ingestion idempotent and a crash harmless; the after-processing action of
//!   each message is recorded in the same transaction and applied later.
//! - [`imap`]: connection, IDLE/polling, batched fetch, after-processing actions.
//! - [`notify`]: renders the next-step email and sends the outbox over SMTP.
//! - [`daemon`]: runs the mailboxes and the outbox sender until shutdown.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod imap;
pub mod logging;
pub mod notify;
pub mod parse;
pub mod store;
