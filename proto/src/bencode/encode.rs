//! Bencode encoder over an owned value tree. Dictionaries are `BTreeMap`s,
//! so keys come out sorted as BEP 3 requires, whatever order they were added in.

use std::collections::BTreeMap;

use super::{Kind, Value};

/// An owned bencode value, for building documents to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedValue {
    /// An integer.
    Int(i64),
    /// A byte string.
    Bytes(Vec<u8>),
    /// A list.
    List(Vec<OwnedValue>),
    /// A dictionary; keys are kept sorted.
    Dict(BTreeMap<Vec<u8>, OwnedValue>),
}

impl OwnedValue {
    /// A byte string from anything byte-like.
    pub fn bytes(b: impl AsRef<[u8]>) -> Self {
        OwnedValue::Bytes(b.as_ref().to_vec())
    }

    /// An empty dictionary.
    pub fn dict() -> Self {
        OwnedValue::Dict(BTreeMap::new())
    }

    /// Inserts into a dictionary (no effect on other kinds) and returns self, for chaining.
    #[must_use]
    pub fn with(mut self, key: &str, value: OwnedValue) -> Self {
        self.insert(key, value);
        self
    }

    /// Inserts into a dictionary; no effect on other kinds.
    pub fn insert(&mut self, key: &str, value: OwnedValue) {
        if let OwnedValue::Dict(d) = self {
            d.insert(key.as_bytes().to_vec(), value);
        }
    }
}

impl From<&Value<'_>> for OwnedValue {
    fn from(v: &Value<'_>) -> Self {
        match &v.kind {
            Kind::Int(i) => OwnedValue::Int(*i),
            Kind::Bytes(b) => OwnedValue::Bytes(b.to_vec()),
            Kind::List(l) => OwnedValue::List(l.iter().map(OwnedValue::from).collect()),
            Kind::Dict(d) => OwnedValue::Dict(
                d.iter()
                    .map(|(k, v)| (k.to_vec(), OwnedValue::from(v)))
                    .collect(),
            ),
        }
    }
}

/// Encodes a value into a new buffer.
pub fn encode(value: &OwnedValue) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(value, &mut out);
    out
}

/// Appends the encoding of `value` to `out`.
pub fn encode_into(value: &OwnedValue, out: &mut Vec<u8>) {
    match value {
        OwnedValue::Int(i) => {
            out.push(b'i');
            out.extend_from_slice(i.to_string().as_bytes());
            out.push(b'e');
        }
        OwnedValue::Bytes(b) => put_bytes(b, out),
        OwnedValue::List(l) => {
            out.push(b'l');
            for v in l {
                encode_into(v, out);
            }
            out.push(b'e');
        }
        OwnedValue::Dict(d) => {
            out.push(b'd');
            for (k, v) in d {
                put_bytes(k, out);
                encode_into(v, out);
            }
            out.push(b'e');
        }
    }
}

fn put_bytes(b: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(b);
}
