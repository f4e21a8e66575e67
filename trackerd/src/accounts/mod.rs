//! Accounts: username and password rules, Argon2id password hashing (on a
//! few threads of its own, see `hashers`), session tokens (only their SHA-256 is ever stored) and
//! passkeys. Plain functions; sessions and storage live in
//! [`crate::community`] and [`crate::store`]. Must not log secrets.

pub mod clock;
pub mod hash_queue;
mod hashers;
pub mod limit;
pub mod login_limit;
pub mod passkeys;

use std::cell::RefCell;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use p2p_proto::infohash::hex_encode;
use rand::RngExt;
use sha2::{Digest, Sha256};

/// Shortest and longest username, in characters.
pub const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=32;
/// Shortest and longest password, in bytes.
pub const PASSWORD_BYTES: std::ops::RangeInclusive<usize> = 8..=1024;
/// Random bytes in a passkey.
pub const PASSKEY_BYTES: usize = 16;
/// Length of a passkey: [`PASSKEY_BYTES`] as lowercase hex digits.
pub const PASSKEY_LEN: usize = 2 * PASSKEY_BYTES;

/// Why a username or password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The username breaks the rules.
    #[error("username {0:?} must be 3-32 characters of a-z, 0-9, '_' and '-'")]
    Username(String),
    /// The username is kept for the system or reads as an option.
    #[error("username {0:?} is reserved: choose another")]
    Reserved(String),
    /// The password is too short or too long.
    #[error("password must be 8-1024 bytes, got {0}")]
    Password(usize),
    /// Hashing failed (should not happen).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Checks a username and returns it lowercase (usernames are case-insensitive).
pub fn normalize_username(name: &str) -> Result<String, CredentialError> {
    lowercase_name(name, USERNAME_CHARS)
        .ok_or_else(|| CredentialError::Username(name.chars().take(64).collect()))
}

/// Names no one may register: they would pass for the operator or the
/// system in the event log and the online list.
pub const RESERVED_USERNAMES: &[&str] = &[
    "admin",
    "administrator",
    "root",
    "system",
    "operator",
    "moderator",
    "support",
    "trackerd",
    "p2pd",
    "p2p",
    "nobody",
    "anonymous",
    "public",
];

/// Checks the name of a new account: the username rules, not reserved, and
/// not starting with `-` (it would read as an option on a command line).
/// Existing accounts are not checked again at login.
pub fn new_username(name: &str) -> Result<String, CredentialError> {
    let lower = normalize_username(name)?;
    if lower.starts_with('-') || RESERVED_USERNAMES.contains(&lower.as_str()) {
        return Err(CredentialError::Reserved(lower));
    }
    Ok(lower)
}

/// `name` lowercased, if it is `chars` long and made of `a-z 0-9 _ -` only
/// (the rule for user and group names).
pub fn lowercase_name(name: &str, chars: std::ops::RangeInclusive<usize>) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let ok = chars.contains(&lower.chars().count())
        && lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    ok.then_some(lower)
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
/// a burst of logins queues here instead of starving announces of CPU.
fn argon2_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from))
    })
}

/// Hashes a password with Argon2id (default parameters) on an Argon2 thread.
pub async fn hash_password(password: String) -> Result<String, CredentialError> {
    let salt_bytes: [u8; 16] = rand::rng().random();
    let _slot = argon2_slots()
        .acquire()
        .await
        .map_err(|e| CredentialError::Hash(e.to_string()))?;
    hashers::run(move || {
        let params = Params::default();
        let salt = SaltString::encode_b64(&salt_bytes)?;
        let hash = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
            Ok(argon2id_into(
                &params,
                Version::V0x13,
                password.as_bytes(),
                &salt_bytes,
                out,
            )?)
        })?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt.as_salt()),
            hash: Some(hash),
        };
        Ok::<_, argon2::password_hash::Error>(phc.to_string())
    })
    .await
    .unwrap_or(Err(argon2::password_hash::Error::Crypto))
    .map_err(|e| CredentialError::Hash(e.to_string()))
}

/// Checks a password against a stored Argon2 hash on an Argon2 thread.
/// `None` (unknown user) still spends the time of one verification, so
/// response time does not tell which usernames exist.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    let Ok(_slot) = argon2_slots().acquire().await else {
        return false;
    };
    hashers::run(move || {
        let phc = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let ok = verify_phc(password.as_bytes(), &phc).unwrap_or(false);
        ok && phc != DUMMY_HASH
    })
    .await
    .unwrap_or(false)
}

/// Most Argon2 memory a stored hash may ask for, in 1 KiB blocks (four
/// times the default): a damaged row must not make a login allocate gigabytes.
const MAX_ARGON2_BLOCKS: usize = 4 * Params::DEFAULT_M_COST as usize;

/// Whether `password` matches a PHC-format Argon2id hash (constant-time
/// comparison); `None` when the hash is malformed or not Argon2id.
fn verify_phc(password: &[u8], phc: &str) -> Option<bool> {
    let parsed = PasswordHash::new(phc).ok()?;
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return None;
    }
    let params = Params::try_from(&parsed).ok()?;
    if params.block_count() > MAX_ARGON2_BLOCKS {
        return None;
    }
    let version = Version::try_from(parsed.version.unwrap_or(0x13)).ok()?;
    let expected = parsed.hash?;
    let mut salt_buf = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
    let computed = Output::init_with(expected.len(), |out| {
        Ok(argon2id_into(&params, version, password, salt, out)?)
    })
    .ok()?;
    // Output's equality is constant-time.
    Some(computed == expected)
}

/// Argon2id into `out`, in this thread's reusable memory: allocating the
/// 19 MiB afresh for every hash left glibc holding hundreds of MiB.
fn argon2id_into(
    params: &Params,
    version: Version,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    thread_local! {
        static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
    }
    MEMORY.with_borrow_mut(|memory| {
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        Argon2::new(Algorithm::Argon2id, version, params.clone()).hash_password_into_with_memory(
            password,
            salt,
            out,
            &mut memory[..blocks],
        )
    })
}

/// The Argon2id hash of a random password nobody knows (used for unknown users).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$7R3c0fJp+5mR0Kq7QnJ7q9lJwqS8oQ1hR0sXbq0l3hE";

/// A new session token (32 random bytes, hex) and its SHA-256 (hex) for the store.
pub fn new_token() -> (String, String) {
    let bytes: [u8; 32] = rand::rng().random();
    let token = hex_encode(&bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// The SHA-256 (hex) of a token, the only form the store keeps.
pub fn token_hash(token: &str) -> String {
    hex_encode(&Sha256::digest(token.as_bytes()))
}

/// A new passkey: [`PASSKEY_BYTES`] random bytes as [`PASSKEY_LEN`]
/// lowercase hex digits.
pub fn new_passkey() -> String {
    let bytes: [u8; PASSKEY_BYTES] = rand::rng().random();
    hex_encode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_option_like_names_cannot_be_registered() {
        for name in ["admin", "ROOT", "Administrator", "-rf", "--help", "public"] {
            assert!(
                matches!(new_username(name), Err(CredentialError::Reserved(_))),
                "{name}"
            );
        }
        assert_eq!(new_username("Alice").as_deref(), Ok("alice"));
        assert_eq!(new_username("admin_2").as_deref(), Ok("admin_2"));
        // Logging in with a name registered before the rule still works.
        assert_eq!(normalize_username("admin").as_deref(), Ok("admin"));
    }

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
    fn hashes_match_the_argon2_crate_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        // A hash the crate made (as earlier versions stored) verifies here...
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert_eq!(verify_phc(b"correct horse", &theirs), Some(true));
        assert_eq!(verify_phc(b"wrong horse", &theirs), Some(false));
        // ...and ours verifies with the crate.
        let ours = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(hash_password("correct horse".into()))
            .unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        // The stand-in for unknown users costs a full verification.
        assert_eq!(verify_phc(b"anything", DUMMY_HASH), Some(false));
        // Malformed, other algorithms and oversized memory are refused.
        assert_eq!(verify_phc(b"x", "not a hash"), None);
        assert_eq!(
            verify_phc(b"x", &theirs.replace("m=19456", "m=4000000")),
            None
        );
        assert_eq!(
            verify_phc(b"x", &theirs.replace("argon2id", "argon2i")),
            None
        );
    }

    #[test]
    fn tokens_are_64_hex_and_stored_as_their_sha256() {
        let (t, h) = new_token();
        assert_eq!(t.len(), 64);
        assert_eq!(h, token_hash(&t));
        assert_ne!(t, h);
        let passkey = new_passkey();
        assert_eq!(passkey.len(), PASSKEY_LEN);
        assert!(
            passkey
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        );
    }
}
