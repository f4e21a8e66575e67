//! The hashes and RC4 streams of MSE: HASH is SHA-1 over the concatenated
//! parts, keys are HASH('keyA'|'keyB', S, SKEY), and the first 1024 bytes
//! of each keystream are thrown away (the spec's answer to RC4's biased
//! start).

use rc4::{KeyInit, Rc4, StreamCipher};
use sha1::{Digest, Sha1};

/// Keystream bytes discarded before use.
const DISCARD: usize = 1024;

pub(super) fn hash(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// One direction of an RC4-encrypted stream.
pub struct Rc4Stream(Rc4);

impl Rc4Stream {
    /// The stream keyed HASH(`label`, S, SKEY), past the discarded start.
    pub(super) fn new(label: &[u8], secret: &[u8], skey: &[u8]) -> Self {
        let key = hash(&[label, secret, skey]);
        // A 20-byte key is within RC4's 1..=256 bytes: cannot fail.
        let Ok(mut rc4) = Rc4::new_from_slice(&key) else {
            unreachable!("RC4 takes 20-byte keys")
        };
        let mut discard = [0u8; DISCARD];
        rc4.apply_keystream(&mut discard);
        Rc4Stream(rc4)
    }

    /// Encrypts or decrypts `buf` in place (RC4 is its own inverse).
    pub fn apply(&mut self, buf: &mut [u8]) {
        self.0.apply_keystream(buf);
    }
}

impl std::fmt::Debug for Rc4Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rc4Stream(..)")
    }
}
