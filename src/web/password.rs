//! Staff passwords: argon2id (the crate's defaults, RFC 9106's second
//! recommendation: 19 MiB, 2 passes), PHC strings in the store.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

/// The shortest password accepted.
pub const MIN_LEN: usize = 10;

/// Hashes a password for the store.
pub fn hash(password: &str) -> Result<String, String> {
    if password.chars().count() < MIN_LEN {
        return Err(format!("a password needs at least {MIN_LEN} characters"));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// A hash of nothing anyone knows, checked when an account does not exist or has
/// no password, so a failed login takes the same time either way.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3Pk6Hf1Ljs7G2N3nzS0+7bd1kQ3yE9wYtX2y4aXh5Zk";

/// Does `password` match `hash`? (`None` or an unreadable hash: no.)
pub fn verify(password: &str, hash: Option<&str>) -> bool {
    let real = hash.and_then(|h| PasswordHash::new(h).ok());
    let parsed = match &real {
        Some(p) => p.clone(),
        None => match PasswordHash::new(DUMMY) {
            Ok(p) => p,
            Err(_) => return false,
        },
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real.is_some()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_differ() {
        let a = super::hash("correct horse battery").unwrap();
        let b = super::hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b);
        assert!(super::verify("correct horse battery", Some(&a)));
        assert!(!super::verify("wrong horse battery", Some(&a)));
        assert!(!super::verify("correct horse battery", None));
        assert!(super::hash("short").is_err());
    }
}
