//! `leje generate DIR` (hidden): man pages and shell completions from the clap
//! definitions, for the Debian package (scripts/package). Generated from the
//! command tree `main.rs` passes in, so every subcommand added there is covered.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap_complete::Shell;

/// Arguments of `leje generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Where to write `man/*.1` and `completions/{leje.bash,_leje,leje.fish}`.
    pub dir: PathBuf,
}

/// Writes the man pages (one for `leje`, one per visible subcommand, `leje-cases-list.1`
/// and so on) and the bash, zsh and fish completions under `args.dir`.
pub fn run(args: &GenerateArgs, cmd: clap::Command) -> anyhow::Result<ExitCode> {
    let man = args.dir.join("man");
    let completions = args.dir.join("completions");
    for d in [&man, &completions] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create `{}`", d.display()))?;
    }
    clap_mangen::generate_to(cmd.clone(), &man)
        .with_context(|| format!("cannot write man pages to `{}`", man.display()))?;
    let visible = without_hidden(&cmd);
    for (shell, name) in [
        (Shell::Bash, "leje.bash"),
        (Shell::Zsh, "_leje"),
        (Shell::Fish, "leje.fish"),
    ] {
        write_completion(visible.clone(), shell, &completions.join(name))?;
    }
    let pages = std::fs::read_dir(&man)?.count();
    println!(
        "wrote {pages} man page(s) to {} and bash, zsh and fish completions to {}",
        man.display(),
        completions.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `cmd` without its hidden subcommands (`generate` itself), which clap_complete would
/// offer (clap_mangen leaves them out on its own).
fn without_hidden(cmd: &clap::Command) -> clap::Command {
    let mut out = clap::Command::new("leje")
        .version(env!("CARGO_PKG_VERSION"))
        .args(cmd.get_arguments().cloned())
        .subcommands(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    out
}

fn write_completion(mut cmd: clap::Command, shell: Shell, path: &Path) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "leje", &mut buf);
    std::fs::write(path, buf).with_context(|| format!("cannot write `{}`", path.display()))
}
