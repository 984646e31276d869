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

/// Stores `data` under its hash (no-op when already present) and returns the hash.
pub(crate) fn write_blob(root: &Path, data: &[u8]) -> Result<String, StoreError> {
    let sha = sha256_hex(data);
    let path = blob_path(root, &sha);
    if let Ok(meta) = std::fs::metadata(&path) {
        if meta.len() == data.len() as u64 {
            return Ok(sha);
        }
    }
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
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(StoreError::io(&path, e));
    }
    Ok(sha)
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
}
