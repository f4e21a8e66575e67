//! Binary-safe percent coding (RFC 3986) for tracker query strings, where
//! `info_hash` and `peer_id` are raw bytes, not text. `+` is kept as a
//! literal byte: announce queries are not HTML form data. Knows no keys.

use crate::infohash::hex_val;

/// A `%` not followed by two hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad percent-encoding at byte {offset}")]
pub struct PercentDecodeError {
    /// Offset of the offending `%` in the input.
    pub offset: usize,
}

/// Decodes `%XY` escapes into bytes; every other byte is kept as it is.
pub fn percent_decode(input: &[u8]) -> Result<Vec<u8>, PercentDecodeError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' {
            let hi = input.get(i + 1).copied().and_then(hex_val);
            let lo = input.get(i + 2).copied().and_then(hex_val);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                _ => return Err(PercentDecodeError { offset: i }),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

/// Encodes bytes, keeping only RFC 3986 unreserved characters as they are.
pub fn percent_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            s.push(b as char);
        } else {
            s.push('%');
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 15)] as char);
        }
    }
    s
}
