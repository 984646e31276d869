//! `leje outbox …`.

use std::process::ExitCode;

/// `leje outbox …`
#[derive(Debug, clap::Subcommand)]
pub enum OutboxCmd {
    /// List outgoing emails and their state.
    List,
}

pub async fn outbox(_cmd: &OutboxCmd, _globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("outbox is not implemented yet")
}
