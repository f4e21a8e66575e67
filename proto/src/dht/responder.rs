//! The answering side of a DHT node (BEP 5, BEP 32 for IPv6): one incoming
//! datagram and its source in, the datagram to send back out, with the
//! querier recorded in the routing table of its family.
//!
//! Responses and errors addressed to us are not answered here: they are
//! handed back decoded for the lookup side, which knows what it asked.
//!
//! No amplification: every answer stays under [`MAX_ANSWER_BYTES`] (the
//! `values` list is cut to fit), and the error answers BEP 5 leaves to our
//! discretion (to queries we could not read) are never longer than the
//! datagram that caused them. Must not touch sockets or clocks: `now` comes in.

use std::net::{IpAddr, SocketAddr};

use super::NodeId;
use super::krpc::{
    Body, DecodeError, ERROR_METHOD_UNKNOWN, ERROR_PROTOCOL, Message, Query, QueryKind, Response,
};
use super::peers::PeerStore;
use super::routing::{Contact, K, Node, Outcome, RoutingTable};
use super::tokens::Tokens;

#[cfg(test)]
mod tests;

/// Largest answer: the IPv6 minimum MTU less the IPv6 and UDP headers,
/// so an answer never fragments on either family.
pub const MAX_ANSWER_BYTES: usize = 1280 - 40 - 8;

/// What the responder did with one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// The answer, the reply for the lookup side, or nothing.
    pub incoming: Incoming,
    /// Nodes to ping because the querier waits for a place in a full
    /// bucket ([`super::routing::Outcome::Cached`]), least recently seen first.
    pub ping: Vec<(NodeId, SocketAddr)>,
}

/// What became of one incoming datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Send these bytes back to the source.
    Answer(Vec<u8>),
    /// A response or error for one of our queries: the lookup side matches
    /// it by transaction id and source.
    Reply(Message),
    /// Nothing to send: not KRPC, an answer that would amplify, or a source
    /// that cannot be answered.
    Dropped,
}

/// The state one node answers from, borrowed for the duration of a datagram.
#[derive(Debug)]
pub struct Responder<'a> {
    /// The IPv4 routing table; its own id answers queries over IPv4.
    pub table4: &'a mut RoutingTable,
    /// The IPv6 routing table; its own id answers queries over IPv6.
    pub table6: &'a mut RoutingTable,
    /// Announce tokens.
    pub tokens: &'a Tokens,
    /// Announced peers.
    pub peers: &'a mut PeerStore,
}

impl Responder<'_> {
    /// Handles `datagram` from `source` at `now`.
    pub fn handle(&mut self, datagram: &[u8], source: SocketAddr, now: u64) -> Handled {
        let only = |incoming| Handled {
            incoming,
            ping: Vec::new(),
        };
        let source = canonical(source);
        if source.port() == 0 || !is_answerable(source.ip()) {
            return only(Incoming::Dropped);
        }
        let message = match Message::decode(datagram) {
            Ok(m) => m,
            Err(e) => return only(self.undecodable(&e, datagram.len())),
        };
        let Body::Query(query) = &message.body else {
            return only(Incoming::Reply(message));
        };
        let mut ping = Vec::new();
        if !message.read_only {
            // Whether the table took the querier (or ignored it as a spoof)
            // does not change the answer.
            let outcome = self
                .table(source)
                .heard_from(query.id, source, Contact::Query, now);
            if let Outcome::Cached { ping: p } = outcome {
                ping = p;
            }
        }
        let answer = self.answer(&message.transaction_id, query, source, now, datagram.len());
        let incoming = match answer {
            Some(bytes) if bytes.len() <= MAX_ANSWER_BYTES => Incoming::Answer(bytes),
            _ => Incoming::Dropped,
        };
        Handled { incoming, ping }
    }

    fn undecodable(&self, e: &DecodeError, query_len: usize) -> Incoming {
        match (&e.transaction_id, e.is_query) {
            (Some(tid), true) => error_answer(tid, ERROR_PROTOCOL, "bad query", query_len)
                .map_or(Incoming::Dropped, Incoming::Answer),
            _ => Incoming::Dropped,
        }
    }

    fn answer(
        &mut self,
        tid: &[u8],
        query: &Query,
        source: SocketAddr,
        now: u64,
        query_len: usize,
    ) -> Option<Vec<u8>> {
        let mut r = Response {
            id: self.table(source).own_id(),
            ..Response::default()
        };
        match &query.kind {
            QueryKind::Ping => {}
            QueryKind::FindNode { target } => self.add_nodes(&mut r, target, query, source, now),
            QueryKind::GetPeers { info_hash } => {
                self.add_nodes(&mut r, info_hash, query, source, now);
                r.token = Some(self.tokens.token_for(source.ip()).to_vec());
                let values = self
                    .peers
                    .peers(info_hash, source.is_ipv6(), usize::MAX, now);
                return Some(encode_with_values(tid, r, source, values));
            }
            QueryKind::AnnouncePeer {
                info_hash,
                port,
                implied_port,
                token,
            } => {
                if !self.tokens.is_valid(source.ip(), token) {
                    return error_answer(tid, ERROR_PROTOCOL, "bad token", query_len);
                }
                let port = if *implied_port { source.port() } else { *port };
                self.peers
                    .announce(*info_hash, SocketAddr::new(source.ip(), port), now);
            }
            QueryKind::Unknown { .. } => {
                return error_answer(tid, ERROR_METHOD_UNKNOWN, "method unknown", query_len);
            }
        }
        Some(with_ip(Message::response(tid, r), source).encode())
    }

    fn table(&mut self, source: SocketAddr) -> &mut RoutingTable {
        if source.is_ipv6() {
            self.table6
        } else {
            self.table4
        }
    }

    /// `nodes` and `nodes6` as BEP 32 `want` says, or the source's family.
    /// The querier itself, just recorded, is left out: it knows where it is.
    fn add_nodes(
        &self,
        r: &mut Response,
        target: &NodeId,
        query: &Query,
        source: SocketAddr,
        now: u64,
    ) {
        let want = query.want;
        let others = |n: &&Node| n.id != query.id;
        let (n4, n6) = if want.n4 || want.n6 {
            (want.n4, want.n6)
        } else {
            (source.is_ipv4(), source.is_ipv6())
        };
        if n4 {
            r.nodes = self
                .table4
                .closest(target, K + 1, now)
                .into_iter()
                .filter(others)
                .take(K)
                .filter_map(|n| match n.addr {
                    SocketAddr::V4(a) => Some((n.id, a)),
                    SocketAddr::V6(_) => None,
                })
                .collect();
        }
        if n6 {
            r.nodes6 = self
                .table6
                .closest(target, K + 1, now)
                .into_iter()
                .filter(others)
                .take(K)
                .filter_map(|n| match n.addr {
                    SocketAddr::V6(a) => Some((n.id, a)),
                    SocketAddr::V4(_) => None,
                })
                .collect();
        }
    }
}

/// BEP 42's `ip`: tells the querier its address as we see it.
fn with_ip(mut m: Message, source: SocketAddr) -> Message {
    m.ip = Some(source);
    m
}

/// The `get_peers` answer with as many `values` as fit in [`MAX_ANSWER_BYTES`].
fn encode_with_values(
    tid: &[u8],
    mut r: Response,
    source: SocketAddr,
    mut values: Vec<SocketAddr>,
) -> Vec<u8> {
    let bare = with_ip(Message::response(tid, r.clone()), source).encode();
    // `6:valuesl` and `e` around the list, then `<len>:<compact>` per peer.
    let list_overhead = "6:valuesle".len();
    let per_value = if source.is_ipv6() {
        "18:".len() + 18
    } else {
        "6:".len() + 6
    };
    let room = MAX_ANSWER_BYTES.saturating_sub(bare.len() + list_overhead);
    values.truncate(room / per_value);
    if values.is_empty() {
        return bare;
    }
    r.values = values;
    with_ip(Message::response(tid, r), source).encode()
}

/// An error answer, only when it is no longer than the query it answers.
fn error_answer(tid: &[u8], code: i64, text: &str, query_len: usize) -> Option<Vec<u8>> {
    let bytes = Message::error(tid, code, text).encode();
    if bytes.len() <= query_len {
        return Some(bytes);
    }
    let bare = Message::error(tid, code, "").encode();
    (bare.len() <= query_len).then_some(bare)
}

/// A v4-mapped IPv6 source (a dual-stack socket) is an IPv4 querier.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// Unspecified, broadcast and multicast sources are forged: answering them
/// would reflect traffic to someone else.
fn is_answerable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => !(ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast()),
        IpAddr::V6(ip) => !(ip.is_unspecified() || ip.is_multicast()),
    }
}
