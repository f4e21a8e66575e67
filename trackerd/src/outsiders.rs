//! Where outsiders of a group swarm go in open mode. An open tracker admits
//! any info-hash, so refusing a group's info-hash to a non-member would
//! tell them the tracker holds it as a group torrent. Instead they get
//! what an unknown torrent gets: an open swarm, but one of their own, kept
//! under a key nobody can compute (a keyed hash with a secret drawn at
//! start), never the members' swarm.
//!
//! Not here: who is a member (the catalog's access index decides).

use p2p_proto::infohash::InfoHash;
use rand::RngExt;
use sha2::{Digest, Sha256};

/// Bytes of a key that name the swarm; the rest tag it as an outsiders' key.
const NAME_BYTES: usize = 16;

/// The secret keying outsiders' swarms.
pub struct Outsiders {
    secret: [u8; 32],
}

impl Default for Outsiders {
    fn default() -> Self {
        Outsiders {
            secret: rand::rng().random(),
        }
    }
}

impl std::fmt::Debug for Outsiders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outsiders(<secret>)")
    }
}

impl Outsiders {
    /// The key of the outsiders' swarm of the group torrent `h`.
    pub fn key(&self, h: &InfoHash) -> InfoHash {
        let name = self.mac(b"name", &h.0);
        let mut key = [0u8; 20];
        key[..NAME_BYTES].copy_from_slice(&name[..NAME_BYTES]);
        let tag = self.tag(&key[..NAME_BYTES]);
        key[NAME_BYTES..].copy_from_slice(&tag);
        InfoHash(key)
    }

    /// Whether `h` is an outsiders' key (a real info-hash passes for one
    /// once in 2^32), so a full scrape can leave these swarms out.
    pub fn is_key(&self, h: &InfoHash) -> bool {
        h.0[NAME_BYTES..] == self.tag(&h.0[..NAME_BYTES])
    }

    fn tag(&self, name: &[u8]) -> [u8; 4] {
        let t = self.mac(b"tag", name);
        [t[0], t[1], t[2], t[3]]
    }

    fn mac(&self, purpose: &[u8], data: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(purpose);
        h.update(data);
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_stable_tagged_and_unlike_the_info_hash() {
        let o = Outsiders::default();
        let h = InfoHash([7; 20]);
        assert_eq!(o.key(&h), o.key(&h));
        assert_ne!(o.key(&h), h);
        assert!(o.is_key(&o.key(&h)));
        assert!(!o.is_key(&h));
        assert_ne!(o.key(&h), o.key(&InfoHash([8; 20])));
    }

    #[test]
    fn another_secret_gives_other_keys() {
        let h = InfoHash([7; 20]);
        let (a, b) = (Outsiders::default(), Outsiders::default());
        assert_ne!(a.key(&h), b.key(&h));
        assert!(!b.is_key(&a.key(&h)));
    }
}
