//! Options shared by every subcommand.

use std::path::PathBuf;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable with timestamps on a terminal; without timestamps under systemd (journald adds them).
    #[default]
    Auto,
    /// Human-readable with timestamps.
    Text,
    /// One JSON object per line.
    Json,
}

/// Global options, accepted before or after the subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct Globals {
    /// Configuration file. Default: `$LEJE_CONFIG`, else `/etc/leje/leje.toml` if it exists, else the embedded defaults.
    #[arg(long, short = 'c', global = true, env = "LEJE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Case store URL (`sqlite:PATH` or `postgres://…`); overrides the config's `store`.
    #[arg(long, global = true, env = "LEJE_STORE")]
    pub store: Option<String>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
}
