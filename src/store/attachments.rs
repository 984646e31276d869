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
/// whatever was there, whatever its mode): written to a new temporary file beside
/// it, synced and renamed into place, so nobody sees half a file.
///
/// NOTE: the temporary file is created new (`O_CREAT | O_EXCL`, which never
/// follows a symlink) under an unpredictable name: a symlink planted at
/// `FILE.tmp` used to be followed, and its target overwritten. The rename
/// replaces a symlink at `path` itself, never its target.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut attempt = 0;
    let (mut f, tmp) = loop {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{:016x}.tmp", fastrand::u64(..)));
        let tmp = PathBuf::from(tmp);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => break (f, tmp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 8 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let written = f
        .write_all(bytes)
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
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
    fn a_planted_symlink_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let p = dir.path().join("waybill.pdf");
        // Every name an attacker could guess for the temporary file, and the file itself.
        std::os::unix::fs::symlink(&victim, dir.path().join("waybill.pdf.tmp")).unwrap();
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        write_private(&p, b"%PDF-1.4").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(!std::fs::symlink_metadata(&p).unwrap().is_symlink());
        assert_eq!(std::fs::read(&p).unwrap(), b"%PDF-1.4");
    }

    #[test]
    fn legacy_paths_split_the_hash() {
        let root = Path::new("/s/attachments");
        let sha = sha256_hex(b"%PDF-1.4 waybill");
        let p = blob_path(root, &sha);
        assert_eq!(p, root.join(&sha[..2]).join(&sha[2..]));
    }
}
