//! The Mainline DHT ([BEP 5](https://www.bittorrent.org/beps/bep_0005.html),
//! with [BEP 32](https://www.bittorrent.org/beps/bep_0032.html) for IPv6), sans-io: the KRPC
//! messages ([`krpc`]), the Kademlia routing table ([`routing`]), announce
//! tokens ([`tokens`]), the store of announced peers ([`peers`]) and the
//! answers to queries ([`responder`]).
//!
//! Must not touch sockets or clocks: time comes in as `now` (seconds from
//! any fixed origin the caller picks) and randomness as arguments.
//!
//! Not here yet (the engine side, next to p2pd's uTP driver):
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
//!   the engine calls: announce, lookup with a deadline, node counts);
//! - a per-source rate limit on answers (the responder bounds each answer's
//!   size, not how many a source gets) and BEP 42 checks of queriers' ids.

pub mod krpc;
pub mod lookup;
pub mod machine;
pub mod node_id;
pub mod peers;
pub mod responder;
pub mod routing;
pub mod tokens;

pub use node_id::{ID_LEN, NodeId};
