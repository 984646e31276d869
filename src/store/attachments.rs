//! Waybill files, content-addressed by sha256 under `state_dir/attachments/ab/cdef…`.
//!
//! Files are 0600 and directories 0700 whatever the umask. A file is written
//! to a temporary name and renamed into place, so a reader never sees half a
//! file; writing it before the database commits is harmless because the name
//! is its hash (a rolled-back ingest leaves at most an unreferenced blob).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::StoreError;

/// Sets `path`'s mode exactly.
pub(crate) fn chmod(path: &Path, mode: u32) -> Result<(), StoreError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| StoreError::io(path, e))
}

/// Creates `dir` (and parents) if needed and makes it 0700.
pub(crate) fn private_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let mode = std::fs::metadata(dir)
        .map_err(|e| StoreError::io(dir, e))?
        .permissions()
        .mode();
    if mode & 0o777 != 0o700 {
        chmod(dir, 0o700)?;
    }
    Ok(())
}

/// Where the blob with this hex sha256 lives.
pub(crate) fn blob_path(root: &Path, sha256: &str) -> PathBuf {
    let (a, b) = sha256.split_at(sha256.len().min(2));
    root.join(a).join(b)
}

/// Hex sha256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Stores `data` under its hash (no-op when already present), durably, and
/// returns the hash. For several blobs in one transaction use [`Blobs`].
#[cfg(test)]
pub(crate) fn write_blob(root: &Path, data: &[u8]) -> Result<String, StoreError> {
    let mut b = Blobs::new(root);
    let sha = b.stage(data)?;
    b.finish()?;
    Ok(sha)
}

/// Waybill files written for one store transaction, made durable together just
/// before it commits.
///
/// NOTE: fsync per file costs a journal commit each (3–6 ms on the CI disk), which
/// capped a backlog at a few hundred messages a second. Instead each file is
/// written under a temporary name and renamed into place at once, and
/// [`Blobs::finish`] makes them all durable with one `syncfs(2)` before the
/// database commits. A crash before that may leave a renamed file whose content
/// never reached the disk; no committed row refers to it, and [`Blobs::stage`]
/// compares an existing file's bytes (not just its length) before trusting it,
/// so the retry rewrites it.
#[derive(Debug)]
pub(crate) struct Blobs {
    root: PathBuf,
    written: usize,
    names: std::collections::HashSet<String>,
}

impl Blobs {
    pub(crate) fn new(root: &Path) -> Blobs {
        Blobs {
            root: root.to_owned(),
            written: 0,
            names: Default::default(),
        }
    }

    /// Writes `data` under its hash unless an identical blob is there (or already
    /// staged); returns the hash. Not durable before [`Blobs::finish`].
    pub(crate) fn stage(&mut self, data: &[u8]) -> Result<String, StoreError> {
        let sha = sha256_hex(data);
        if self.names.contains(&sha) {
            return Ok(sha);
        }
        let path = blob_path(&self.root, &sha);
        let same = std::fs::metadata(&path).is_ok_and(|m| m.len() == data.len() as u64)
            && std::fs::read(&path).is_ok_and(|d| d == data);
        if !same {
            write_file(&path, &self.root, data)?;
            self.written += 1;
        }
        self.names.insert(sha.clone());
        Ok(sha)
    }

    /// Whether files were written that [`Blobs::finish`] must make durable.
    pub(crate) fn is_empty(&self) -> bool {
        self.written == 0
    }

    /// Makes every blob written since the last call durable (one `syncfs`).
    pub(crate) fn finish(&mut self) -> Result<(), StoreError> {
        if self.written > 0 {
            let dir = std::fs::File::open(&self.root).map_err(|e| StoreError::io(&self.root, e))?;
            rustix::fs::syncfs(&dir).map_err(|e| StoreError::io(&self.root, e.into()))?;
            self.written = 0;
        }
        Ok(())
    }
}

/// Writes `data` to a temporary file next to `path` and renames it into place,
/// so a reader never sees half a file.
fn write_file(path: &Path, root: &Path, data: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(root);
    private_dir(dir)?;
    let tmp = dir.join(format!(
        ".tmp-{}-{:016x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(data)?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(StoreError::io(path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_private_and_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("attachments");
        private_dir(&root).unwrap();
        let a = write_blob(&root, b"%PDF-1.4 waybill").unwrap();
        let b = write_blob(&root, b"%PDF-1.4 waybill").unwrap();
        assert_eq!(a, b);
        let p = blob_path(&root, &a);
        assert_eq!(std::fs::read(&p).unwrap(), b"%PDF-1.4 waybill");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(p.parent().unwrap()), 0o700);
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn a_damaged_blob_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("attachments");
        private_dir(&root).unwrap();
        let sha = write_blob(&root, b"%PDF-1.4 waybill").unwrap();
        let p = blob_path(&root, &sha);
        // Same length, different bytes: what a crash before syncfs can leave.
        std::fs::write(&p, b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0").unwrap();
        let mut b = Blobs::new(&root);
        assert_eq!(b.stage(b"%PDF-1.4 waybill").unwrap(), sha);
        assert!(!b.is_empty());
        b.finish().unwrap();
        assert!(b.is_empty());
        assert_eq!(std::fs::read(&p).unwrap(), b"%PDF-1.4 waybill");
        // Intact: nothing to write, nothing to sync.
        let mut b = Blobs::new(&root);
        b.stage(b"%PDF-1.4 waybill").unwrap();
        assert!(b.is_empty());
    }
}
