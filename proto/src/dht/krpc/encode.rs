//! KRPC encoding through the project's bencode encoder (keys come out sorted).

use std::net::{IpAddr, SocketAddr};

use super::{Body, Message, QueryKind, Want};
use crate::bencode::{OwnedValue, encode};

impl Message {
    /// The datagram for this message.
    pub fn encode(&self) -> Vec<u8> {
        let mut top = OwnedValue::dict().with("t", OwnedValue::bytes(&self.transaction_id));
        if let Some(v) = &self.version {
            top.insert("v", OwnedValue::bytes(v));
        }
        if let Some(ip) = &self.ip {
            top.insert("ip", OwnedValue::Bytes(compact_addr(ip)));
        }
        if self.read_only {
            top.insert("ro", OwnedValue::Int(1));
        }
        match &self.body {
            Body::Query(q) => {
                let mut a = OwnedValue::dict().with("id", OwnedValue::bytes(q.id.0));
                let method: &[u8] = match &q.kind {
                    QueryKind::Ping => b"ping",
                    QueryKind::FindNode { target } => {
                        a.insert("target", OwnedValue::bytes(target.0));
                        b"find_node"
                    }
                    QueryKind::GetPeers { info_hash } => {
                        a.insert("info_hash", OwnedValue::bytes(info_hash.0));
                        b"get_peers"
                    }
                    QueryKind::AnnouncePeer {
                        info_hash,
                        port,
                        implied_port,
                        token,
                    } => {
                        a.insert("info_hash", OwnedValue::bytes(info_hash.0));
                        a.insert("port", OwnedValue::Int(i64::from(*port)));
                        if *implied_port {
                            a.insert("implied_port", OwnedValue::Int(1));
                        }
                        a.insert("token", OwnedValue::bytes(token));
                        b"announce_peer"
                    }
                    QueryKind::Unknown { method } => method,
                };
                if let Some(want) = want_list(q.want) {
                    a.insert("want", want);
                }
                top.insert("y", OwnedValue::bytes("q"));
                top.insert("q", OwnedValue::bytes(method));
                top.insert("a", a);
            }
            Body::Response(r) => {
                let mut d = OwnedValue::dict().with("id", OwnedValue::bytes(r.id.0));
                if !r.nodes.is_empty() {
                    let mut b = Vec::with_capacity(r.nodes.len() * super::COMPACT_NODE4_BYTES);
                    for (id, addr) in &r.nodes {
                        b.extend_from_slice(&id.0);
                        b.extend_from_slice(&compact_addr(&SocketAddr::V4(*addr)));
                    }
                    d.insert("nodes", OwnedValue::Bytes(b));
                }
                if !r.nodes6.is_empty() {
                    let mut b = Vec::with_capacity(r.nodes6.len() * super::COMPACT_NODE6_BYTES);
                    for (id, addr) in &r.nodes6 {
                        b.extend_from_slice(&id.0);
                        b.extend_from_slice(&compact_addr(&SocketAddr::V6(*addr)));
                    }
                    d.insert("nodes6", OwnedValue::Bytes(b));
                }
                if !r.values.is_empty() {
                    let values = r
                        .values
                        .iter()
                        .map(|a| OwnedValue::Bytes(compact_addr(a)))
                        .collect();
                    d.insert("values", OwnedValue::List(values));
                }
                if let Some(token) = &r.token {
                    d.insert("token", OwnedValue::bytes(token));
                }
                top.insert("y", OwnedValue::bytes("r"));
                top.insert("r", d);
            }
            Body::Error(e) => {
                let list = vec![OwnedValue::Int(e.code), OwnedValue::bytes(&e.message)];
                top.insert("y", OwnedValue::bytes("e"));
                top.insert("e", OwnedValue::List(list));
            }
        }
        encode(&top)
    }
}

fn want_list(want: Want) -> Option<OwnedValue> {
    let mut list = Vec::new();
    if want.n4 {
        list.push(OwnedValue::bytes("n4"));
    }
    if want.n6 {
        list.push(OwnedValue::bytes("n6"));
    }
    (!list.is_empty()).then_some(OwnedValue::List(list))
}

/// The compact form: 4 or 16 address bytes then the port, big-endian.
pub(super) fn compact_addr(addr: &SocketAddr) -> Vec<u8> {
    let mut b = match addr.ip() {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    };
    b.extend_from_slice(&addr.port().to_be_bytes());
    b
}
