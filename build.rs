//! Puts the commit leje is built from into `leje --version` (`LEJE_VERSION`).
//!
//! `LEJE_COMMIT` in the environment wins (a build from a source tarball); else `git` is
//! asked; outside a git checkout, or without git, the version says `unknown commit`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    // NOTE: `safe.directory` so a checkout owned by another user (root building a
    // clone made by someone else) still names its commit instead of falling back.
    let out = Command::new("git")
        .args(["-c", "safe.directory=*"])
        .args(args)
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=LEJE_COMMIT");
    let commit = std::env::var("LEJE_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            // Rebuild when HEAD moves: HEAD itself (a checkout), the branch's ref (a commit).
            if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
                println!("cargo:rerun-if-changed={dir}/HEAD");
            }
            if let (Some(common), Some(head)) = (
                git(&["rev-parse", "--git-common-dir"]),
                git(&["symbolic-ref", "-q", "HEAD"]),
            ) {
                println!("cargo:rerun-if-changed={common}/{head}");
                // NOTE: only when it exists: cargo counts a missing watched file as
                // changed, which re-ran this script on every build of a checkout
                // without packed refs.
                let packed = format!("{common}/packed-refs");
                if std::path::Path::new(&packed).exists() {
                    println!("cargo:rerun-if-changed={packed}");
                }
            }
            let hash = git(&["rev-parse", "--short=12", "HEAD"])?;
            let date = git(&["show", "-s", "--format=%cs", "HEAD"]);
            Some(match date {
                Some(d) => format!("{hash} {d}"),
                None => hash,
            })
        });
    let version = env!("CARGO_PKG_VERSION");
    let long = match commit {
        Some(c) => format!("{version} (commit {c})"),
        None => format!("{version} (unknown commit: not built from a git checkout)"),
    };
    println!("cargo:rustc-env=LEJE_VERSION={long}");
}
