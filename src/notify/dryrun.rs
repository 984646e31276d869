//! Emails that are not in the outbox yet, written as .eml files: what
//! `leje remind --dry-run DIR` shows (the reminders a pass would queue).

use std::path::{Path, PathBuf};

use chrono::Utc;

use super::deliver::{create_private_dir, Mode, Pass, RowOutcome};
use super::templates::Templates;
use super::NotifyError;
use crate::config::Settings;
use crate::store::{OutboxRow, Store};

/// Renders each row as the sender would and writes it into `dir`; changes nothing
/// in the store. Returns the files written.
pub async fn write(
    store: &Store,
    settings: &Settings,
    rows: &[OutboxRow],
    dir: &Path,
) -> Result<Vec<PathBuf>, NotifyError> {
    let templates = Templates::load(settings.notify.templates_dir.as_deref())?;
    create_private_dir(dir).map_err(|source| NotifyError::DryRun {
        path: dir.to_owned(),
        source,
    })?;
    let mode = Mode::DryRun(dir.to_owned());
    let pass = Pass {
        store,
        settings,
        templates: &templates,
        mode: &mode,
        now: Utc::now(),
        // A dry run sends nothing, so it claims nothing.
        claim: None,
    };
    let mut out = Vec::new();
    for row in rows {
        if let RowOutcome::Written(p) = pass.one(row).await? {
            out.push(p);
        }
    }
    Ok(out)
}
