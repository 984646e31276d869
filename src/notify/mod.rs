//! Next-step instruction emails: templates, the outbox sender. (Placeholder; being written.)

pub mod cli;
