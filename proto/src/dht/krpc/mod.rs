//! KRPC, the DHT's bencoded UDP messages
//! ([BEP 5](https://www.bittorrent.org/beps/bep_0005.html)): the queries
//! `ping`, `find_node`, `get_peers` and `announce_peer`, their responses and
//! errors, with [BEP 32](https://www.bittorrent.org/beps/bep_0032.html)'s
//! `nodes6` and `want`, [BEP 43](https://www.bittorrent.org/beps/bep_0043.html)'s
//! read-only flag `ro` and [BEP 42](https://www.bittorrent.org/beps/bep_0042.html)'s
//! `ip` field.
//!
//! Decoding is strict on what we use and lenient on the rest: every field we
//! read is bounded (ids exactly 20 bytes, compact lists whole multiples of
//! their entry size, at most [`MAX_NODES`] nodes and [`MAX_VALUES`] peers),
//! unknown keys are ignored and an unknown query method is decoded as
//! [`QueryKind::Unknown`] so the node can answer with error 204. Transaction
//! ids of any length up to [`MAX_TRANSACTION_ID_BYTES`] are kept as given
//! (libtorrent and Transmission send 2 bytes, others 4).
//!
//! Must not know sockets, the routing table or what a query means.

mod decode;
mod encode;

#[cfg(test)]
mod tests;

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

use super::NodeId;

pub use decode::{DecodeError, DecodeErrorKind};

/// Longest datagram decoded; real messages stay under one MTU.
pub const MAX_MESSAGE_BYTES: usize = 8192;
/// Longest transaction id accepted and echoed.
pub const MAX_TRANSACTION_ID_BYTES: usize = 16;
/// Longest announce token accepted.
pub const MAX_TOKEN_BYTES: usize = 64;
/// Longest client version (`v`) kept.
pub const MAX_VERSION_BYTES: usize = 16;
/// Longest error message kept.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 512;
/// Longest unknown query method name kept.
pub const MAX_METHOD_BYTES: usize = 64;
/// Most nodes in one `nodes` or `nodes6` list (k is 8; some send 16).
pub const MAX_NODES: usize = 64;
/// Most peers in one `values` list.
pub const MAX_VALUES: usize = 256;
/// Bytes of one IPv4 compact node: id, address, port.
pub const COMPACT_NODE4_BYTES: usize = 26;
/// Bytes of one IPv6 compact node: id, address, port.
pub const COMPACT_NODE6_BYTES: usize = 38;

/// KRPC error code 201: generic error.
pub const ERROR_GENERIC: i64 = 201;
/// KRPC error code 202: server error.
pub const ERROR_SERVER: i64 = 202;
/// KRPC error code 203: protocol error (malformed packet, bad arguments, bad token).
pub const ERROR_PROTOCOL: i64 = 203;
/// KRPC error code 204: method unknown.
pub const ERROR_METHOD_UNKNOWN: i64 = 204;

/// One KRPC message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `t`: chosen by the querier, echoed unchanged in the answer.
    pub transaction_id: Vec<u8>,
    /// `v`: the sender's client version, if it gave one.
    pub version: Option<Vec<u8>>,
    /// `ip` (BEP 42): in a response, the querier's address as the responder saw it.
    pub ip: Option<SocketAddr>,
    /// `ro` (BEP 43): the sender does not answer queries; keep it out of routing tables.
    pub read_only: bool,
    /// What the message says.
    pub body: Body,
}

/// The three kinds of KRPC message (`y` = `q`, `r` or `e`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A query.
    Query(Query),
    /// A response; KRPC does not say which query it answers, the transaction id does.
    Response(Response),
    /// An error.
    Error(ErrorBody),
}

/// A query (`y` = `q`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// `a.id`: the querier's node id.
    pub id: NodeId,
    /// The method and its arguments.
    pub kind: QueryKind,
    /// `a.want` (BEP 32): which families of nodes the querier wants back.
    pub want: Want,
}

/// The query methods of BEP 5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryKind {
    /// `ping`.
    Ping,
    /// `find_node`: the nodes closest to `target`.
    FindNode {
        /// The id looked for.
        target: NodeId,
    },
    /// `get_peers`: peers for `info_hash`, or the closest nodes and a token.
    GetPeers {
        /// The torrent.
        info_hash: NodeId,
    },
    /// `announce_peer`: the querier downloads `info_hash`.
    AnnouncePeer {
        /// The torrent.
        info_hash: NodeId,
        /// The querier's peer port; 0 when it was absent or out of range and `implied_port` is set.
        port: u16,
        /// Use the UDP source port instead of `port` (for peers behind NAT or on uTP).
        implied_port: bool,
        /// The token the querier got from our `get_peers` answer.
        token: Vec<u8>,
    },
    /// A method we do not know (BEP 44's `get`/`put`, BEP 51's `sample_infohashes`...),
    /// kept so the node can answer with [`ERROR_METHOD_UNKNOWN`].
    Unknown {
        /// The method name as sent.
        method: Vec<u8>,
    },
}

/// BEP 32 `want`: the address families asked for. Both false means the
/// querier did not say, which means "the family this query came over".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Want {
    /// `n4`: IPv4 nodes in `nodes`.
    pub n4: bool,
    /// `n6`: IPv6 nodes in `nodes6`.
    pub n6: bool,
}

/// A response (`y` = `r`). Which fields are present depends on the query answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// `r.id`: the responder's node id.
    pub id: NodeId,
    /// `r.nodes`: IPv4 nodes, empty when absent.
    pub nodes: Vec<(NodeId, SocketAddrV4)>,
    /// `r.nodes6` (BEP 32): IPv6 nodes, empty when absent.
    pub nodes6: Vec<(NodeId, SocketAddrV6)>,
    /// `r.values`: peers for the info-hash asked (IPv4 and IPv6 mixed), empty when absent.
    pub values: Vec<SocketAddr>,
    /// `r.token`: to be given back in `announce_peer`.
    pub token: Option<Vec<u8>>,
}

/// An error (`y` = `e`): `e` is a list of a code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// 201 to 204 in BEP 5; others exist in the wild.
    pub code: i64,
    /// The message as sent (not always UTF-8).
    pub message: Vec<u8>,
}

impl Message {
    /// A query message.
    pub fn query(transaction_id: &[u8], id: NodeId, kind: QueryKind) -> Message {
        Message {
            transaction_id: transaction_id.to_vec(),
            version: None,
            ip: None,
            read_only: false,
            body: Body::Query(Query {
                id,
                kind,
                want: Want::default(),
            }),
        }
    }

    /// A response to the query with `transaction_id`.
    pub fn response(transaction_id: &[u8], response: Response) -> Message {
        Message {
            transaction_id: transaction_id.to_vec(),
            version: None,
            ip: None,
            read_only: false,
            body: Body::Response(response),
        }
    }

    /// An error answer to the query with `transaction_id`.
    pub fn error(transaction_id: &[u8], code: i64, message: &str) -> Message {
        Message {
            transaction_id: transaction_id.to_vec(),
            version: None,
            ip: None,
            read_only: false,
            body: Body::Error(ErrorBody {
                code,
                message: message.as_bytes().to_vec(),
            }),
        }
    }
}
