//! The Mainline DHT ([BEP 5](https://www.bittorrent.org/beps/bep_0005.html),
//! with [BEP 32](https://www.bittorrent.org/beps/bep_0032.html) for IPv6), sans-io: the KRPC
//! messages ([`krpc`]), the Kademlia routing table ([`routing`]), announce
//! tokens ([`tokens`]) and the store of announced peers ([`peers`]).
//!
//! Must not touch sockets or clocks: time comes in as `now` (seconds from
//! any fixed origin the caller picks) and randomness as arguments.
//!
//! Not here yet (the engine side, next to p2pd's uTP driver):
//! - a node state machine that answers queries: `ping`; `find_node` and
//!   `get_peers` with `nodes` and/or `nodes6` as BEP 32 `want` (default: the
//!   family the query came over) from the two routing tables; `get_peers`
//!   with `values` from [`peers::PeerStore`] and a [`tokens::Tokens`] token;
//!   `announce_peer` checked against the token (203 if bad), the source port
//!   if `implied_port`; 204 for [`krpc::QueryKind::Unknown`], 203 for a
//!   [`krpc::DecodeError`] with `is_query`; every querier not read-only
//!   goes into the routing table ([`routing::Contact::Query`]);
//! - outstanding queries keyed by (transaction id, address) with timeouts
//!   feeding [`routing::RoutingTable::failed`], answers feeding
//!   `heard_from(.., Contact::Reply, ..)` (so the bootstrap node enters the
//!   table), and the pings asked for by [`routing::Outcome::Cached`];
//! - iterative lookups (alpha = 3 in flight, stop when the k closest have
//!   answered), `get_peers` collecting values and tokens, then
//!   `announce_peer` to the k closest that gave a token, whatever their
//!   distance; bootstrap as a lookup of our own id, working with an empty
//!   bootstrap list; bucket refresh from [`routing::RoutingTable::stale_buckets`];
//! - the p2pd driver (UDP sockets for v4 and v6, timers, the `DhtNode` API
//!   the engine calls: announce, lookup with a deadline, node counts).

pub mod krpc;
pub mod node_id;
pub mod peers;
pub mod responder;
pub mod routing;
pub mod tokens;

pub use node_id::{ID_LEN, NodeId};
