//! Bencode (BEP 3): a strict, bounded decoder that keeps the raw bytes of
//! every value, and an encoder that always writes dictionary keys sorted.
//!
//! Not here: anything that knows what a torrent is (see `metainfo`).

mod decode;
mod encode;

pub use decode::{Kind, Value, decode, decode_prefix_with, decode_with};
pub use encode::{OwnedValue, encode, encode_into};

/// Caps applied while decoding input that may be hostile.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deepest nesting of lists and dictionaries accepted.
    pub max_depth: usize,
    /// Longest single byte string accepted.
    pub max_string_bytes: usize,
    /// Most values (of any kind) in one document.
    pub max_items: usize,
}

/// Nesting deeper than this is refused (libtorrent's limit is 100).
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// A .torrent for 1 TiB in 16 KiB pieces has 1.3 GB of piece hashes; we stop
/// well before that: 64 MiB of hashes is 3.3 million pieces.
pub const DEFAULT_MAX_STRING_BYTES: usize = 64 << 20;
/// Most values in one document (libtorrent's token limit is 2 million).
pub const DEFAULT_MAX_ITEMS: usize = 1_000_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: DEFAULT_MAX_DEPTH,
            max_string_bytes: DEFAULT_MAX_STRING_BYTES,
            max_items: DEFAULT_MAX_ITEMS,
        }
    }
}

/// Why some input is not valid bencode, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid bencode at byte {offset}: {kind}")]
pub struct DecodeError {
    /// Byte offset into the input where the problem was found.
    pub offset: usize,
    /// What the problem is.
    pub kind: DecodeErrorKind,
}

/// The kinds of bencode errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// The input ended inside a value.
    #[error("input ends inside a value")]
    UnexpectedEnd,
    /// A byte that cannot start a value.
    #[error("unexpected byte 0x{0:02x}")]
    UnexpectedByte(u8),
    /// Bytes left after the top-level value.
    #[error("trailing bytes after the value")]
    TrailingBytes,
    /// A malformed integer.
    #[error("bad integer: {0}")]
    BadInteger(&'static str),
    /// A malformed string length prefix.
    #[error("bad string length prefix")]
    BadLength,
    /// A string longer than the cap.
    #[error("string of {len} bytes is longer than the limit of {max}")]
    StringTooLong {
        /// Declared length.
        len: u64,
        /// The cap.
        max: usize,
    },
    /// A string whose declared length runs past the end of the input.
    #[error("string of {len} bytes runs past the end of the input ({available} bytes left)")]
    StringPastEnd {
        /// Declared length.
        len: u64,
        /// Bytes actually left.
        available: usize,
    },
    /// Nesting deeper than the cap.
    #[error("nesting deeper than {0} levels")]
    TooDeep(usize),
    /// More values than the cap.
    #[error("more than {0} values")]
    TooManyItems(usize),
    /// A dictionary key that is not a byte string.
    #[error("dictionary key is not a string")]
    KeyNotString,
    /// The same key twice in one dictionary.
    #[error("duplicate dictionary key {0:?}")]
    DuplicateKey(String),
}

#[cfg(test)]
mod tests;
