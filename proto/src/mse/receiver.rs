//! The side that accepts: answers Ya with Yb and PadB, finds the
//! initiator's HASH('req1', S), learns the torrent from the obfuscated
//! info-hash, checks VC, reads the offer and the initial payload, and sends
//! its choice.

use super::cipher::{Rc4Stream, hash};
use super::dh::KeyPair;
use super::{
    Ciphers, CryptoSet, Established, KEY_LEN, MAX_IA_LEN, MAX_PAD, Method, MseError, Secrets, VC,
    find_bounded,
};
use crate::infohash::InfoHash;

/// Bytes after VC before PadC: crypto_provide and len(PadC).
const OFFER_LEN: usize = 4 + 2;

enum Stage {
    /// Waiting for Ya.
    Key,
    /// Searching for HASH('req1', S) after Ya and PadA.
    Sync {
        secret: Box<[u8; KEY_LEN]>,
    },
    /// Reading the obfuscated info-hash at `at`.
    Skey {
        secret: Box<[u8; KEY_LEN]>,
        at: usize,
    },
    /// Reading VC, crypto_provide and len(PadC) at `at`.
    Offer {
        s: Session,
        at: usize,
    },
    /// Reading PadC and len(IA).
    PadC {
        s: Session,
        at: usize,
        len: usize,
    },
    /// Reading IA.
    Payload {
        s: Session,
        at: usize,
        len: usize,
    },
    Done,
}

/// What is known once the initiator has named its torrent.
struct Session {
    info_hash: InfoHash,
    ciphers: Ciphers,
    /// crypto_provide, once read.
    offered: u32,
}

/// An MSE handshake someone started with us.
pub struct Receiver {
    keys: KeyPair,
    pad: Vec<u8>,
    allowed: CryptoSet,
    buf: Vec<u8>,
    stage: Stage,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Receiver {{ allowed: {:?}, .. }}", self.allowed)
    }
}

impl Receiver {
    /// Waits for an initiator; `allowed` are the methods we accept. Of
    /// those offered, plaintext is chosen over RC4 (see `answer`).
    pub fn new(mut secrets: Secrets, allowed: CryptoSet) -> Self {
        secrets.pad.truncate(MAX_PAD);
        Receiver {
            keys: KeyPair::new(&secrets.private_key),
            pad: secrets.pad,
            allowed,
            buf: Vec::new(),
            stage: Stage::Key,
        }
    }

    /// Takes `input`, the next bytes read; appends what to send to `out`.
    /// `torrent` maps HASH('req2', info-hash) (see [`super::req2_hash`]) to
    /// one of our torrents. `Ok(None)`: read more. `Ok(Some(_))`: the
    /// handshake is over.
    pub fn receive(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        torrent: &mut dyn FnMut(&[u8; 20]) -> Option<InfoHash>,
    ) -> Result<Option<Established>, MseError> {
        self.buf.extend_from_slice(input);
        loop {
            match std::mem::replace(&mut self.stage, Stage::Done) {
                Stage::Key => {
                    if self.buf.len() < KEY_LEN {
                        self.stage = Stage::Key;
                        return Ok(None);
                    }
                    let secret = self.keys.shared_secret(&self.buf[..KEY_LEN])?;
                    out.extend_from_slice(&self.keys.public);
                    out.append(&mut self.pad);
                    self.stage = Stage::Sync {
                        secret: Box::new(secret),
                    };
                }
                Stage::Sync { secret } => {
                    let req1 = hash(&[b"req1", &secret[..]]);
                    let hay = &self.buf[KEY_LEN..];
                    match find_bounded(hay, &req1, MAX_PAD, "info-hash proof")? {
                        None => {
                            self.stage = Stage::Sync { secret };
                            return Ok(None);
                        }
                        Some(at) => {
                            self.stage = Stage::Skey {
                                secret,
                                at: KEY_LEN + at + req1.len(),
                            }
                        }
                    }
                }
                Stage::Skey { secret, at } => {
                    let Some(obfuscated) = self.buf.get(at..at + 20) else {
                        self.stage = Stage::Skey { secret, at };
                        return Ok(None);
                    };
                    let req3 = hash(&[b"req3", &secret[..]]);
                    let mut req2 = [0u8; 20];
                    for (r, (o, m)) in req2.iter_mut().zip(obfuscated.iter().zip(req3)) {
                        *r = o ^ m;
                    }
                    let info_hash = torrent(&req2).ok_or(MseError::UnknownTorrent)?;
                    let ciphers = Ciphers {
                        encrypt: Rc4Stream::new(b"keyB", &secret[..], &info_hash.0),
                        decrypt: Rc4Stream::new(b"keyA", &secret[..], &info_hash.0),
                    };
                    self.stage = Stage::Offer {
                        s: Session {
                            info_hash,
                            ciphers,
                            offered: 0,
                        },
                        at: at + 20,
                    };
                }
                Stage::Offer { mut s, at } => {
                    let Some(head) = self.buf.get_mut(at..at + VC.len() + OFFER_LEN) else {
                        self.stage = Stage::Offer { s, at };
                        return Ok(None);
                    };
                    s.ciphers.decrypt.apply(head);
                    if head[..VC.len()] != VC {
                        return Err(MseError::BadVerification);
                    }
                    let o = &head[VC.len()..];
                    s.offered = u32::from_be_bytes([o[0], o[1], o[2], o[3]]);
                    let len = usize::from(u16::from_be_bytes([o[4], o[5]]));
                    if len > MAX_PAD {
                        return Err(MseError::PadTooLong(len));
                    }
                    self.stage = Stage::PadC {
                        s,
                        at: at + VC.len() + OFFER_LEN,
                        len,
                    };
                }
                Stage::PadC { mut s, at, len } => {
                    let Some(pad) = self.buf.get_mut(at..at + len + 2) else {
                        self.stage = Stage::PadC { s, at, len };
                        return Ok(None);
                    };
                    s.ciphers.decrypt.apply(pad);
                    let ia_len = usize::from(u16::from_be_bytes([pad[len], pad[len + 1]]));
                    if ia_len > MAX_IA_LEN {
                        return Err(MseError::PayloadTooLong(ia_len));
                    }
                    self.stage = Stage::Payload {
                        s,
                        at: at + len + 2,
                        len: ia_len,
                    };
                }
                Stage::Payload { mut s, at, len } => {
                    let Some(ia) = self.buf.get_mut(at..at + len) else {
                        self.stage = Stage::Payload { s, at, len };
                        return Ok(None);
                    };
                    s.ciphers.decrypt.apply(ia);
                    let payload = self.buf.split_off(at);
                    self.buf = Vec::new();
                    return self.answer(s, payload, len, out).map(Some);
                }
                Stage::Done => return Err(MseError::Finished),
            }
        }
    }

    /// Sends ENCRYPT(VC, crypto_select, len(PadD)) and hands over the
    /// stream; `payload` is IA (decrypted, `ia_len` bytes) and what followed.
    fn answer(
        &self,
        mut s: Session,
        mut payload: Vec<u8>,
        ia_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<Established, MseError> {
        // Plaintext when both sides allow it, as libtorrent chooses by
        // default: the handshake is still obfuscated, and RC4 would cap a
        // connection at what one core encrypts (a quarter of our plaintext
        // rate on loopback, bench/mse.sh). A side that requires RC4 offers
        // or allows nothing else.
        let common = CryptoSet(s.offered & self.allowed.0);
        let method = if common.contains(Method::Plaintext) {
            Method::Plaintext
        } else if common.contains(Method::Rc4) {
            Method::Rc4
        } else {
            return Err(MseError::NoCommonMethod {
                offered: s.offered,
                allowed: self.allowed.0,
            });
        };
        let start = out.len();
        out.extend_from_slice(&VC);
        out.extend_from_slice(&method.bit().to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes()); // PadD: none
        s.ciphers.encrypt.apply(&mut out[start..]);
        let ciphers = match method {
            Method::Rc4 => {
                s.ciphers.decrypt.apply(&mut payload[ia_len..]);
                Some(s.ciphers)
            }
            Method::Plaintext => None,
        };
        Ok(Established {
            info_hash: s.info_hash,
            ciphers,
            payload,
        })
    }
}
