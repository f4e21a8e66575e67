//! The BitTorrent peer wire protocol, sans-io: the handshake and the
//! length-prefixed messages of BEP 3 (<https://www.bittorrent.org/beps/bep_0003.html>),
//! the Fast extension of BEP 6 (<https://www.bittorrent.org/beps/bep_0006.html>),
//! the extension protocol of BEP 10 (<https://www.bittorrent.org/beps/bep_0010.html>)
//! `ut_metadata` of BEP 9 (<https://www.bittorrent.org/beps/bep_0009.html>)
//! and `ut_pex` of BEP 11 (<https://www.bittorrent.org/beps/bep_0011.html>).
//!
//! Decoders take the bytes buffered so far and answer either "this message,
//! using n bytes" or "need at least n more bytes"; encoders append to a
//! caller's buffer. Must not touch sockets, a runtime or a clock, and must
//! not decide policy (which requests to serve, when to choke): that is the
//! engine's job.

mod extension;
mod handshake;
mod message;
mod pex;

use std::fmt;

use crate::bencode::DecodeError;

pub use extension::{
    ExtHandshake, MAX_EXTENSIONS, MAX_METADATA_SIZE, METADATA_PIECE_LEN, MetadataMsg, UT_METADATA,
};
pub use handshake::Handshake;
pub use message::{BlockRef, Message, PIECE_HEADER_LEN, decode_piece_header, encode_piece_header};
pub use pex::{PEX_MAX_ACCEPTED, PEX_MAX_PEERS, PexMessage, UT_PEX, flags as pex_flags};

/// The protocol string every BEP 3 handshake starts with (after its length byte).
pub const PROTOCOL: &[u8; 19] = b"BitTorrent protocol";

/// Bytes in a full handshake: 1 + 19 + 8 reserved + 20 info-hash + 20 peer id.
pub const HANDSHAKE_LEN: usize = 68;

/// Bytes of a handshake up to and including the info-hash, which is enough
/// for an incoming connection to pick its torrent.
pub const HANDSHAKE_INFO_HASH_LEN: usize = 48;

/// The block size we request: 16 KiB, what every client uses and many
/// require (BEP 3 notes clients drop connections asking for more than that).
pub const BLOCK_LEN: u32 = 16 * 1024;

/// The largest block a peer may request from us. Decoding does not enforce
/// it (a `request` for 0 or 1 GiB bytes decodes fine); the engine refuses
/// such requests.
pub const MAX_REQUEST_LEN: u32 = 128 * 1024;

/// Default cap on a message's 4-byte length prefix, checked before waiting
/// for (or allocating room for) its body.
///
/// 1 MiB + 13 fits, with room to spare, the two large messages we must take:
/// - a `bitfield` for the largest torrent we accept: the bencode decoder caps
///   `pieces` at 64 MiB of hashes, 3,355,443 pieces, so 419,431 bytes + 1 id byte;
/// - a `piece` message for a block of up to 1 MiB (8 times [`MAX_REQUEST_LEN`]):
///   9 header bytes after the prefix, plus 4 spare for the prefix itself.
///
/// Anything larger is a broken or hostile peer.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = (1 << 20) + 13;

/// The client id and version in our peer ids (Azureus style, BEP 20):
/// client `P2`, version 0.1.0.
pub const PEER_ID_PREFIX: &[u8; 8] = b"-P20010-";

/// A peer's 20-byte id from its handshake (BEP 3).
///
/// `Debug` and `Display` show an Azureus-style `-XXnnnn-` prefix as text and
/// the rest as hex (`-P20010-0a1b...`); an id of only printable ASCII is shown
/// as text; any other id is shown as 40 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub [u8; 20]);

impl PeerId {
    /// Our id: [`PEER_ID_PREFIX`] followed by 12 random bytes, which the
    /// caller supplies (this crate has no source of randomness).
    pub fn generate(random: [u8; 12]) -> Self {
        let mut id = [0u8; 20];
        id[..8].copy_from_slice(PEER_ID_PREFIX);
        id[8..].copy_from_slice(&random);
        PeerId(id)
    }

    /// How many leading bytes `Display` shows as text.
    fn text_prefix_len(&self) -> usize {
        let b = &self.0;
        if b.iter().all(u8::is_ascii_graphic) {
            20
        } else if b[0] == b'-' && b[7] == b'-' && b[1..7].iter().all(u8::is_ascii_alphanumeric) {
            8
        } else {
            0
        }
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (text, rest) = self.0.split_at(self.text_prefix_len());
        for &c in text {
            write!(f, "{}", char::from(c))?;
        }
        for b in rest {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({self})")
    }
}

/// The outcome of decoding from a buffer that may hold a partial frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<T> {
    /// A whole value, and how many bytes from the start of the buffer it used.
    Done(T, usize),
    /// The buffer holds only part of a value: read at least this many more
    /// bytes and try again. Never an error.
    NeedMore(usize),
}

/// Why bytes from a peer are not valid wire protocol. Each variant carries
/// the offending values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The handshake does not start with `\x13BitTorrent protocol`.
    #[error(
        "not a BitTorrent handshake: protocol string length {pstrlen} and text {pstr:?} \
         (expected 19 and \"BitTorrent protocol\")"
    )]
    BadProtocol {
        /// The first byte (the protocol string length).
        pstrlen: u8,
        /// The protocol string bytes received so far (at most 19), escaped.
        pstr: String,
    },
    /// A length prefix above the cap passed to [`Message::decode`].
    #[error("message of {len} bytes is longer than the limit of {max}")]
    MessageTooLong {
        /// The length prefix.
        len: u32,
        /// The cap.
        max: usize,
    },
    /// A message whose length does not fit its id: `have` not 5 bytes,
    /// `request` not 13, `piece` under 9, `extended` under 2, and so on.
    #[error("message id {id} cannot be {len} bytes long")]
    BadLength {
        /// The message id.
        id: u8,
        /// The length prefix (id byte included).
        len: u32,
    },
    /// A BEP 10 or BEP 9 payload that is not valid bencode.
    #[error("invalid bencode in {what}: {error}")]
    BadBencode {
        /// Which message it was.
        what: &'static str,
        /// The bencode error.
        error: DecodeError,
    },
    /// A BEP 10 or BEP 9 payload whose bencode is not a dictionary.
    #[error("{what} must be a bencoded dictionary, found a {found}")]
    NotADictionary {
        /// Which message it was.
        what: &'static str,
        /// The type found instead.
        found: &'static str,
    },
    /// An extension handshake advertising more extensions than we keep.
    #[error("extension handshake lists {count} extensions, more than the limit of {max}")]
    TooManyExtensions {
        /// Entries in its `m` dictionary.
        count: usize,
        /// [`MAX_EXTENSIONS`].
        max: usize,
    },
    /// A `ut_metadata` message without a required integer field.
    #[error("ut_metadata message has no integer '{field}'")]
    MissingField {
        /// The field name.
        field: &'static str,
    },
    /// A `ut_metadata` field outside its range (a negative piece, a
    /// `total_size` above [`MAX_METADATA_SIZE`]).
    #[error("ut_metadata field '{field}' is out of range: {value}")]
    FieldOutOfRange {
        /// The field name.
        field: &'static str,
        /// The value received.
        value: i64,
    },
    /// A `ut_metadata` `msg_type` other than 0 (request), 1 (data), 2 (reject).
    #[error("unknown ut_metadata msg_type {0}")]
    UnknownMetadataMsgType(i64),
    /// A `ut_metadata` data message carrying more than one metadata piece.
    #[error("ut_metadata piece of {len} bytes is longer than {max}")]
    MetadataPieceTooLong {
        /// Bytes of data after the header.
        len: usize,
        /// [`METADATA_PIECE_LEN`].
        max: usize,
    },
}

#[cfg(test)]
mod tests;
