//! `leje run`.

use std::process::ExitCode;

/// Arguments of `leje run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

/// Loads and validates the config (exit 78 on errors), then runs the daemon until
/// SIGTERM or SIGINT.
pub async fn run(_args: &RunArgs, globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    // NOTE: logging is already set up by main from the same config (`[log]`).
    let settings = match crate::config::load_for(globals) {
        Ok(s) => s,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(ExitCode::from(78));
        }
    };
    super::run(settings, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on the first SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        _ => {
            // Cannot install handlers: fall back to Ctrl-C only.
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}
