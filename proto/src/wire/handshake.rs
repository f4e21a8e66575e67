//! The 68-byte BEP 3 handshake (<https://www.bittorrent.org/beps/bep_0003.html>)
//! and its reserved bits for BEP 5 DHT, BEP 6 Fast and BEP 10 extensions.
//!
//! Must not check the info-hash or peer id against anything: which torrents
//! we serve and whom we talk to is the engine's business.

use super::{Decoded, HANDSHAKE_INFO_HASH_LEN, HANDSHAKE_LEN, PROTOCOL, PeerId, WireError};
use crate::infohash::InfoHash;

/// Reserved byte and bit of the Fast extension (BEP 6).
const FAST_BYTE: usize = 7;
const FAST_BIT: u8 = 0x04;
/// Reserved byte and bit of DHT support (BEP 5): the peer may send PORT.
const DHT_BYTE: usize = 7;
const DHT_BIT: u8 = 0x01;
/// Reserved byte and bit of the extension protocol (BEP 10).
const EXTENSION_BYTE: usize = 5;
const EXTENSION_BIT: u8 = 0x10;

/// A BitTorrent handshake: `\x13BitTorrent protocol`, 8 reserved bytes,
/// the info-hash and the sender's peer id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    /// Feature bits; we read BEP 5 (byte 7, 0x01), BEP 6 (byte 7, 0x04)
    /// and BEP 10 (byte 5, 0x10).
    pub reserved: [u8; 8],
    /// The torrent this connection is for.
    pub info_hash: InfoHash,
    /// The sender's id.
    pub peer_id: PeerId,
}

impl Handshake {
    /// Our handshake, advertising the Fast extension (BEP 6) and the
    /// extension protocol (BEP 10).
    pub fn new(info_hash: InfoHash, peer_id: PeerId) -> Self {
        let mut reserved = [0u8; 8];
        reserved[FAST_BYTE] |= FAST_BIT;
        reserved[EXTENSION_BYTE] |= EXTENSION_BIT;
        Handshake {
            reserved,
            info_hash,
            peer_id,
        }
    }

    /// The same handshake, also saying we run a DHT node (BEP 5): only for
    /// a public torrent, since the PORT message that follows invites the
    /// peer to ask our node about it.
    pub fn with_dht(mut self) -> Self {
        self.reserved[DHT_BYTE] |= DHT_BIT;
        self
    }

    /// Whether the sender runs a DHT node (BEP 5) and may send PORT.
    pub fn supports_dht(&self) -> bool {
        self.reserved[DHT_BYTE] & DHT_BIT != 0
    }

    /// Whether the sender supports the Fast extension (BEP 6).
    pub fn supports_fast(&self) -> bool {
        supports_fast(&self.reserved)
    }

    /// Whether the sender supports the extension protocol (BEP 10).
    pub fn supports_extensions(&self) -> bool {
        supports_extensions(&self.reserved)
    }

    /// The 68 bytes on the wire.
    pub fn to_bytes(&self) -> [u8; HANDSHAKE_LEN] {
        let mut out = [0u8; HANDSHAKE_LEN];
        out[0] = PROTOCOL.len() as u8;
        out[1..20].copy_from_slice(PROTOCOL);
        out[20..28].copy_from_slice(&self.reserved);
        out[28..48].copy_from_slice(&self.info_hash.0);
        out[48..68].copy_from_slice(&self.peer_id.0);
        out
    }

    /// Decodes a whole handshake from the start of `buf`: `NeedMore` until 68
    /// bytes are there, but a wrong protocol string is refused as soon as its
    /// first wrong byte arrives (so an HTTP request fails on byte one).
    pub fn decode(buf: &[u8]) -> Result<Decoded<Handshake>, WireError> {
        check_protocol(buf)?;
        let Some(bytes) = buf.first_chunk::<HANDSHAKE_LEN>() else {
            return Ok(Decoded::NeedMore(HANDSHAKE_LEN - buf.len()));
        };
        let (reserved, info_hash) = split_prefix(bytes);
        let mut peer_id = [0u8; 20];
        peer_id.copy_from_slice(&bytes[48..68]);
        Ok(Decoded::Done(
            Handshake {
                reserved,
                info_hash,
                peer_id: PeerId(peer_id),
            },
            HANDSHAKE_LEN,
        ))
    }

    /// Decodes only the first 48 bytes (protocol, reserved, info-hash), so an
    /// incoming connection can pick its torrent (and answer with our
    /// handshake) before the peer id arrives. Uses exactly 48 bytes.
    pub fn decode_info_hash(buf: &[u8]) -> Result<Decoded<([u8; 8], InfoHash)>, WireError> {
        check_protocol(buf)?;
        match buf.first_chunk::<HANDSHAKE_INFO_HASH_LEN>() {
            Some(bytes) => Ok(Decoded::Done(split_prefix(bytes), HANDSHAKE_INFO_HASH_LEN)),
            None => Ok(Decoded::NeedMore(HANDSHAKE_INFO_HASH_LEN - buf.len())),
        }
    }
}

/// Whether reserved bytes advertise the Fast extension (BEP 6).
fn supports_fast(reserved: &[u8; 8]) -> bool {
    reserved[FAST_BYTE] & FAST_BIT != 0
}

/// Whether reserved bytes advertise the extension protocol (BEP 10).
fn supports_extensions(reserved: &[u8; 8]) -> bool {
    reserved[EXTENSION_BYTE] & EXTENSION_BIT != 0
}

/// Reserved bytes and info-hash from a buffer whose protocol was checked.
fn split_prefix(bytes: &[u8]) -> ([u8; 8], InfoHash) {
    let mut reserved = [0u8; 8];
    reserved.copy_from_slice(&bytes[20..28]);
    let mut info_hash = [0u8; 20];
    info_hash.copy_from_slice(&bytes[28..48]);
    (reserved, InfoHash(info_hash))
}

/// Refuses `buf` as soon as what it holds of `\x13BitTorrent protocol` differs.
fn check_protocol(buf: &[u8]) -> Result<(), WireError> {
    let Some((&pstrlen, rest)) = buf.split_first() else {
        return Ok(());
    };
    let seen = &rest[..rest.len().min(PROTOCOL.len())];
    if usize::from(pstrlen) != PROTOCOL.len() || !PROTOCOL.starts_with(seen) {
        return Err(WireError::BadProtocol {
            pstrlen,
            pstr: seen.escape_ascii().to_string(),
        });
    }
    Ok(())
}
