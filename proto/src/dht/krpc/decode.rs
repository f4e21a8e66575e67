//! KRPC decoding: bounded, lenient about keys it does not know, never panics.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::{
    Body, COMPACT_NODE4_BYTES, COMPACT_NODE6_BYTES, ErrorBody, MAX_ERROR_MESSAGE_BYTES,
    MAX_MESSAGE_BYTES, MAX_METHOD_BYTES, MAX_NODES, MAX_TOKEN_BYTES, MAX_TRANSACTION_ID_BYTES,
    MAX_VALUES, MAX_VERSION_BYTES, Message, Query, QueryKind, Response, Want,
};
use crate::bencode::{self, Limits, Value};
use crate::dht::{ID_LEN, NodeId};

/// Why a datagram is not a KRPC message we accept. Carries the transaction
/// id when it could be read, so a node can answer a bad query with error 203.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid KRPC message: {kind}")]
pub struct DecodeError {
    /// `t`, if the message had a valid one.
    pub transaction_id: Option<Vec<u8>>,
    /// The message said it is a query (`y` = `q`): worth an error answer.
    pub is_query: bool,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

/// The kinds of KRPC decoding errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// Longer than [`MAX_MESSAGE_BYTES`].
    #[error("{len} bytes is longer than the limit of {max}")]
    TooLong {
        /// Datagram length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Not bencode.
    #[error(transparent)]
    Bencode(#[from] bencode::DecodeError),
    /// The top level or `a`/`r` is not a dictionary.
    #[error("{0} is not a dictionary")]
    NotADictionary(&'static str),
    /// A required key is missing.
    #[error("missing key {0:?}")]
    Missing(&'static str),
    /// A key holds the wrong type.
    #[error("key {key:?} is not a {expected}")]
    WrongType {
        /// The key.
        key: &'static str,
        /// The type it must have.
        expected: &'static str,
    },
    /// A string of the wrong length.
    #[error("key {key:?} has {len} bytes; expected {expected}")]
    BadLength {
        /// The key.
        key: &'static str,
        /// Its length.
        len: usize,
        /// What is accepted, in words.
        expected: &'static str,
    },
    /// More entries than the cap.
    #[error("key {key:?} has {count} entries, more than the limit of {max}")]
    TooMany {
        /// The key.
        key: &'static str,
        /// Entries found.
        count: usize,
        /// The cap.
        max: usize,
    },
    /// An integer outside its range.
    #[error("key {key:?} is {value}, out of range")]
    OutOfRange {
        /// The key.
        key: &'static str,
        /// The value.
        value: i64,
    },
    /// `y` is not `q`, `r` or `e`.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
}

type Kind = DecodeErrorKind;

/// Small messages: a nesting or item count beyond these is not KRPC.
fn limits() -> Limits {
    Limits {
        max_depth: 8,
        max_string_bytes: MAX_MESSAGE_BYTES,
        max_items: 2 * MAX_VALUES + 256,
    }
}

impl Message {
    /// Decodes one datagram.
    pub fn decode(datagram: &[u8]) -> Result<Message, DecodeError> {
        let fail = |kind| DecodeError {
            transaction_id: None,
            is_query: false,
            kind,
        };
        if datagram.len() > MAX_MESSAGE_BYTES {
            return Err(fail(Kind::TooLong {
                len: datagram.len(),
                max: MAX_MESSAGE_BYTES,
            }));
        }
        let top = bencode::decode_with(datagram, &limits()).map_err(|e| fail(e.into()))?;
        if top.as_dict().is_none() {
            return Err(fail(Kind::NotADictionary("the message")));
        }
        let transaction_id =
            bytes_within(&top, "t", MAX_TRANSACTION_ID_BYTES, "1 to 16").map_err(fail)?;
        let is_query = top.get("y").and_then(Value::as_bytes) == Some(b"q");
        let with_tid = |kind| DecodeError {
            transaction_id: Some(transaction_id.to_vec()),
            is_query,
            kind,
        };
        decode_rest(&top, transaction_id).map_err(with_tid)
    }
}

fn decode_rest(top: &Value<'_>, transaction_id: &[u8]) -> Result<Message, Kind> {
    let version = match top.get("v") {
        // Some clients send odd versions; a bad one is not worth dropping the message.
        Some(v) => v
            .as_bytes()
            .filter(|b| b.len() <= MAX_VERSION_BYTES)
            .map(<[u8]>::to_vec),
        None => None,
    };
    let ip = match top.get("ip") {
        Some(_) => {
            let b = required_bytes(top, "ip")?;
            Some(compact_addr(b).ok_or(Kind::BadLength {
                key: "ip",
                len: b.len(),
                expected: "6 or 18",
            })?)
        }
        None => None,
    };
    let read_only = top.get("ro").and_then(Value::as_int) == Some(1);
    let y = required_bytes(top, "y")?;
    let body = match y {
        b"q" => Body::Query(decode_query(top)?),
        b"r" => Body::Response(decode_response(top)?),
        b"e" => Body::Error(decode_error(top)?),
        other => {
            return Err(Kind::UnknownType(
                String::from_utf8_lossy(&other[..other.len().min(16)]).into_owned(),
            ));
        }
    };
    Ok(Message {
        transaction_id: transaction_id.to_vec(),
        version,
        ip,
        read_only,
        body,
    })
}

fn decode_query(top: &Value<'_>) -> Result<Query, Kind> {
    let method = bytes_within(top, "q", MAX_METHOD_BYTES, "1 to 64")?;
    let a = top.get("a").ok_or(Kind::Missing("a"))?;
    if a.as_dict().is_none() {
        return Err(Kind::NotADictionary("a"));
    }
    let id = required_id(a, "id")?;
    let kind = match method {
        b"ping" => QueryKind::Ping,
        b"find_node" => QueryKind::FindNode {
            target: required_id(a, "target")?,
        },
        b"get_peers" => QueryKind::GetPeers {
            info_hash: required_id(a, "info_hash")?,
        },
        b"announce_peer" => {
            let info_hash = required_id(a, "info_hash")?;
            let implied_port = a.get("implied_port").and_then(Value::as_int) == Some(1);
            let port = match (a.get("port"), implied_port) {
                (Some(p), false) => {
                    let p = p.as_int().ok_or(Kind::WrongType {
                        key: "port",
                        expected: "integer",
                    })?;
                    u16::try_from(p)
                        .ok()
                        .filter(|p| *p != 0)
                        .ok_or(Kind::OutOfRange {
                            key: "port",
                            value: p,
                        })?
                }
                (None, false) => return Err(Kind::Missing("port")),
                // The source port is used instead, so a bad `port` does no harm.
                (p, true) => p
                    .and_then(Value::as_int)
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(0),
            };
            let token = bytes_within(a, "token", MAX_TOKEN_BYTES, "1 to 64")?.to_vec();
            QueryKind::AnnouncePeer {
                info_hash,
                port,
                implied_port,
                token,
            }
        }
        other => QueryKind::Unknown {
            method: other.to_vec(),
        },
    };
    let mut want = Want::default();
    if let Some(list) = a.get("want").and_then(Value::as_list) {
        for w in list {
            match w.as_bytes() {
                Some(b"n4") => want.n4 = true,
                Some(b"n6") => want.n6 = true,
                _ => {}
            }
        }
    }
    Ok(Query { id, kind, want })
}

fn decode_response(top: &Value<'_>) -> Result<Response, Kind> {
    let r = top.get("r").ok_or(Kind::Missing("r"))?;
    if r.as_dict().is_none() {
        return Err(Kind::NotADictionary("r"));
    }
    let id = required_id(r, "id")?;
    let nodes = compact_nodes(r, "nodes", COMPACT_NODE4_BYTES)?
        .into_iter()
        .filter_map(|(id, addr)| match addr {
            SocketAddr::V4(a) => Some((id, a)),
            SocketAddr::V6(_) => None,
        })
        .collect();
    let nodes6 = compact_nodes(r, "nodes6", COMPACT_NODE6_BYTES)?
        .into_iter()
        .filter_map(|(id, addr)| match addr {
            SocketAddr::V6(a) => Some((id, a)),
            SocketAddr::V4(_) => None,
        })
        .collect();
    let mut values = Vec::new();
    if let Some(v) = r.get("values") {
        let list = v.as_list().ok_or(Kind::WrongType {
            key: "values",
            expected: "list",
        })?;
        if list.len() > MAX_VALUES {
            return Err(Kind::TooMany {
                key: "values",
                count: list.len(),
                max: MAX_VALUES,
            });
        }
        for item in list {
            let b = item.as_bytes().ok_or(Kind::WrongType {
                key: "values",
                expected: "list of strings",
            })?;
            values.push(compact_addr(b).ok_or(Kind::BadLength {
                key: "values",
                len: b.len(),
                expected: "6 or 18",
            })?);
        }
    }
    let token = match r.get("token").and_then(Value::as_bytes) {
        // An empty token cannot be given back; the rest of the answer is still good.
        Some([]) => None,
        Some(_) => Some(bytes_within(r, "token", MAX_TOKEN_BYTES, "1 to 64")?.to_vec()),
        None if r.get("token").is_some() => {
            return Err(Kind::WrongType {
                key: "token",
                expected: "string",
            });
        }
        None => None,
    };
    Ok(Response {
        id,
        nodes,
        nodes6,
        values,
        token,
    })
}

fn decode_error(top: &Value<'_>) -> Result<ErrorBody, Kind> {
    let wrong = Kind::WrongType {
        key: "e",
        expected: "list of a code and a message",
    };
    let list = top
        .get("e")
        .ok_or(Kind::Missing("e"))?
        .as_list()
        .ok_or(wrong.clone())?;
    let (Some(code), Some(message)) = (
        list.first().and_then(Value::as_int),
        list.get(1).and_then(Value::as_bytes),
    ) else {
        return Err(wrong);
    };
    if message.len() > MAX_ERROR_MESSAGE_BYTES {
        return Err(Kind::BadLength {
            key: "e",
            len: message.len(),
            expected: "at most 512",
        });
    }
    Ok(ErrorBody {
        code,
        message: message.to_vec(),
    })
}

fn required_bytes<'a>(d: &Value<'a>, key: &'static str) -> Result<&'a [u8], Kind> {
    d.get(key)
        .ok_or(Kind::Missing(key))?
        .as_bytes()
        .ok_or(Kind::WrongType {
            key,
            expected: "string",
        })
}

/// A string of 1 to `max` bytes; `expected` says so in the error.
fn bytes_within<'a>(
    d: &Value<'a>,
    key: &'static str,
    max: usize,
    expected: &'static str,
) -> Result<&'a [u8], Kind> {
    let b = required_bytes(d, key)?;
    if b.is_empty() || b.len() > max {
        return Err(Kind::BadLength {
            key,
            len: b.len(),
            expected,
        });
    }
    Ok(b)
}

fn required_id(d: &Value<'_>, key: &'static str) -> Result<NodeId, Kind> {
    let b = required_bytes(d, key)?;
    NodeId::from_slice(b).ok_or(Kind::BadLength {
        key,
        len: b.len(),
        expected: "20",
    })
}

/// A compact node list: whole entries of id + address, at most [`MAX_NODES`].
fn compact_nodes(
    d: &Value<'_>,
    key: &'static str,
    entry: usize,
) -> Result<Vec<(NodeId, SocketAddr)>, Kind> {
    let Some(v) = d.get(key) else {
        return Ok(Vec::new());
    };
    let b = v.as_bytes().ok_or(Kind::WrongType {
        key,
        expected: "string",
    })?;
    if b.len() % entry != 0 {
        return Err(Kind::BadLength {
            key,
            len: b.len(),
            expected: "a whole number of compact nodes",
        });
    }
    if b.len() / entry > MAX_NODES {
        return Err(Kind::TooMany {
            key,
            count: b.len() / entry,
            max: MAX_NODES,
        });
    }
    Ok(b.chunks_exact(entry)
        .filter_map(|c| {
            Some((
                NodeId::from_slice(&c[..ID_LEN])?,
                compact_addr(&c[ID_LEN..])?,
            ))
        })
        .collect())
}

/// 4 or 16 address bytes then a big-endian port.
fn compact_addr(b: &[u8]) -> Option<SocketAddr> {
    match b.len() {
        6 => {
            let ip: [u8; 4] = b[..4].try_into().ok()?;
            let port = u16::from_be_bytes([b[4], b[5]]);
            Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
        }
        18 => {
            let ip: [u8; 16] = b[..16].try_into().ok()?;
            let port = u16::from_be_bytes([b[16], b[17]]);
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                0,
                0,
            )))
        }
        _ => None,
    }
}
