//! `leje check-config [FILE]`.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `leje check-config`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The file to check; default: the global `--config`.
    pub file: Option<PathBuf>,
}

/// Reports every error at once; exit code 78 (EX_CONFIG) when there is any.
pub fn run(_args: &CheckArgs, _globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    anyhow::bail!("check-config is not implemented yet")
}
