//! `leje check-config [FILE]`: validate a configuration and report every
//! error at once. Used by the systemd unit's `ExecStartPre=` and `ExecReload=`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{ConfigError, Settings};

/// `EX_CONFIG` from sysexits.h: the configuration is invalid.
pub const EXIT_CONFIG: u8 = 78;

/// Arguments of `leje check-config`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The file to check; default: the global `--config`.
    pub file: Option<PathBuf>,
}

/// Reports every error at once; exit code 78 (EX_CONFIG) when there is any.
pub fn run(args: &CheckArgs, globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    let path = args.file.clone().or_else(|| super::resolve_path(globals));
    let shown = path
        .as_ref()
        .map_or(super::EMBEDDED.to_string(), |p| p.display().to_string());
    tracing::debug!(file = %shown, "checking configuration");
    match super::load(path.as_deref()) {
        Ok(settings) => {
            if let Some(dir) = &settings.notify.templates_dir {
                if let Err(e) = crate::notify::render::check_templates(dir) {
                    eprintln!("{shown}: notify.templates_dir: {e}");
                    eprintln!("config `{shown}` is invalid: 1 error");
                    return Ok(ExitCode::from(EXIT_CONFIG));
                }
            }
            println!("config `{shown}` is valid");
            println!("{}", summary(&settings));
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            // NOTE: a missing file is still EX_CONFIG (78), not EX_NOINPUT (66):
            // for systemd's ExecStartPre both mean "fix the config", and one
            // code keeps scripts simple. The message says which it is.
            for e in errors.iter() {
                match e {
                    ConfigError::Read {
                        not_found: true, ..
                    } => eprintln!("{e} (no such file; without --config, leje uses `{}` if it exists, else the embedded defaults)", super::DEFAULT_PATH),
                    e => eprintln!("{e}"),
                }
            }
            let n = errors.len();
            eprintln!(
                "config `{shown}` is invalid: {n} error{}",
                if n == 1 { "" } else { "s" }
            );
            Ok(ExitCode::from(EXIT_CONFIG))
        }
    }
}

/// A few lines saying what the configuration will do.
pub fn summary(s: &Settings) -> String {
    // NOTE: a PostgreSQL URL may carry a password, so only SQLite shows its URL.
    let store = if s.store_url.starts_with("sqlite:") {
        format!("sqlite `{}`", s.store_url)
    } else {
        "postgres".to_string()
    };
    let mut out = vec![
        format!("  state dir: `{}`", s.state_dir.display()),
        format!("  store: {store}"),
    ];
    if s.mailboxes.is_empty() {
        out.push("  mailboxes: none (nothing is read)".into());
    }
    for m in &s.mailboxes {
        out.push(format!(
            "  mailbox `{}`: `{}` at {}:{} (tls {}), folder `{}`",
            m.name,
            m.username,
            m.host,
            m.port,
            m.tls.as_str(),
            m.folder
        ));
    }
    match &s.smtp {
        Some(smtp) => out.push(format!(
            "  smtp: {}:{} (tls {}), from `{}`",
            smtp.host,
            smtp.port,
            smtp.tls.as_str(),
            smtp.from
        )),
        None => out.push("  smtp: none (instructions stay in the outbox)".into()),
    }
    if let Some(d) = &s.notify.dry_run_dir {
        out.push(format!("  dry run: emails written to `{}`", d.display()));
    }
    match &s.http {
        Some(h) => out.push(format!("  http: {}", h.listen)),
        None => out.push("  http: off".into()),
    }
    out.join("\n")
}
