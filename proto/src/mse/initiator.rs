//! The side that dials: sends Ya and PadA, and once Yb arrives the
//! info-hash proof, its offer and the initial payload; then finds the
//! receiver's encrypted VC and reads its choice.

use super::cipher::{Rc4Stream, hash};
use super::dh::KeyPair;
use super::{
    Ciphers, CryptoSet, Established, KEY_LEN, MAX_IA_LEN, MAX_PAD, Method, MseError, Secrets, VC,
    find_bounded,
};
use crate::infohash::InfoHash;

enum Stage {
    /// Waiting for Yb.
    Key,
    /// Searching for the receiver's encrypted VC after Yb and PadB.
    Sync {
        ciphers: Ciphers,
        vc: [u8; 8],
    },
    /// Reading crypto_select and len(PadD) at `at`.
    Select {
        ciphers: Ciphers,
        at: usize,
    },
    /// Skipping PadD.
    PadD {
        ciphers: Ciphers,
        method: Method,
        at: usize,
        len: usize,
    },
    Done,
}

/// An MSE handshake we started.
pub struct Initiator {
    keys: KeyPair,
    info_hash: InfoHash,
    provide: CryptoSet,
    initial_payload: Vec<u8>,
    buf: Vec<u8>,
    stage: Stage,
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Initiator {{ info_hash: {}, .. }}", self.info_hash)
    }
}

impl Initiator {
    /// Starts a handshake for `info_hash` offering `provide`, with
    /// `initial_payload` (usually the BitTorrent handshake, at most
    /// [`MAX_IA_LEN`] bytes; more are sent after the handshake by the
    /// caller) sent encrypted with the offer. Appends Ya and PadA to `out`.
    pub fn new(
        secrets: Secrets,
        info_hash: InfoHash,
        provide: CryptoSet,
        mut initial_payload: Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Self {
        let keys = KeyPair::new(&secrets.private_key);
        out.extend_from_slice(&keys.public);
        out.extend_from_slice(&secrets.pad[..secrets.pad.len().min(MAX_PAD)]);
        initial_payload.truncate(MAX_IA_LEN);
        Initiator {
            keys,
            info_hash,
            provide,
            initial_payload,
            buf: Vec::new(),
            stage: Stage::Key,
        }
    }

    /// Takes `input`, the next bytes read; appends what to send to `out`.
    /// `Ok(None)`: read more. `Ok(Some(_))`: the handshake is over.
    pub fn receive(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<Established>, MseError> {
        self.buf.extend_from_slice(input);
        loop {
            match std::mem::replace(&mut self.stage, Stage::Done) {
                Stage::Key => {
                    if self.buf.len() < KEY_LEN {
                        self.stage = Stage::Key;
                        return Ok(None);
                    }
                    self.stage = self.send_offer(out)?;
                }
                Stage::Sync { ciphers, vc } => {
                    let hay = &self.buf[KEY_LEN..];
                    match find_bounded(hay, &vc, MAX_PAD, "verification constant")? {
                        None => {
                            self.stage = Stage::Sync { ciphers, vc };
                            return Ok(None);
                        }
                        Some(at) => {
                            // The decrypt stream is already past VC: it made `vc`.
                            self.stage = Stage::Select {
                                ciphers,
                                at: KEY_LEN + at + VC.len(),
                            };
                        }
                    }
                }
                Stage::Select { mut ciphers, at } => {
                    let Some(head) = self.buf.get_mut(at..at + 6) else {
                        self.stage = Stage::Select { ciphers, at };
                        return Ok(None);
                    };
                    ciphers.decrypt.apply(head);
                    let selected = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
                    let len = usize::from(u16::from_be_bytes([head[4], head[5]]));
                    let method = match selected {
                        0x01 => Some(Method::Plaintext),
                        0x02 => Some(Method::Rc4),
                        _ => None,
                    };
                    let Some(method) = method.filter(|m| self.provide.contains(*m)) else {
                        return Err(MseError::BadSelect {
                            selected,
                            offered: self.provide.0,
                        });
                    };
                    if len > MAX_PAD {
                        return Err(MseError::PadTooLong(len));
                    }
                    self.stage = Stage::PadD {
                        ciphers,
                        method,
                        at: at + 6,
                        len,
                    };
                }
                Stage::PadD {
                    mut ciphers,
                    method,
                    at,
                    len,
                } => {
                    let Some(pad) = self.buf.get_mut(at..at + len) else {
                        self.stage = Stage::PadD {
                            ciphers,
                            method,
                            at,
                            len,
                        };
                        return Ok(None);
                    };
                    ciphers.decrypt.apply(pad);
                    let mut payload = self.buf.split_off(at + len);
                    self.buf = Vec::new();
                    let ciphers = match method {
                        Method::Rc4 => {
                            ciphers.decrypt.apply(&mut payload);
                            Some(ciphers)
                        }
                        Method::Plaintext => None,
                    };
                    return Ok(Some(Established {
                        info_hash: self.info_hash,
                        ciphers,
                        payload,
                    }));
                }
                Stage::Done => return Err(MseError::Finished),
            }
        }
    }

    /// Yb is in: sends HASH('req1', S), HASH('req2', SKEY) xor
    /// HASH('req3', S), then ENCRYPT(VC, crypto_provide, len(PadC), PadC,
    /// len(IA)) and ENCRYPT(IA).
    fn send_offer(&mut self, out: &mut Vec<u8>) -> Result<Stage, MseError> {
        let secret = self.keys.shared_secret(&self.buf[..KEY_LEN])?;
        let skey = &self.info_hash.0;
        out.extend_from_slice(&hash(&[b"req1", &secret]));
        let req2 = hash(&[b"req2", skey]);
        let req3 = hash(&[b"req3", &secret]);
        out.extend(req2.iter().zip(req3).map(|(a, b)| a ^ b));
        let mut ciphers = Ciphers {
            encrypt: Rc4Stream::new(b"keyA", &secret, skey),
            decrypt: Rc4Stream::new(b"keyB", &secret, skey),
        };
        let start = out.len();
        out.extend_from_slice(&VC);
        out.extend_from_slice(&self.provide.0.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes()); // PadC: none
        // Truncated to MAX_IA_LEN (4096) in `new`: fits in u16.
        out.extend_from_slice(&(self.initial_payload.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.initial_payload);
        ciphers.encrypt.apply(&mut out[start..]);
        let mut vc = VC;
        ciphers.decrypt.apply(&mut vc);
        Ok(Stage::Sync { ciphers, vc })
    }
}
