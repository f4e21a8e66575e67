//! Splitting a raw query string into `(key, value)` pairs, with caps, and
//! small helpers to read typed values. Knows no tracker semantics.

use std::borrow::Cow;

use crate::percent::percent_decode;

/// Most `key=value` pairs accepted in one query.
pub(crate) const MAX_PAIRS: usize = 256;
/// Longest decoded value accepted for any key.
pub(crate) const MAX_VALUE_BYTES: usize = 256;

/// Why a query string could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SplitError {
    TooManyPairs,
    BadPercent { key: String },
    ValueTooLong { key: String, len: usize },
}

/// Splits on `&`, then on the first `=`, without decoding: callers decode
/// only the keys and values they use. Empty segments are skipped; more than
/// [`MAX_PAIRS`] segments is an error.
pub(crate) fn raw_pairs(query: &[u8]) -> impl Iterator<Item = Result<(&[u8], &[u8]), SplitError>> {
    query
        .split(|&b| b == b'&')
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, segment)| {
            if i == MAX_PAIRS {
                return Err(SplitError::TooManyPairs);
            }
            Ok(match segment.iter().position(|&b| b == b'=') {
                Some(i) => (&segment[..i], &segment[i + 1..]),
                None => (segment, &[][..]),
            })
        })
}

/// Decodes a key, borrowing when it holds no escapes (the usual case).
pub(crate) fn decode_key(raw: &[u8]) -> Result<Cow<'_, [u8]>, SplitError> {
    if !raw.contains(&b'%') {
        return Ok(Cow::Borrowed(raw));
    }
    percent_decode(raw)
        .map(Cow::Owned)
        .map_err(|_| SplitError::BadPercent {
            key: printable(raw),
        })
}

/// Decodes the value of `key`, capped at [`MAX_VALUE_BYTES`].
pub(crate) fn decode_value(key: &[u8], raw: &[u8]) -> Result<Vec<u8>, SplitError> {
    let value = percent_decode(raw).map_err(|_| SplitError::BadPercent {
        key: printable(key),
    })?;
    if value.len() > MAX_VALUE_BYTES {
        return Err(SplitError::ValueTooLong {
            key: printable(key),
            len: value.len(),
        });
    }
    Ok(value)
}

/// A short, printable rendering of untrusted bytes for an error message.
pub(crate) fn printable(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(40)];
    let mut s: String = String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if bytes.len() > cut.len() {
        s.push_str("...");
    }
    s
}

/// Parses an unsigned decimal number, `None` when it is not one or overflows.
pub(crate) fn parse_u64(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 20 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}
