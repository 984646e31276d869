//! `leje parse FILE...`: one JSON object per file, one per line, in input order.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `leje parse`.
#[derive(Debug, clap::Args)]
pub struct ParseArgs {
    /// Raw RFC 5322 message files (.eml).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Prints one JSON line per file; exits non-zero if any file could not be read.
pub fn run(args: &ParseArgs) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for path in &args.files {
        let shown = path.to_string_lossy();
        let line = match std::fs::read(path) {
            Ok(raw) => {
                let parsed = super::parse(&raw);
                serde_json::to_string(&Line {
                    file: &shown,
                    parsed: &parsed,
                })?
            }
            Err(e) => {
                failed = true;
                serde_json::to_string(&ErrorLine {
                    file: &shown,
                    error: e.to_string(),
                })?
            }
        };
        writeln!(out, "{line}")?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One output line: `file` first, then the [`super::ParsedMessage`] fields in declaration order.
#[derive(serde::Serialize)]
struct Line<'a> {
    file: &'a str,
    #[serde(flatten)]
    parsed: &'a super::ParsedMessage,
}

/// The line printed for a file that could not be read.
#[derive(serde::Serialize)]
struct ErrorLine<'a> {
    file: &'a str,
    error: String,
}
