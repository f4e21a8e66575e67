//! Payloads carried by `extended` messages: the BEP 10 extension handshake
//! (<https://www.bittorrent.org/beps/bep_0010.html>) and BEP 9 `ut_metadata`
//! (<https://www.bittorrent.org/beps/bep_0009.html>).
//!
//! Tolerant of what peers add (unknown keys, bad optional values are
//! ignored), strict about structure. Must not track which metadata pieces
//! we have or check them against the info-hash: that is the engine's job.

use std::collections::BTreeMap;

use super::WireError;
use crate::bencode::{self, Limits, OwnedValue, Value};

/// The BEP 9 extension name, as it appears in the handshake's `m` dictionary.
pub const UT_METADATA: &str = "ut_metadata";

/// Metadata is exchanged in 16 KiB pieces; only the last may be shorter (BEP 9).
pub const METADATA_PIECE_LEN: usize = 16 * 1024;

/// The largest info dictionary we fetch from peers: 64 MiB (4096 metadata
/// pieces). It matches the bencode cap of 64 MiB of piece hashes, so an info
/// dictionary much larger could not be parsed anyway. A larger
/// `metadata_size` in a handshake is ignored, and in a data message refused.
pub const MAX_METADATA_SIZE: u64 = 64 << 20;

/// Most entries we accept in a handshake's `m` dictionary; real clients
/// send about a dozen.
pub const MAX_EXTENSIONS: usize = 64;

/// Limits for decoding an extension handshake: the message cap already
/// bounds its size; this bounds the work spent on a dictionary of junk.
const HANDSHAKE_LIMITS: Limits = Limits {
    max_depth: 16,
    max_string_bytes: crate::bencode::DEFAULT_MAX_STRING_BYTES,
    max_items: 4096,
};

/// Limits for a `ut_metadata` header, which has three integers.
const METADATA_HEADER_LIMITS: Limits = Limits {
    max_depth: 8,
    max_string_bytes: 4096,
    max_items: 64,
};

/// The BEP 10 extension handshake (extended message id 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtHandshake {
    /// Extension name to the id the sender wants to receive it under. Names
    /// the sender sent with id 0 ("disabled") are left out.
    pub m: BTreeMap<String, u8>,
    /// Size of the info dictionary in bytes (BEP 9); only kept when
    /// within 1..=[`MAX_METADATA_SIZE`].
    pub metadata_size: Option<u64>,
    /// Client name and version (`v`).
    pub client: Option<String>,
    /// The sender's listen port (`p`); 0 is ignored.
    pub listen_port: Option<u16>,
    /// How many outstanding requests the sender queues (`reqq`); 0 is ignored.
    pub reqq: Option<u32>,
    /// Our address as the sender sees it (`yourip`): 4 or 16 bytes, other
    /// lengths are ignored.
    pub yourip: Option<Vec<u8>>,
}

impl ExtHandshake {
    /// The bencoded dictionary to send as extended message 0.
    pub fn encode(&self) -> Vec<u8> {
        let mut m = OwnedValue::dict();
        for (name, &id) in &self.m {
            m.insert(name, OwnedValue::Int(i64::from(id)));
        }
        let mut d = OwnedValue::dict().with("m", m);
        if let Some(size) = self.metadata_size {
            d.insert("metadata_size", int_u64(size));
        }
        if let Some(client) = &self.client {
            d.insert("v", OwnedValue::bytes(client));
        }
        if let Some(port) = self.listen_port {
            d.insert("p", OwnedValue::Int(i64::from(port)));
        }
        if let Some(reqq) = self.reqq {
            d.insert("reqq", OwnedValue::Int(i64::from(reqq)));
        }
        if let Some(ip) = &self.yourip {
            d.insert("yourip", OwnedValue::bytes(ip));
        }
        bencode::encode(&d)
    }

    /// Reads a peer's extension handshake. It must be a bencoded
    /// dictionary; unknown keys, optional values of the wrong type or range,
    /// and bytes after the dictionary are ignored. An `m` with more than
    /// [`MAX_EXTENSIONS`] entries is refused.
    pub fn decode(payload: &[u8]) -> Result<Self, WireError> {
        const WHAT: &str = "extension handshake";
        let (top, _) = dict_prefix(payload, &HANDSHAKE_LIMITS, WHAT)?;
        let mut h = ExtHandshake::default();
        if let Some(entries) = top.get("m").and_then(Value::as_dict) {
            if entries.len() > MAX_EXTENSIONS {
                return Err(WireError::TooManyExtensions {
                    count: entries.len(),
                    max: MAX_EXTENSIONS,
                });
            }
            for (name, id) in entries {
                let name = std::str::from_utf8(name).ok();
                let id = id.as_int().and_then(|i| u8::try_from(i).ok());
                if let (Some(name), Some(id @ 1..)) = (name, id) {
                    h.m.insert(name.to_owned(), id);
                }
            }
        }
        h.metadata_size = int_field(&top, "metadata_size")
            .and_then(|s| u64::try_from(s).ok())
            .filter(|s| (1..=MAX_METADATA_SIZE).contains(s));
        h.client = top
            .get("v")
            .and_then(Value::as_bytes)
            .map(|v| String::from_utf8_lossy(v).into_owned());
        h.listen_port = int_field(&top, "p")
            .and_then(|p| u16::try_from(p).ok())
            .filter(|&p| p != 0);
        h.reqq = int_field(&top, "reqq")
            .and_then(|q| u32::try_from(q).ok())
            .filter(|&q| q != 0);
        h.yourip = top
            .get("yourip")
            .and_then(Value::as_bytes)
            .filter(|ip| matches!(ip.len(), 4 | 16))
            .map(<[u8]>::to_vec);
        Ok(h)
    }
}

/// A BEP 9 `ut_metadata` message: a bencoded header, then (for data) the raw
/// bytes of one metadata piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataMsg<'a> {
    /// `msg_type` 0: send us this piece.
    Request {
        /// Metadata piece index.
        piece: u32,
    },
    /// `msg_type` 1: one piece of the info dictionary. Whether `piece` and
    /// the data's length fit `total_size` is for the caller to check.
    Data {
        /// Metadata piece index.
        piece: u32,
        /// Size of the whole info dictionary, at most [`MAX_METADATA_SIZE`].
        total_size: u64,
        /// The piece's bytes, at most [`METADATA_PIECE_LEN`].
        data: &'a [u8],
    },
    /// `msg_type` 2: the sender will not send this piece.
    Reject {
        /// Metadata piece index.
        piece: u32,
    },
}

impl<'a> MetadataMsg<'a> {
    /// Reads a `ut_metadata` payload. Unknown header keys, and bytes after
    /// the header of a request or reject, are ignored.
    pub fn decode(payload: &'a [u8]) -> Result<MetadataMsg<'a>, WireError> {
        const WHAT: &str = "ut_metadata message";
        let (header, used) = dict_prefix(payload, &METADATA_HEADER_LIMITS, WHAT)?;
        let msg_type = required_int(&header, "msg_type")?;
        let raw_piece = required_int(&header, "piece")?;
        let piece = u32::try_from(raw_piece).map_err(|_| WireError::FieldOutOfRange {
            field: "piece",
            value: raw_piece,
        })?;
        match msg_type {
            0 => Ok(MetadataMsg::Request { piece }),
            2 => Ok(MetadataMsg::Reject { piece }),
            1 => {
                let raw_size = required_int(&header, "total_size")?;
                let total_size = u64::try_from(raw_size)
                    .ok()
                    .filter(|&s| s <= MAX_METADATA_SIZE)
                    .ok_or(WireError::FieldOutOfRange {
                        field: "total_size",
                        value: raw_size,
                    })?;
                let data = &payload[used..];
                if data.len() > METADATA_PIECE_LEN {
                    return Err(WireError::MetadataPieceTooLong {
                        len: data.len(),
                        max: METADATA_PIECE_LEN,
                    });
                }
                Ok(MetadataMsg::Data {
                    piece,
                    total_size,
                    data,
                })
            }
            other => Err(WireError::UnknownMetadataMsgType(other)),
        }
    }

    /// The payload to send inside an `extended` message with the peer's
    /// `ut_metadata` id.
    pub fn encode(&self) -> Vec<u8> {
        let (msg_type, piece) = match *self {
            MetadataMsg::Request { piece } => (0, piece),
            MetadataMsg::Data { piece, .. } => (1, piece),
            MetadataMsg::Reject { piece } => (2, piece),
        };
        let mut header = OwnedValue::dict()
            .with("msg_type", OwnedValue::Int(msg_type))
            .with("piece", OwnedValue::Int(i64::from(piece)));
        let mut out = Vec::new();
        if let MetadataMsg::Data {
            total_size, data, ..
        } = *self
        {
            header.insert("total_size", int_u64(total_size));
            out.reserve(64 + data.len());
            bencode::encode_into(&header, &mut out);
            out.extend_from_slice(data);
        } else {
            bencode::encode_into(&header, &mut out);
        }
        out
    }
}

/// The bencoded dictionary `payload` starts with, and the bytes it took;
/// `what` names the message in the error.
pub(super) fn dict_prefix<'a>(
    payload: &'a [u8],
    limits: &Limits,
    what: &'static str,
) -> Result<(Value<'a>, usize), WireError> {
    let (top, used) = bencode::decode_prefix_with(payload, limits)
        .map_err(|error| WireError::BadBencode { what, error })?;
    if top.as_dict().is_none() {
        return Err(WireError::NotADictionary {
            what,
            found: top.type_name(),
        });
    }
    Ok((top, used))
}

fn int_field(dict: &Value<'_>, key: &str) -> Option<i64> {
    dict.get(key).and_then(Value::as_int)
}

fn required_int(dict: &Value<'_>, field: &'static str) -> Result<i64, WireError> {
    int_field(dict, field).ok_or(WireError::MissingField { field })
}

/// Bencode integers are i64; sizes above that cannot occur, so clamp.
fn int_u64(v: u64) -> OwnedValue {
    OwnedValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
}
