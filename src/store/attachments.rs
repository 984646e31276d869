//! Private files and directories, and the waybill files of stores before schema 5.
//!
//! Waybill contents now live in the database (`waybill_data`, by sha256). Until
//! schema 5 each was a file, content-addressed under
//! `state_dir/attachments/ab/cdef…`; those are still read from there
//! ([`crate::store::Store::waybill_data`]), never written.

use std::os::unix::fs::PermissionsExt;
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

/// Writes `bytes` to `path` as a file only its owner can read (0600, replacing
/// whatever was there, whatever its mode): written under `<name>.tmp`, synced and
/// renamed into place, so nobody sees half a file.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Where a waybill stored before schema 5 with this hex sha256 lives.
pub(crate) fn blob_path(root: &Path, sha256: &str) -> PathBuf {
    let (a, b) = sha256.split_at(sha256.len().min(2));
    root.join(a).join(b)
}

/// Hex sha256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dir_is_0700_whatever_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a/b");
        private_dir(&d).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&d), 0o700);
        chmod(&d, 0o755).unwrap();
        private_dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
    }

    #[test]
    fn private_file_replaces_a_wider_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("waybill.pdf");
        std::fs::write(&p, b"old").unwrap();
        chmod(&p, 0o644).unwrap();
        write_private(&p, b"%PDF-1.4").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"%PDF-1.4");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn legacy_paths_split_the_hash() {
        let root = Path::new("/s/attachments");
        let sha = sha256_hex(b"%PDF-1.4 waybill");
        let p = blob_path(root, &sha);
        assert_eq!(p, root.join(&sha[..2]).join(&sha[2..]));
    }
}
