//! `leje run`.

use std::process::ExitCode;

/// Arguments of `leje run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

/// Loads and validates the config (exit 78 on errors), then runs the daemon until
/// SIGTERM or SIGINT.
pub async fn run(_args: &RunArgs, globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    // NOTE: the handlers are installed before anything slow (config, store) so a
    // SIGTERM during startup is a graceful stop, not the default "die at once".
    let shutdown = shutdown_signal();
    // NOTE: logging is already set up by main from the same config (`[log]`).
    let settings = match crate::config::load_for(globals) {
        Ok(s) => s,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(ExitCode::from(78));
        }
    };
    super::run(settings, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

/// Installs the SIGTERM and SIGINT handlers now and returns a future that resolves
/// on the first of them.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let handlers =
        signal(SignalKind::terminate()).and_then(|t| Ok((t, signal(SignalKind::interrupt())?)));
    async move {
        let (mut term, mut int) = match handlers {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(
                    "cannot install the SIGTERM handler ({e}); only Ctrl-C stops gracefully"
                );
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
    }
}
