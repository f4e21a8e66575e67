//! The 20-byte BitTorrent v1 info-hash and its text forms (40 hex digits,
//! or 32 base32 characters as some magnet links carry it).

use std::fmt;

/// SHA-1 of the raw bencoded info dictionary (BEP 3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

/// Why a text is not an info-hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an info-hash: expected 40 hex digits or 32 base32 characters")]
pub struct InfoHashParseError {
    /// The offending text, cut to 64 characters.
    pub text: String,
}

impl InfoHash {
    /// Hashes raw info-dictionary bytes.
    pub fn of_info_bytes(raw_info: &[u8]) -> Self {
        use sha1::{Digest, Sha1};
        InfoHash(Sha1::digest(raw_info).into())
    }

    /// Lowercase hex, 40 characters.
    pub fn to_hex(&self) -> String {
        hex_encode(&self.0)
    }

    /// Parses 40 hex digits (either case) or 32 base32 characters (RFC 4648, either case).
    pub fn parse(text: &str) -> Result<Self, InfoHashParseError> {
        let err = || InfoHashParseError {
            text: text.chars().take(64).collect(),
        };
        let mut out = [0u8; 20];
        match text.len() {
            40 => {
                for (i, pair) in text.as_bytes().chunks_exact(2).enumerate() {
                    let hi = hex_val(pair[0]).ok_or_else(err)?;
                    let lo = hex_val(pair[1]).ok_or_else(err)?;
                    out[i] = hi << 4 | lo;
                }
            }
            32 => {
                let mut acc: u64 = 0;
                let mut bits = 0;
                let mut n = 0;
                for &c in text.as_bytes() {
                    let v = base32_val(c).ok_or_else(err)?;
                    acc = acc << 5 | u64::from(v);
                    bits += 5;
                    if bits >= 8 {
                        bits -= 8;
                        out[n] = (acc >> bits) as u8;
                        n += 1;
                    }
                }
            }
            _ => return Err(err()),
        }
        Ok(InfoHash(out))
    }
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({})", self.to_hex())
    }
}

/// On the wire of every JSON contract: 40 lowercase hex digits.
impl serde::Serialize for InfoHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

/// Accepts what [`InfoHash::parse`] accepts (40 hex digits or 32 base32).
impl<'de> serde::Deserialize<'de> for InfoHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        InfoHash::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl InfoHash {
    /// The first 8 hex digits: enough to name a torrent in commands.
    pub fn short_hex(&self) -> String {
        hex_encode(&self.0[..4])
    }
}

impl std::str::FromStr for InfoHash {
    type Err = InfoHashParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InfoHash::parse(s)
    }
}

/// Lowercase hex of any bytes.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// The value of one hex digit, either case.
pub(crate) fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn base32_val(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base32_forms_parse_to_the_same_hash() {
        let hex = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";
        let b32 = "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK";
        let a = InfoHash::parse(hex).unwrap();
        assert_eq!(a.to_hex(), hex);
        assert_eq!(InfoHash::parse(b32).unwrap(), a);
        assert_eq!(InfoHash::parse(&b32.to_lowercase()).unwrap(), a);
        assert_eq!(InfoHash::parse(&hex.to_uppercase()).unwrap(), a);
    }

    #[test]
    fn json_form_is_lowercase_hex_and_reads_back() {
        let ih = InfoHash([0xab; 20]);
        let text = serde_json::to_string(&ih).unwrap();
        assert_eq!(text, format!("\"{}\"", "ab".repeat(20)));
        assert_eq!(serde_json::from_str::<InfoHash>(&text).unwrap(), ih);
        assert!(serde_json::from_str::<InfoHash>("\"abc\"").is_err());
        assert_eq!(ih.short_hex(), "abababab");
    }

    #[test]
    fn wrong_lengths_and_digits_are_rejected() {
        for bad in [
            "",
            "abc",
            "g12fe1c06bba254a9dc9f519b335aa7c1367a88a",
            "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKE1",
        ] {
            assert!(InfoHash::parse(bad).is_err(), "{bad}");
        }
    }
}
