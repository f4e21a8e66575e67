//! Announce responses: encoding (tracker side) with compact peer lists
//! (BEP 23) and IPv6 peers in `peers6` (BEP 7), and decoding (client side),
//! which accepts both compact and dictionary peer lists. Does not choose
//! peers or intervals: the tracker fills the struct.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::PeerId;
use crate::bencode::{self, OwnedValue, Value};

/// Bytes per IPv4 peer in a compact list: 4 address + 2 port, big-endian.
pub const COMPACT_V4_BYTES: usize = 6;
/// Bytes per IPv6 peer in a compact list: 16 address + 2 port, big-endian.
pub const COMPACT_V6_BYTES: usize = 18;

/// One peer in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Its id; compact lists carry none.
    pub id: Option<PeerId>,
    /// Where to connect.
    pub addr: SocketAddr,
}

/// A successful announce response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnnounceResponse {
    /// Seconds the client should wait before announcing again.
    pub interval: u32,
    /// Seconds the client must wait before announcing again.
    pub min_interval: Option<u32>,
    /// Seeders in the swarm.
    pub complete: u32,
    /// Leechers in the swarm.
    pub incomplete: u32,
    /// Opaque id the client should send back as `trackerid`.
    pub tracker_id: Option<Vec<u8>>,
    /// A warning shown to the user; the announce still succeeded.
    pub warning: Option<String>,
    /// Peers to connect to, IPv4 and IPv6 mixed.
    pub peers: Vec<Peer>,
}

/// Why a response could not be decoded, or the tracker's refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The tracker refused the announce with this reason.
    #[error("tracker failure: {0}")]
    Failure(String),
    /// Not bencode.
    #[error("response is not bencode: {0}")]
    Bencode(#[from] bencode::DecodeError),
    /// Bencode, but not the expected shape.
    #[error("bad response: {0}")]
    Shape(String),
}

/// The bencoded body of a refusal (`d14:failure reason...e`).
pub fn failure_response(reason: &str) -> Vec<u8> {
    bencode::encode(&OwnedValue::dict().with("failure reason", OwnedValue::bytes(reason)))
}

fn int(v: u32) -> OwnedValue {
    OwnedValue::Int(i64::from(v))
}

impl AnnounceResponse {
    /// Encodes the response. `compact` puts IPv4 peers in a `peers` string and
    /// IPv6 peers in a `peers6` string; otherwise `peers` is a list of
    /// dictionaries, with `peer id` unless `no_peer_id`.
    pub fn encode(&self, compact: bool, no_peer_id: bool) -> Vec<u8> {
        let mut d = BTreeMap::new();
        d.insert(b"interval".to_vec(), int(self.interval));
        if let Some(m) = self.min_interval {
            d.insert(b"min interval".to_vec(), int(m));
        }
        d.insert(b"complete".to_vec(), int(self.complete));
        d.insert(b"incomplete".to_vec(), int(self.incomplete));
        if let Some(t) = &self.tracker_id {
            d.insert(b"tracker id".to_vec(), OwnedValue::bytes(t));
        }
        if let Some(w) = &self.warning {
            d.insert(b"warning message".to_vec(), OwnedValue::bytes(w));
        }
        if compact {
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for p in &self.peers {
                match p.addr.ip() {
                    IpAddr::V4(ip) => v4.extend_from_slice(&ip.octets()),
                    IpAddr::V6(ip) => v6.extend_from_slice(&ip.octets()),
                }
                let out = if p.addr.is_ipv4() { &mut v4 } else { &mut v6 };
                out.extend_from_slice(&p.addr.port().to_be_bytes());
            }
            d.insert(b"peers".to_vec(), OwnedValue::Bytes(v4));
            if !v6.is_empty() {
                d.insert(b"peers6".to_vec(), OwnedValue::Bytes(v6));
            }
        } else {
            let list = self
                .peers
                .iter()
                .map(|p| {
                    let mut e = OwnedValue::dict()
                        .with("ip", OwnedValue::bytes(p.addr.ip().to_string()))
                        .with("port", OwnedValue::Int(i64::from(p.addr.port())));
                    if let (false, Some(id)) = (no_peer_id, p.id) {
                        e.insert("peer id", OwnedValue::bytes(id.0));
                    }
                    e
                })
                .collect();
            d.insert(b"peers".to_vec(), OwnedValue::List(list));
        }
        bencode::encode(&OwnedValue::Dict(d))
    }

    /// Decodes a tracker's response; a `failure reason` becomes
    /// [`ResponseError::Failure`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ResponseError> {
        let v = bencode::decode(bytes)?;
        if v.as_dict().is_none() {
            return Err(shape("not a dictionary"));
        }
        if let Some(reason) = v.get("failure reason") {
            let text = reason.as_bytes().ok_or_else(|| shape("failure reason"))?;
            return Err(ResponseError::Failure(
                String::from_utf8_lossy(text).into_owned(),
            ));
        }
        let interval = get_u32(&v, "interval")?.ok_or_else(|| shape("missing interval"))?;
        let mut peers = Vec::new();
        match v.get("peers") {
            None => {}
            Some(p) if p.as_bytes().is_some() => {
                let b = p.as_bytes().unwrap_or_default();
                compact_peers(b, COMPACT_V4_BYTES, &mut peers)?;
            }
            Some(p) => {
                for e in p.as_list().ok_or_else(|| shape("peers"))? {
                    peers.push(dict_peer(e)?);
                }
            }
        }
        if let Some(p6) = v.get("peers6") {
            let b = p6.as_bytes().ok_or_else(|| shape("peers6"))?;
            compact_peers(b, COMPACT_V6_BYTES, &mut peers)?;
        }
        Ok(AnnounceResponse {
            interval,
            min_interval: get_u32(&v, "min interval")?,
            complete: get_u32(&v, "complete")?.unwrap_or(0),
            incomplete: get_u32(&v, "incomplete")?.unwrap_or(0),
            tracker_id: v
                .get("tracker id")
                .and_then(Value::as_bytes)
                .map(<[u8]>::to_vec),
            warning: v
                .get("warning message")
                .and_then(Value::as_bytes)
                .map(|w| String::from_utf8_lossy(w).into_owned()),
            peers,
        })
    }
}

fn shape(what: &str) -> ResponseError {
    ResponseError::Shape(what.to_owned())
}

/// An optional non-negative integer that fits in u32.
pub(crate) fn get_u32(v: &Value<'_>, key: &str) -> Result<Option<u32>, ResponseError> {
    match v.get(key) {
        None => Ok(None),
        Some(x) => x
            .as_int()
            .and_then(|i| u32::try_from(i).ok())
            .map(Some)
            .ok_or_else(|| shape(&format!("{key} is not a non-negative integer"))),
    }
}

fn compact_peers(b: &[u8], size: usize, out: &mut Vec<Peer>) -> Result<(), ResponseError> {
    if !b.len().is_multiple_of(size) {
        return Err(shape(&format!(
            "compact peer list of {} bytes is not a multiple of {size}",
            b.len()
        )));
    }
    for c in b.chunks_exact(size) {
        let (ip, port) = c.split_at(size - 2);
        let ip = match <[u8; 4]>::try_from(ip) {
            Ok(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
            Err(_) => {
                let v6: [u8; 16] = ip.try_into().map_err(|_| shape("peers6"))?;
                IpAddr::V6(Ipv6Addr::from(v6))
            }
        };
        let port = u16::from_be_bytes([port[0], port[1]]);
        out.push(Peer {
            id: None,
            addr: SocketAddr::new(ip, port),
        });
    }
    Ok(())
}

fn dict_peer(e: &Value<'_>) -> Result<Peer, ResponseError> {
    let ip = e
        .get("ip")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<IpAddr>().ok())
        .ok_or_else(|| shape("peer without a valid ip"))?;
    let port = e
        .get("port")
        .and_then(Value::as_int)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| shape("peer without a valid port"))?;
    let id = match e.get("peer id").and_then(Value::as_bytes) {
        Some(b) => Some(PeerId(b.try_into().map_err(|_| shape("peer id length"))?)),
        None => None,
    };
    Ok(Peer {
        id,
        addr: SocketAddr::new(ip, port),
    })
}
