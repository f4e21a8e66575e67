//! The Mainline DHT (BEP 5, with BEP 32 for IPv6), sans-io: the KRPC
//! messages, the Kademlia routing table, announce tokens and the store of
//! announced peers.
//!
//! Must not touch sockets or clocks: time comes in as `now` (seconds from
//! any fixed origin the caller picks) and randomness as arguments. The
//! driver that owns the UDP socket, timers and iterative lookups lives in
//! p2pd.

pub mod krpc;
pub mod node_id;
pub mod peers;
pub mod routing;
pub mod tokens;

pub use node_id::{ID_LEN, NodeId};
