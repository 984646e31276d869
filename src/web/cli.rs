//! `leje staff add|passwd|list|remove`: the console's accounts.

use std::io::{BufRead, IsTerminal};
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
        None if std::io::stdin().is_terminal() => {
            // Not echoed: rpassword turns echo off on the terminal while it reads.
            let pw = rpassword::prompt_password("password: ")
                .context("cannot read the password from the terminal")?;
            let again = rpassword::prompt_password("password again: ")
                .context("cannot read the password from the terminal")?;
            anyhow::ensure!(pw == again, "the two passwords differ; nothing changed");
            pw
        }
        None => first_line(std::io::stdin().lock())?,
    };
    Ok(line)
}

/// One line of a non-terminal input, without its line ending.
fn first_line(mut r: impl BufRead) -> anyhow::Result<String> {
    let mut l = String::new();
    r.read_line(&mut l)
        .context("cannot read the password from standard input")?;
    Ok(l.trim_end_matches(['\r', '\n']).to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_piped_password_is_its_first_line() {
        let got = first_line(std::io::Cursor::new("s3cret pass\r\nsecond\n")).unwrap();
        assert_eq!(got, "s3cret pass");
        assert_eq!(first_line(std::io::Cursor::new("")).unwrap(), "");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "from-file\nignored\n").unwrap();
        assert_eq!(read_password(Some(&f)).unwrap(), "from-file");
    }
}
