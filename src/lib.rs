//! # leje
//!
//! leje reads a shared mailbox, recognises the Albanian Immigration Office's
//! residence-permit approval notifications in it, keeps a case per applicant,
//! and emails each applicant exactly what to do next.
//!
//! ## Architecture
//!
//! One module per stage of the pipeline, and the rooms built on the store:
//!
//! ```text
//!  IMAP mailbox ──► imap ──► parse ──► store ──► notify ──► SMTP
//!  (Dovecot, Gmail, (fetch,  (+ trust:  (cases,   (templates,
//!   M365 …)         IDLE)    who sent   events,   hold/caps,
//!                            it)        outbox)   outbox sender)
//!                                         ▲
//!        web (console, one-click pages) ──┤── followup (reminders, replies)
//!        citizenship (rules + pass) ──────┘
//!                      ▲                              ▲
//!                      └────────── daemon ────────────┘
//!              (wiring, leases across instances, signals, the one HTTP server)
//! ```
//!
//! Arrows go down only: the store never calls web, notify, followup or daemon;
//! parse and trust never touch the store; time is a parameter (`now`).
//!
//! - [`config`]: the TOML file, validated once into runtime settings.
//! - [`parse`]: raw RFC 5322 bytes → [`parse::ParsedMessage`]; pure, never panics.
//!   Waybill PDFs are read through lopdf (file structure) and a bounded text walker.
//! - [`budget`]: bounded work per message: a CPU-time budget and a memory
//!   ceiling around each parse, and the parser threads with their watchdog.
//! - [`sanitize`]: names and filenames from email made safe to show or send.
//! - [`store`]: cases, events, processed messages, outbox and IMAP checkpoints
//!   over SQLite or PostgreSQL. A group of messages is one transaction (their rows,
//!   case changes, outbox rows and the checkpoint at the group's last UID), which
//!   makes ingestion idempotent and a crash harmless; the after-processing action of
//!   each message is recorded in the same transaction and applied later.
//! - [`imap`]: connection, IDLE/polling, batched fetch, after-processing actions.
//! - [`trust`]: who sent a message: a verdict from the receiving server's
//!   trusted `Authentication-Results`/ARC, or a DKIM check of its own (the
//!   Directorate's signature on an attached notice too); pure, never touches
//!   the store, which keeps the verdict and holds untrusted messages' emails.
//! - [`notify`]: renders the next-step email and sends the outbox over SMTP.
//! - [`citizenship`]: the citizenship clock (issue 21): pure rules of Law No. 8389
//!   (facts and `today` in, each route's opening day and why out) and the periodic
//!   pass that queues each route's eligibility email once.
//! - [`daemon`]: runs the mailboxes and the outbox sender until shutdown; with
//!   several instances on one PostgreSQL store (issue 24), `daemon::leases` shares
//!   the mailboxes out under heartbeat-renewed, fenced leases and `store`'s cluster
//!   part claims outbox rows one at a time, so nothing is done twice.
//! - [`followup`]: after the first email: the reminder pass (`now` is a
//!   parameter), `leje remind`, `leje replies`; replies are attached at ingest.
//! - [`links`]: signed one-click links (HMAC-SHA256, one case, one step, expiring).
//! - [`web::public`]: the public one-click pages (axum router; GET confirms, POST acts).
//! - [`generate`]: man pages and shell completions from the clap definitions (packaging).
//! - [`web`]: the one HTTP server (axum): `/healthz`, `/metrics` and the staff
//!   console (login, cases, review, outbox, messages, citizenship; English and Albanian).

pub mod budget;
pub mod citizenship;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod followup;
pub mod generate;
pub mod imap;
pub mod links;
pub mod logging;
pub mod notify;
pub mod parse;
pub mod sanitize;
pub mod store;
pub mod trust;
pub mod web;
