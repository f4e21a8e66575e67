//! Message Stream Encryption (MSE/PE), the obfuscated handshake Azureus
//! (Vuze) and libtorrent wrote down and every common client speaks:
//! <https://wiki.vuze.com/w/Message_Stream_Encryption>.
//!
//! Sans-io: [`Initiator`] and [`Receiver`] are state machines fed the bytes
//! read so far; they append what to send to a caller's buffer and end in an
//! [`Established`] stream (plaintext or RC4, with the bytes that followed
//! the handshake). Randomness (the private key, padding) comes in as
//! arguments. Every search and length read from the peer is bounded by the
//! spec's limits, so hostile input ends in an [`MseError`], never a panic or
//! an unbounded buffer.
//!
//! Not here: sockets, timeouts, choosing the policy (prefer, require,
//! disable), retrying in plaintext; that is the engine's job.
//!
//! The Diffie-Hellman arithmetic uses `num-bigint`, which is not constant
//! time. The spec does not ask for it: MSE hides the stream from passive
//! observers, it authenticates nobody, and a fresh key is used for every
//! connection.

mod cipher;
mod dh;
mod initiator;
mod receiver;
#[cfg(test)]
mod tests;

pub use cipher::Rc4Stream;
pub use initiator::Initiator;
pub use receiver::Receiver;

use crate::infohash::InfoHash;
use crate::wire::PROTOCOL;

/// Bytes of a Diffie-Hellman public key (Ya, Yb): 768 bits.
pub const KEY_LEN: usize = 96;
/// Bytes of a private key (Xa, Xb): 160 random bits.
pub const PRIVATE_KEY_LEN: usize = 20;
/// Most padding allowed after a public key (PadA, PadB) and in PadC, PadD.
pub const MAX_PAD: usize = 512;
/// Most bytes of initial payload (IA) we accept. The spec allows 65535;
/// clients put one BitTorrent handshake (68 bytes) there.
pub const MAX_IA_LEN: usize = 4096;
/// The verification constant: 8 zero bytes, sent encrypted.
const VC: [u8; 8] = [0; 8];

/// The crypto_provide / crypto_select bits of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CryptoSet(pub u32);

impl CryptoSet {
    /// Plaintext after the handshake (header obfuscation only).
    pub const PLAINTEXT: CryptoSet = CryptoSet(0x01);
    /// RC4 for the whole stream.
    pub const RC4: CryptoSet = CryptoSet(0x02);
    /// Both methods.
    pub const BOTH: CryptoSet = CryptoSet(0x03);

    /// Whether `method` is in the set.
    pub fn contains(self, method: Method) -> bool {
        self.0 & method.bit() != 0
    }
}

/// The method the receiver selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Bytes after the handshake are sent as they are.
    Plaintext,
    /// Bytes after the handshake are RC4-encrypted.
    Rc4,
}

impl Method {
    fn bit(self) -> u32 {
        match self {
            Method::Plaintext => CryptoSet::PLAINTEXT.0,
            Method::Rc4 => CryptoSet::RC4.0,
        }
    }
}

/// A finished handshake.
#[derive(Debug)]
pub struct Established {
    /// The torrent the stream is for (the receiver learns it from the handshake).
    pub info_hash: InfoHash,
    /// Encrypt what we send and decrypt what we read, for [`Method::Rc4`];
    /// `None` for [`Method::Plaintext`].
    pub ciphers: Option<Ciphers>,
    /// Bytes of the stream already received, decrypted: for a receiver the
    /// initiator's initial payload (IA) first, then anything that followed.
    pub payload: Vec<u8>,
}

impl Established {
    /// The method in use.
    pub fn method(&self) -> Method {
        if self.ciphers.is_some() {
            Method::Rc4
        } else {
            Method::Plaintext
        }
    }
}

/// The two RC4 streams of an encrypted connection.
#[derive(Debug)]
pub struct Ciphers {
    /// For bytes we send.
    pub encrypt: Rc4Stream,
    /// For bytes we receive.
    pub decrypt: Rc4Stream,
}

/// Why a handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MseError {
    /// The peer's public key is 0, 1 or not below P - 1.
    #[error("the peer's Diffie-Hellman key is degenerate")]
    BadPublicKey,
    /// A synchronisation point was not found where the spec allows it.
    #[error("no {what} within {within} bytes of the peer's key")]
    NoSync {
        /// What was searched for.
        what: &'static str,
        /// How far it was searched.
        within: usize,
    },
    /// The info-hash the initiator asked for is not one of ours.
    #[error("the peer asked for a torrent we do not have")]
    UnknownTorrent,
    /// The decrypted verification constant is not 8 zero bytes.
    #[error("wrong verification constant (wrong key or not MSE)")]
    BadVerification,
    /// The initiator offers no method we allow.
    #[error("the peer offers crypto {offered:#x}, we allow {allowed:#x}")]
    NoCommonMethod {
        /// The peer's crypto_provide.
        offered: u32,
        /// Ours.
        allowed: u32,
    },
    /// The receiver selected something other than one offered method.
    #[error("the peer selected crypto {selected:#x}, we offered {offered:#x}")]
    BadSelect {
        /// The peer's crypto_select.
        selected: u32,
        /// Our crypto_provide.
        offered: u32,
    },
    /// PadC or PadD is longer than [`MAX_PAD`].
    #[error("padding of {0} bytes (at most {MAX_PAD})")]
    PadTooLong(usize),
    /// The initial payload is longer than [`MAX_IA_LEN`].
    #[error("initial payload of {0} bytes (at most {MAX_IA_LEN})")]
    PayloadTooLong(usize),
    /// Fed again after the handshake ended.
    #[error("the handshake is over")]
    Finished,
}

/// What the first bytes of an incoming connection are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// A plaintext BitTorrent handshake (byte 19, "BitTorrent protocol").
    Plaintext,
    /// Anything else: try it as MSE.
    Encrypted,
    /// Too few bytes to tell.
    NeedMore,
}

/// Bytes [`classify`] needs at most to decide. An MSE initiator sends at
/// least [`KEY_LEN`] bytes first, so reading this many never stalls one.
pub const CLASSIFY_LEN: usize = 1 + PROTOCOL.len();

/// Tells a plaintext handshake from an MSE one by its first bytes; answers
/// as soon as a byte differs from the plaintext protocol header.
pub fn classify(first: &[u8]) -> Incoming {
    let header = std::iter::once(PROTOCOL.len() as u8).chain(PROTOCOL.iter().copied());
    for (seen, want) in first.iter().zip(header) {
        if *seen != want {
            return Incoming::Encrypted;
        }
    }
    if first.len() >= CLASSIFY_LEN {
        Incoming::Plaintext
    } else {
        Incoming::NeedMore
    }
}

/// HASH('req2', SKEY): what an initiator's info-hash looks like to a
/// receiver, once it has removed HASH('req3', S). A receiver's lookup maps
/// it back to one of its torrents.
pub fn req2_hash(info_hash: &InfoHash) -> [u8; 20] {
    cipher::hash(&[b"req2", &info_hash.0])
}

/// The secret inputs of one handshake, drawn by the caller.
pub struct Secrets {
    /// Xa or Xb.
    pub private_key: [u8; PRIVATE_KEY_LEN],
    /// PadA or PadB: random bytes, at most [`MAX_PAD`] (more are cut off).
    pub pad: Vec<u8>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets {{ pad: {} bytes, .. }}", self.pad.len())
    }
}

/// Finds `needle` in `hay` starting at an offset of at most `last_start`.
/// `Ok(None)` means "not yet, read more"; an error means it cannot appear
/// within the bound any more.
fn find_bounded(
    hay: &[u8],
    needle: &[u8],
    last_start: usize,
    what: &'static str,
) -> Result<Option<usize>, MseError> {
    let found = hay
        .windows(needle.len())
        .take(last_start + 1)
        .position(|w| w == needle);
    match found {
        Some(at) => Ok(Some(at)),
        None if hay.len() >= last_start + needle.len() => Err(MseError::NoSync {
            what,
            within: last_start + needle.len(),
        }),
        None => Ok(None),
    }
}
