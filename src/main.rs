//! The `leje` command: parses arguments, sets up logging, runs one subcommand.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use leje::cli::Globals;

/// leje: residence-permit notifications in, next-step instructions out.
#[derive(Debug, Parser)]
// NOTE: LEJE_VERSION is the crate version and the commit (build.rs).
#[command(version = env!("LEJE_VERSION"), about)]
struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse .eml files and print one JSON object per file.
    Parse(leje::parse::cli::ParseArgs),
    /// Validate a configuration file; reports every error; exit code 78 if invalid.
    CheckConfig(leje::config::cli::CheckArgs),
    /// Run the daemon: watch the mailboxes, update cases, send instructions.
    Run(leje::daemon::cli::RunArgs),
    /// Run the pipeline on local .eml files, Maildir folders or mbox files.
    Import(leje::store::cli::ImportArgs),
    /// Inspect and advance cases.
    #[command(subcommand)]
    Cases(leje::store::cli::CasesCmd),
    /// What was done with each processed email.
    #[command(subcommand)]
    Messages(leje::store::cli::MessagesCmd),
    /// Outgoing emails.
    #[command(subcommand)]
    Outbox(leje::notify::cli::OutboxCmd),
    /// When each case may apply for Albanian citizenship (Law No. 8389), and why.
    Citizenship(leje::citizenship::cli::CitizenshipArgs),
    /// Run one reminder pass now and exit (the daemon runs it on its own).
    Remind(leje::followup::cli::RemindArgs),
    /// Replies and Directorate mail waiting for an answer.
    #[command(subcommand)]
    Replies(leje::followup::cli::RepliesCmd),
    /// Write man pages and shell completions (for scripts/package).
    #[command(hide = true)]
    Generate(leje::generate::GenerateArgs),
    /// Staff accounts of the web console.
    #[command(subcommand)]
    Staff(leje::web::cli::StaffCmd),
    /// Which instance holds which mailbox, since when, until when; claimed outbox rows.
    Status(leje::daemon::status::StatusArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let g = &cli.globals;
    // Once, before any command; `run` takes its level from the config's [log].
    leje::logging::init_for(g, matches!(cli.command, Command::Run(_)));
    quiet_panics();
    let result = match &cli.command {
        Command::Parse(a) => leje::parse::cli::run(a),
        Command::CheckConfig(a) => leje::config::cli::run(a, g),
        Command::Generate(a) => leje::generate::run(a, Cli::command()),
        other => {
            // NOTE: the blocking pool does file I/O (messages are parsed on threads
            // of their own, daemon/parsers.rs); its default ceiling of 512 threads,
            // each with its own stack and malloc arena, would only let peak memory
            // drift upwards.
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .max_blocking_threads(16)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("leje: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            rt.block_on(async {
                match other {
                    Command::Run(a) => leje::daemon::cli::run(a, g).await,
                    Command::Import(a) => leje::store::cli::import(a, g).await,
                    Command::Cases(c) => leje::store::cli::cases(c, g).await,
                    Command::Messages(c) => leje::store::cli::messages(c, g).await,
                    Command::Outbox(c) => leje::notify::cli::outbox(c, g).await,
                    Command::Citizenship(a) => leje::citizenship::cli::run(a, g).await,
                    Command::Remind(a) => leje::followup::cli::remind(a, g).await,
                    Command::Replies(c) => leje::followup::cli::replies(c, g).await,
                    Command::Staff(c) => leje::web::cli::staff(c, g).await,
                    Command::Status(a) => leje::daemon::status::run(a, g).await,
                    Command::Parse(_) | Command::CheckConfig(_) | Command::Generate(_) => {
                        unreachable!("handled above")
                    }
                }
            })
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("leje: {}", causes(&e));
            ExitCode::FAILURE
        }
    }
}

/// Panics go to the log as one line instead of a multi-line dump on stderr.
// NOTE: the parser catches panics inside mail-parser 0.11 (malformed MIME can trigger
// them) and recovers the message; the default hook still printed a backtrace per such
// message into the journal. RUST_BACKTRACE keeps the default hook for debugging.
fn quiet_panics() {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(
            "panic at {at}: {msg} (caught and recovered if processing goes on; set RUST_BACKTRACE=1 for a backtrace)"
        );
    }));
}

/// The error and its causes on one line, `a: b: c`, skipping a cause whose text the
/// message before it already ends with.
// NOTE: several error types put their source in their own message (so a log line
// with `{e}` is complete) and also expose it as `source()`; `{:#}` would print it twice.
fn causes(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for c in e.chain() {
        let text = c.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn causes_are_not_repeated() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot open `x`: {source}")]
        struct Open {
            source: std::io::Error,
        }
        let e = anyhow::Error::new(Open {
            source: std::io::Error::other("disk on fire"),
        })
        .context("loading the store");
        assert_eq!(
            super::causes(&e),
            "loading the store: cannot open `x`: disk on fire"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(super::causes(&plain), "outer: inner");
    }
}
