//! The caps that bound the swarms' memory whatever clients send, over the
//! whole tracker and per client address, and the refusal when an announce
//! would pass one. Plain data: the checks live with the swarms.

/// Caps that bound memory whatever clients send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most swarms held at once.
    pub max_torrents: usize,
    /// Most peers held at once, over all swarms.
    pub max_peers: usize,
    /// Most swarms one address (IPv6: one /64) created and the tracker
    /// still holds, counting only swarms of torrents neither registered nor
    /// published ([`super::AnnounceInput::open_swarm`]); 0: no limit.
    pub max_torrents_per_address: usize,
    /// Most peer entries one address holds in one swarm; 0: no limit.
    pub max_peers_per_address_per_torrent: usize,
    /// Most peer entries one address holds over all swarms; 0: no limit.
    pub max_peers_per_address: usize,
}

impl Limits {
    /// Whether any per-address cap is set (else nothing is counted per address).
    pub(crate) fn per_address(&self) -> bool {
        self.max_torrents_per_address > 0
            || self.max_peers_per_address_per_torrent > 0
            || self.max_peers_per_address > 0
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_torrents: 1_000_000,
            max_peers: 5_000_000,
            max_torrents_per_address: 1000,
            max_peers_per_address_per_torrent: 16,
            max_peers_per_address: 20_000,
        }
    }
}

/// An announce that would grow the tracker past a [`Limits`] cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Full {
    /// Too many swarms.
    #[error("tracker is full: too many torrents (limit {0})")]
    Torrents(usize),
    /// Too many peers.
    #[error("tracker is full: too many peers (limit {0})")]
    Peers(usize),
    /// The address created as many swarms as it may.
    #[error("too many torrents created from your address (limit {0})")]
    AddressTorrents(usize),
    /// The address holds as many peers in this swarm as it may.
    #[error("too many peers from your address in this torrent (limit {0})")]
    AddressPeersInTorrent(usize),
    /// The address holds as many peers over all swarms as it may.
    #[error("too many peers from your address (limit {0})")]
    AddressPeers(usize),
}
