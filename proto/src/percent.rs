//! Binary-safe percent coding (RFC 3986), the one encoder and decoder of the
//! workspace: tracker query strings (where `info_hash` and `peer_id` are raw
//! bytes), magnet links, API query parameters and URL path segments all use
//! it. Knows no keys, no URL structure and no text encoding: bytes in, bytes
//! out (callers check UTF-8 where they need text).

use crate::infohash::hex_val;

/// A `%` not followed by two hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad percent-encoding at byte {offset}")]
pub struct PercentDecodeError {
    /// Offset of the offending `%` in the input.
    pub offset: usize,
}

/// Decodes `%XY` escapes into bytes; every other byte, `+` included, is kept
/// as it is (announce queries are not HTML form data).
pub fn percent_decode(input: &[u8]) -> Result<Vec<u8>, PercentDecodeError> {
    decode(input, false)
}

/// Decodes `%XY` escapes and reads `+` as a space, the form encoding many
/// sites use in magnet links.
pub fn percent_decode_plus_as_space(input: &[u8]) -> Result<Vec<u8>, PercentDecodeError> {
    decode(input, true)
}

fn decode(input: &[u8], plus_as_space: bool) -> Result<Vec<u8>, PercentDecodeError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => {
                let hi = input.get(i + 1).copied().and_then(hex_val);
                let lo = input.get(i + 2).copied().and_then(hex_val);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(PercentDecodeError { offset: i }),
                }
                i += 3;
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Encodes bytes, keeping only RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`) as they are; every other byte becomes `%XY`
/// with uppercase hex digits.
pub fn percent_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if is_unreserved(b) {
            s.push(b as char);
        } else {
            s.push('%');
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 15)] as char);
        }
    }
    s
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn percent_coding_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let enc = percent_encode(&all);
        assert!(enc.is_ascii());
        assert_eq!(percent_decode(enc.as_bytes()).unwrap(), all);
    }

    #[test]
    fn percent_decoding_keeps_plus_and_raw_bytes_literal() {
        assert_eq!(percent_decode(b"a+b\xff%41").unwrap(), b"a+b\xffA");
        assert_eq!(percent_decode(b"%4").unwrap_err().offset, 0);
        assert!(percent_decode(b"x%zz").is_err());
    }

    #[test]
    fn form_decoding_reads_plus_as_a_space_but_not_an_escaped_plus() {
        assert_eq!(
            percent_decode_plus_as_space(b"Big+Buck%20Bunny%2B").unwrap(),
            b"Big Buck Bunny+"
        );
        assert_eq!(
            percent_decode_plus_as_space(b"ok%+a").unwrap_err().offset,
            2
        );
    }

    #[test]
    fn unreserved_characters_pass_through_and_others_are_uppercase_hex() {
        assert_eq!(percent_encode(b"aZ09-._~"), "aZ09-._~");
        assert_eq!(percent_encode("a b/ü+".as_bytes()), "a%20b%2F%C3%BC%2B");
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip_through_both_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let enc = percent_encode(&bytes);
            prop_assert!(enc.bytes().all(|b| is_unreserved(b) || b == b'%' || b.is_ascii_hexdigit()));
            prop_assert_eq!(percent_decode(enc.as_bytes()).unwrap(), bytes.clone());
            prop_assert_eq!(percent_decode_plus_as_space(enc.as_bytes()).unwrap(), bytes);
        }

        #[test]
        fn decoding_any_input_never_panics_and_never_grows(input in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(out) = percent_decode(&input) {
                prop_assert!(out.len() <= input.len());
            }
            if let Ok(out) = percent_decode_plus_as_space(&input) {
                prop_assert!(out.len() <= input.len());
            }
        }
    }
}
