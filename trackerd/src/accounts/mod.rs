//! Accounts: username and password rules, Argon2id password hashing (on the
//! blocking pool), session tokens (only their SHA-256 is ever stored) and
//! passkeys. Plain functions; sessions and storage live in
//! [`crate::community`] and [`crate::store`]. Must not log secrets.

pub mod clock;
pub mod limit;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngExt;
use sha2::{Digest, Sha256};

/// Shortest and longest username, in characters.
pub const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=32;
/// Shortest and longest password, in bytes.
pub const PASSWORD_BYTES: std::ops::RangeInclusive<usize> = 8..=1024;

/// Why a username or password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The username breaks the rules.
    #[error("username {0:?} must be 3-32 characters of a-z, 0-9, '_' and '-'")]
    Username(String),
    /// The password is too short or too long.
    #[error("password must be 8-1024 bytes, got {0}")]
    Password(usize),
    /// Hashing failed (should not happen).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Checks a username and returns it lowercase (usernames are case-insensitive).
pub fn normalize_username(name: &str) -> Result<String, CredentialError> {
    let lower = name.to_ascii_lowercase();
    let ok = USERNAME_CHARS.contains(&lower.chars().count())
        && lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(lower)
    } else {
        Err(CredentialError::Username(name.chars().take(64).collect()))
    }
}

/// Checks a password's length.
pub fn check_password(password: &str) -> Result<(), CredentialError> {
    if PASSWORD_BYTES.contains(&password.len()) {
        Ok(())
    } else {
        Err(CredentialError::Password(password.len()))
    }
}

/// Argon2 runs at most this many at once: each takes 19 MiB and a core, so
/// a burst of logins queues instead of holding hundreds of MiB (glibc keeps
/// freed arena memory) and starving announces of CPU.
fn argon2_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from))
    })
}

/// Hashes a password with Argon2id (default parameters) on the blocking pool.
pub async fn hash_password(password: String) -> Result<String, CredentialError> {
    let salt_bytes: [u8; 16] = rand::rng().random();
    let _slot = argon2_slots()
        .acquire()
        .await
        .map_err(|e| CredentialError::Hash(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|e| CredentialError::Hash(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| CredentialError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| CredentialError::Hash(e.to_string()))?
}

/// Checks a password against a stored Argon2 hash on the blocking pool.
/// `None` (unknown user) still spends the time of one verification, so
/// response time does not tell which usernames exist.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    let Ok(_slot) = argon2_slots().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let phc = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && phc != DUMMY_HASH
    })
    .await
    .unwrap_or(false)
}

/// The Argon2id hash of a random password nobody knows (used for unknown users).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$7R3c0fJp+5mR0Kq7QnJ7q9lJwqS8oQ1hR0sXbq0l3hE";

/// A new session token (32 random bytes, hex) and its SHA-256 (hex) for the store.
pub fn new_token() -> (String, String) {
    let bytes: [u8; 32] = rand::rng().random();
    let token = hex::encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// The SHA-256 (hex) of a token, the only form the store keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new passkey: 16 random bytes as 32 hex characters.
pub fn new_passkey() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_checked() {
        assert_eq!(normalize_username("Alice_1").unwrap(), "alice_1");
        for bad in ["ab", "a b c", "émile", &"x".repeat(33), "semi;colon"] {
            assert!(normalize_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_must_be_8_to_1024_bytes() {
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        assert!(check_password(&"x".repeat(1025)).is_err());
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
    }

    #[test]
    fn tokens_are_64_hex_and_stored_as_their_sha256() {
        let (t, h) = new_token();
        assert_eq!(t.len(), 64);
        assert_eq!(h, token_hash(&t));
        assert_ne!(t, h);
        assert_eq!(new_passkey().len(), 32);
    }
}
