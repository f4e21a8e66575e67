//! The 768-bit Diffie-Hellman exchange of MSE: the spec's prime P, G = 2,
//! keys sent as 96 big-endian bytes.

use num_bigint::BigUint;

use super::{KEY_LEN, MseError, PRIVATE_KEY_LEN};

/// P from the spec (the 768-bit MODP group of RFC 2409).
const P_HEX: &[u8] = b"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74\
020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437\
4FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563";

fn prime() -> BigUint {
    // A constant that parses: cannot fail.
    let Some(p) = BigUint::parse_bytes(P_HEX, 16) else {
        unreachable!("P is valid hex")
    };
    p
}

/// A private key and its public key.
pub(super) struct KeyPair {
    private: BigUint,
    pub(super) public: [u8; KEY_LEN],
}

impl KeyPair {
    pub(super) fn new(private: &[u8; PRIVATE_KEY_LEN]) -> Self {
        let private = BigUint::from_bytes_be(private);
        let public = BigUint::from(2u32).modpow(&private, &prime());
        KeyPair {
            public: to_key_bytes(&public),
            private,
        }
    }

    /// S, from the peer's public key.
    pub(super) fn shared_secret(&self, theirs: &[u8]) -> Result<[u8; KEY_LEN], MseError> {
        let p = prime();
        let y = BigUint::from_bytes_be(theirs);
        // 0, 1 and P - 1 give a secret anyone can guess.
        if y <= BigUint::from(1u32) || y >= &p - 1u32 {
            return Err(MseError::BadPublicKey);
        }
        Ok(to_key_bytes(&y.modpow(&self.private, &p)))
    }
}

/// Left-pads with zeros to 96 bytes, as the spec sends keys and hashes S.
fn to_key_bytes(n: &BigUint) -> [u8; KEY_LEN] {
    let bytes = n.to_bytes_be();
    let mut out = [0u8; KEY_LEN];
    // Every value here is below P, so it fits.
    out[KEY_LEN - bytes.len()..].copy_from_slice(&bytes);
    out
}
