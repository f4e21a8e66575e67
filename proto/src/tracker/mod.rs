//! Tracker protocols: HTTP (BEP 3, 7, 23, 48) announce and scrape requests
//! and responses (percent coding from [`crate::percent`]), and UDP (BEP 15
//! with BEP 41's URL data) in [`udp`]. Sans-io.
//!
//! Both sides live here: the tracker parses requests from a raw query string
//! and encodes responses; a client builds query strings and decodes
//! responses. Not here: sockets, clocks, swarm state or policy (which peers
//! to return is the tracker's business).

mod announce;
mod query;
mod response;
mod scrape;
pub mod udp;

/// The percent coding of query strings lives in [`crate::percent`].
pub use crate::percent::{PercentDecodeError, percent_decode, percent_encode};
pub use announce::{AnnounceError, AnnounceRequest, Event, MAX_ANNOUNCE_QUERY_BYTES};
pub use response::{
    AnnounceResponse, COMPACT_V4_BYTES, COMPACT_V6_BYTES, Peer, ResponseError, failure_response,
};
pub use scrape::{
    MAX_SCRAPE_HASHES, MAX_SCRAPE_QUERY_BYTES, ScrapeError, ScrapeRequest, ScrapeResponse,
    ScrapeStats,
};

/// The peer id of announces is the one of the wire handshake.
pub use crate::wire::PeerId;

#[cfg(test)]
mod tests;
