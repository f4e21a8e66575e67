//! The Mainline DHT ([BEP 5](https://www.bittorrent.org/beps/bep_0005.html),
//! with [BEP 32](https://www.bittorrent.org/beps/bep_0032.html) for IPv6), sans-io: the KRPC
//! messages ([`krpc`]), the Kademlia routing table ([`routing`]), announce
//! tokens ([`tokens`]), the store of announced peers ([`peers`]), the
//! answers to queries ([`responder`]), one iterative lookup ([`lookup`])
//! and the whole node that ties them together ([`machine`]): p2pd's
//! `dht` module only moves its datagrams and ticks its clock.
//!
//! Must not touch sockets or clocks: time comes in as `now` (seconds, or
//! milliseconds in [`machine`], from any fixed origin the caller picks) and
//! randomness as arguments.
//!
//! Not here: BEP 42 checks of queriers' ids (a node's id is not tied to
//! its address here, as libtorrent does not enforce it by default either),
//! BEP 44 storage and BEP 51 sampling (answered with error 204).

pub mod krpc;
pub mod lookup;
pub mod machine;
pub mod node_id;
pub mod peers;
pub mod responder;
pub mod routing;
pub mod tokens;

pub use node_id::{ID_LEN, NodeId};
