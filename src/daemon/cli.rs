//! `leje run`.

use std::process::ExitCode;

/// Arguments of `leje run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

pub async fn run(_args: &RunArgs, _globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("run is not implemented yet")
}
