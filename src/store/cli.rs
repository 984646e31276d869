//! `leje import`, `leje cases …`, `leje messages …`.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `leje import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// .eml files, Maildir folders or mbox files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// `leje cases …`
#[derive(Debug, clap::Subcommand)]
pub enum CasesCmd {
    /// List cases.
    List,
}

/// `leje messages …`
#[derive(Debug, clap::Subcommand)]
pub enum MessagesCmd {
    /// List processed messages.
    List,
}

pub async fn import(
    _args: &ImportArgs,
    _globals: &crate::cli::Globals,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("import is not implemented yet")
}

pub async fn cases(_cmd: &CasesCmd, _globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("cases is not implemented yet")
}

pub async fn messages(
    _cmd: &MessagesCmd,
    _globals: &crate::cli::Globals,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("messages is not implemented yet")
}
