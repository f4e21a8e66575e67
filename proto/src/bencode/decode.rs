//! Strict bencode decoder that borrows from its input and records the raw
//! byte span of every value. It never allocates for a length it has not yet
//! seen in the input, so a hostile length cannot make it reserve memory.

use std::collections::HashSet;

use super::{DecodeError, DecodeErrorKind, Limits};

/// A decoded value together with the exact bytes it was decoded from.
///
/// `raw` is what the info-hash must be computed over: re-encoding a value
/// would sort keys and so give a different hash for torrents whose keys are
/// not sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value<'a> {
    /// The bytes of this value as they appeared in the input.
    pub raw: &'a [u8],
    /// What the value is.
    pub kind: Kind<'a>,
}

/// The four bencode types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind<'a> {
    /// `i...e`
    Int(i64),
    /// `<len>:<bytes>`
    Bytes(&'a [u8]),
    /// `l...e`
    List(Vec<Value<'a>>),
    /// `d...e`, entries in input order (keys unique, order not enforced:
    /// real torrents with unsorted keys exist and must keep their hash).
    Dict(Vec<(&'a [u8], Value<'a>)>),
}

impl<'a> Value<'a> {
    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self.kind {
            Kind::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The byte string, if this is one.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.kind {
            Kind::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The byte string as UTF-8, if it is a byte string and valid UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The list items, if this is a list.
    pub fn as_list(&self) -> Option<&[Value<'a>]> {
        match &self.kind {
            Kind::List(l) => Some(l),
            _ => None,
        }
    }

    /// The dictionary entries, if this is a dictionary.
    pub fn as_dict(&self) -> Option<&[(&'a [u8], Value<'a>)]> {
        match &self.kind {
            Kind::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// Looks a key up in a dictionary; `None` for a missing key or a non-dictionary.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.as_dict()?
            .iter()
            .find(|(k, _)| *k == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// A short name of the type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Int(_) => "integer",
            Kind::Bytes(_) => "string",
            Kind::List(_) => "list",
            Kind::Dict(_) => "dictionary",
        }
    }
}

/// Decodes exactly one value that must fill the whole input.
pub fn decode(input: &[u8]) -> Result<Value<'_>, DecodeError> {
    decode_with(input, &Limits::default())
}

/// Like [`decode`] with explicit limits.
pub fn decode_with<'a>(input: &'a [u8], limits: &Limits) -> Result<Value<'a>, DecodeError> {
    let (value, used) = decode_prefix_with(input, limits)?;
    if used != input.len() {
        return Err(DecodeError {
            offset: used,
            kind: DecodeErrorKind::TrailingBytes,
        });
    }
    Ok(value)
}

/// Decodes one value from the start of `input` and returns it with the
/// number of bytes it used; trailing bytes are left to the caller (BEP 9
/// metadata messages carry a bencoded header followed by raw data).
pub fn decode_prefix_with<'a>(
    input: &'a [u8],
    limits: &Limits,
) -> Result<(Value<'a>, usize), DecodeError> {
    let mut d = Decoder {
        input,
        pos: 0,
        limits,
        items: 0,
    };
    let value = d.value(0)?;
    Ok((value, d.pos))
}

struct Decoder<'a, 'l> {
    input: &'a [u8],
    pos: usize,
    limits: &'l Limits,
    items: usize,
}

impl<'a> Decoder<'a, '_> {
    fn err(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            offset: self.pos,
            kind,
        }
    }

    fn peek(&self) -> Result<u8, DecodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.err(DecodeErrorKind::UnexpectedEnd))
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, DecodeError> {
        self.items += 1;
        if self.items > self.limits.max_items {
            return Err(self.err(DecodeErrorKind::TooManyItems(self.limits.max_items)));
        }
        let start = self.pos;
        let kind = match self.peek()? {
            b'i' => Kind::Int(self.int()?),
            b'0'..=b'9' => Kind::Bytes(self.bytes()?),
            b'l' => {
                self.enter(depth)?;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Kind::List(items)
            }
            b'd' => {
                self.enter(depth)?;
                let mut entries: Vec<(&'a [u8], Value<'a>)> = Vec::new();
                // Sorted input (the common case) proves uniqueness for free;
                // the first out-of-order key switches to a set so a hostile
                // unsorted dictionary stays linear.
                let mut seen: Option<HashSet<&'a [u8]>> = None;
                while self.peek()? != b'e' {
                    let key_at = self.pos;
                    if !self.peek()?.is_ascii_digit() {
                        return Err(self.err(DecodeErrorKind::KeyNotString));
                    }
                    let key = self.bytes()?;
                    let sorted =
                        seen.is_none() && entries.last().is_none_or(|(last, _)| *last < key);
                    if !sorted {
                        let set =
                            seen.get_or_insert_with(|| entries.iter().map(|(k, _)| *k).collect());
                        if !set.insert(key) {
                            return Err(DecodeError {
                                offset: key_at,
                                kind: DecodeErrorKind::DuplicateKey(
                                    String::from_utf8_lossy(key).into_owned(),
                                ),
                            });
                        }
                    }
                    let value = self.value(depth + 1)?;
                    entries.push((key, value));
                }
                self.pos += 1;
                Kind::Dict(entries)
            }
            other => return Err(self.err(DecodeErrorKind::UnexpectedByte(other))),
        };
        Ok(Value {
            raw: &self.input[start..self.pos],
            kind,
        })
    }

    fn enter(&mut self, depth: usize) -> Result<(), DecodeError> {
        if depth >= self.limits.max_depth {
            return Err(self.err(DecodeErrorKind::TooDeep(self.limits.max_depth)));
        }
        self.pos += 1;
        Ok(())
    }

    /// `i<digits>e` with no leading zeros, no `-0`, no empty digits, within i64.
    fn int(&mut self) -> Result<i64, DecodeError> {
        self.pos += 1; // 'i'
        let start = self.pos;
        let rest = &self.input[start..];
        let end = rest
            .iter()
            .take(22)
            .position(|&b| b == b'e')
            .ok_or_else(|| {
                if rest.len() < 22 {
                    self.err(DecodeErrorKind::UnexpectedEnd)
                } else {
                    self.err(DecodeErrorKind::BadInteger("more than 20 digits"))
                }
            })?;
        let text = &rest[..end];
        let digits = text.strip_prefix(b"-").unwrap_or(text);
        let bad = |why| DecodeError {
            offset: start,
            kind: DecodeErrorKind::BadInteger(why),
        };
        if digits.is_empty() {
            return Err(bad("no digits"));
        }
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad("not a decimal number"));
        }
        if digits.len() > 1 && digits[0] == b'0' {
            return Err(bad("leading zero"));
        }
        if text == b"-0" {
            return Err(bad("negative zero"));
        }
        let value = std::str::from_utf8(text)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| bad("out of the 64-bit range"))?;
        self.pos = start + end + 1;
        Ok(value)
    }

    /// `<len>:<bytes>`; the length is checked against the remaining input
    /// and the string cap before anything is taken.
    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let start = self.pos;
        let rest = &self.input[start..];
        let colon = rest
            .iter()
            .take(21)
            .position(|&b| b == b':')
            .ok_or_else(|| {
                if rest.len() < 21 && rest.iter().all(u8::is_ascii_digit) {
                    self.err(DecodeErrorKind::UnexpectedEnd)
                } else {
                    self.err(DecodeErrorKind::BadLength)
                }
            })?;
        let digits = &rest[..colon];
        if digits.is_empty()
            || !digits.iter().all(u8::is_ascii_digit)
            || (digits.len() > 1 && digits[0] == b'0')
        {
            return Err(self.err(DecodeErrorKind::BadLength));
        }
        let len: u64 = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.err(DecodeErrorKind::BadLength))?;
        if len > self.limits.max_string_bytes as u64 {
            return Err(self.err(DecodeErrorKind::StringTooLong {
                len,
                max: self.limits.max_string_bytes,
            }));
        }
        let body = start + colon + 1;
        let available = self.input.len() - body;
        if len > available as u64 {
            return Err(DecodeError {
                offset: body,
                kind: DecodeErrorKind::StringPastEnd { len, available },
            });
        }
        let end = body + len as usize;
        self.pos = end;
        Ok(&self.input[body..end])
    }
}
