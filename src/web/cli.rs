//! `leje staff add|passwd|list|remove`: the console's accounts.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// `leje staff …`
#[derive(Debug, clap::Subcommand)]
pub enum StaffCmd {
    /// Add a staff account. The password comes from --password-file, else it is
    /// asked for (or read as one line from standard input when that is not a terminal).
    Add {
        /// The login address.
        email: String,
        /// May manage other accounts (reserved; every account sees every case).
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of this file.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// No password: the account logs in only through single sign-on (`web.sso_header`).
        #[arg(long, conflicts_with = "password_file")]
        sso_only: bool,
    },
    /// Set a new password (ends the account's sessions).
    Passwd {
        email: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// List the accounts.
    List,
    /// Remove an account and end its sessions.
    Remove { email: String },
}

/// Reads a password: the file's first line, or a prompt / a line of stdin.
fn read_password(file: Option<&PathBuf>) -> anyhow::Result<String> {
    let line = match file {
        Some(f) => std::fs::read_to_string(f)
            .with_context(|| format!("cannot read the password file `{}`", f.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                // NOTE: echo is not turned off (no terminal crate in the tree); the
                // prompt says so, and --password-file avoids it.
                eprint!("password (shown as you type; or use --password-file): ");
                std::io::stderr().flush().ok();
            }
            let mut l = String::new();
            stdin.lock().read_line(&mut l)?;
            l.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    Ok(line)
}

fn valid_email(e: &str) -> bool {
    let e = e.trim();
    e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'))
}

/// Runs one `leje staff` subcommand.
pub async fn staff(cmd: &StaffCmd, globals: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    let store = crate::store::cli::open_for(globals).await?;
    let now = chrono::Utc::now();
    let code = match cmd {
        StaffCmd::Add {
            email,
            admin,
            password_file,
            sso_only,
        } => {
            anyhow::ensure!(valid_email(email), "`{email}` is not an email address");
            let hash = if *sso_only {
                None
            } else {
                let pw = read_password(password_file.as_ref())?;
                Some(super::password::hash(&pw).map_err(anyhow::Error::msg)?)
            };
            match store.staff_add(email, hash.as_deref(), *admin, now).await? {
                Some(_) => {
                    println!("staff account {} added", email.trim().to_lowercase());
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("leje: `{email}` already has an account; use `leje staff passwd`");
                    ExitCode::FAILURE
                }
            }
        }
        StaffCmd::Passwd {
            email,
            password_file,
        } => {
            let pw = read_password(password_file.as_ref())?;
            let hash = super::password::hash(&pw).map_err(anyhow::Error::msg)?;
            if store.staff_set_password(email, &hash).await? {
                println!("password of {email} changed; its sessions are ended");
                ExitCode::SUCCESS
            } else {
                eprintln!("leje: no staff account `{email}`");
                ExitCode::FAILURE
            }
        }
        StaffCmd::List => {
            for s in store.staff_list().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    s.email,
                    if s.admin { "admin" } else { "staff" },
                    s.language,
                    s.created_at.format("%Y-%m-%d")
                );
            }
            ExitCode::SUCCESS
        }
        StaffCmd::Remove { email } => {
            if store.staff_remove(email).await? {
                println!("staff account {email} removed");
                ExitCode::SUCCESS
            } else {
                eprintln!("leje: no staff account `{email}`");
                ExitCode::FAILURE
            }
        }
    };
    store.close().await;
    Ok(code)
}
