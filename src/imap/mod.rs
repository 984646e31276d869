//! Fetching from the shared mailboxes over IMAP.
//!
//! - [`connect`]: TCP + implicit TLS / STARTTLS / plain (loopback), LOGIN or XOAUTH2.
//! - [`session`]: SELECT, UID SEARCH, sizes first, then bodies streamed in batches.
//! - [`idle`]: RFC 2177 IDLE with a deadline and a stop signal.
//! - [`actions`]: MOVE (or COPY + EXPUNGE), \Seen, keywords; folders created on demand.
//! - [`backoff`]: exponential reconnect delays with jitter.
//!
//! The daemon (`crate::daemon`) drives these; this module knows nothing of the store.

pub mod actions;
pub mod backoff;
pub mod connect;
pub mod error;
pub mod idle;
pub mod session;

pub use connect::{Caps, XOAuth2};
pub use error::ImapError;
pub use idle::Wake;
pub use session::{split_by_set_len, uid_set, BodyStream, Fetched, Selected, Session, MAX_SET_LEN};
