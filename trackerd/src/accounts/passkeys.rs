//! Passkeys at rest: the database never holds one in clear.
//!
//! The tracker must show a user their passkey again (whoami, the
//! personalised .torrent and magnet made on demand), so a one-way hash
//! alone will not do. Each passkey is stored as
//! - its SHA-256 (hex), unique, to check it against;
//! - a fresh random nonce and the passkey XORed with
//!   HMAC-SHA256(server key, nonce), truncated to the passkey's 16 bytes.
//!
//! The server key is 32 random bytes in a file of its own, owner-only,
//! beside the database (not inside it). A copy of the database alone then
//! tells no passkey: the pads are pseudo-random without the key, and the
//! hashes are of 128 random bits. A fresh nonce per passkey means no pad is
//! used twice, so rotation and the migration of old clear passkeys (which
//! keep working: they are sealed as they are) need nothing else.
//!
//! Must not log passkeys or the key.

use std::io::Write as _;
use std::path::Path;

use p2p_proto::infohash::hex_encode;
use rand::RngExt;
use sha2::{Digest, Sha256};

use super::PASSKEY_BYTES;
use crate::store::community::StoredPasskey;

/// Bytes of the server key.
pub const KEY_BYTES: usize = 32;
/// Bytes of a nonce.
pub const NONCE_BYTES: usize = 16;

/// Why the key could not be read or a stored passkey opened.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyKeyError {
    /// The key file could not be read or created.
    #[error("passkey key file {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The key file holds something else than 64 hex digits.
    #[error("passkey key file {0} is not 64 hex digits")]
    Malformed(std::path::PathBuf),
    /// A stored passkey does not open to its hash: another key, or a damaged row.
    #[error(
        "the passkey of user {0} does not match its hash: the passkey key file is not the one this database was written with"
    )]
    Mismatch(i64),
}

/// The server key. `Debug` hides it.
#[derive(Clone)]
pub struct PasskeyKey([u8; KEY_BYTES]);

impl std::fmt::Debug for PasskeyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasskeyKey(<redacted>)")
    }
}

impl PasskeyKey {
    /// A random key kept nowhere (an in-memory database).
    pub fn ephemeral() -> PasskeyKey {
        PasskeyKey(rand::rng().random())
    }

    /// The key in `path`, made (0600, in a 0700 folder when it makes the
    /// folder) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<PasskeyKey, PasskeyKeyError> {
        let io = |source| PasskeyKeyError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_files::create_dir(dir).map_err(io)?;
        }
        match std::fs::read_to_string(path) {
            Ok(text) => {
                // Tightened if someone loosened it.
                crate::private_files::make_private(path).map_err(io)?;
                return parse_hex32(text.trim())
                    .map(PasskeyKey)
                    .ok_or_else(|| PasskeyKeyError::Malformed(path.to_owned()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let key = PasskeyKey::ephemeral();
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            open.mode(0o600);
        }
        let mut f = open.open(path).map_err(io)?;
        f.write_all(format!("{}\n", hex_encode(&key.0)).as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io)?;
        Ok(key)
    }

    fn pad(&self, nonce: &[u8; NONCE_BYTES]) -> [u8; 32] {
        let mut msg = b"p2p passkey v1\0".to_vec();
        msg.extend_from_slice(nonce);
        hmac_sha256(&self.0, &msg)
    }

    /// The stored form of `passkey` (32 lowercase hex digits).
    pub fn seal(&self, passkey: &str) -> StoredPasskey {
        let nonce: [u8; NONCE_BYTES] = rand::rng().random();
        let pad = self.pad(&nonce);
        let clear = parse_hex16(passkey).unwrap_or_default();
        let sealed: Vec<u8> = clear.iter().zip(pad).map(|(c, p)| c ^ p).collect();
        StoredPasskey {
            hash: passkey_hash(passkey),
            nonce: hex_encode(&nonce),
            sealed: hex_encode(&sealed),
        }
    }

    /// The passkey of a stored form, checked against its hash.
    pub fn open(&self, user_id: i64, s: &StoredPasskey) -> Result<String, PasskeyKeyError> {
        let nonce = parse_hex16(&s.nonce).ok_or(PasskeyKeyError::Mismatch(user_id))?;
        let sealed = parse_hex16(&s.sealed).ok_or(PasskeyKeyError::Mismatch(user_id))?;
        let pad = self.pad(&nonce);
        let clear: Vec<u8> = sealed.iter().zip(pad).map(|(c, p)| c ^ p).collect();
        let passkey = hex_encode(&clear);
        if passkey_hash(&passkey) != s.hash {
            return Err(PasskeyKeyError::Mismatch(user_id));
        }
        Ok(passkey)
    }
}

/// The SHA-256 (hex) of a passkey, the form the database can check against.
pub fn passkey_hash(passkey: &str) -> String {
    hex_encode(&Sha256::digest(passkey.as_bytes()))
}

/// HMAC-SHA256 (RFC 2104) for keys of at most 64 bytes.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().take(64).enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn parse_hex16(s: &str) -> Option<[u8; PASSKEY_BYTES]> {
    parse_hex(s)
}

fn parse_hex32(s: &str) -> Option<[u8; KEY_BYTES]> {
    parse_hex(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex_encode(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_sealed_passkey_opens_with_its_key_only_and_never_shows_in_clear() {
        let key = PasskeyKey::ephemeral();
        let passkey = super::super::new_passkey();
        let stored = key.seal(&passkey);
        assert_eq!(key.open(7, &stored).unwrap(), passkey);
        for field in [&stored.hash, &stored.nonce, &stored.sealed] {
            assert!(!field.contains(&passkey));
        }
        assert_ne!(
            key.seal(&passkey).sealed,
            stored.sealed,
            "a fresh nonce each time"
        );
        let other = PasskeyKey::ephemeral();
        assert!(matches!(
            other.open(7, &stored),
            Err(PasskeyKeyError::Mismatch(7))
        ));
        assert!(!format!("{key:?}").contains(&hex_encode(&key.0)));
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_made_owner_only_once_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("state/trackerd.passkey-key");
        let a = PasskeyKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let b = PasskeyKey::load_or_create(&path).unwrap();
        assert_eq!(a.0, b.0);
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            PasskeyKey::load_or_create(&path),
            Err(PasskeyKeyError::Malformed(_))
        ));
    }
}
