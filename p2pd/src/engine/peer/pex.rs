//! Peer exchange (BEP 11) on one connection: what we told the peer, when
//! we may tell it more, and whether what it tells us is taken. Never for
//! a private torrent (BEP 27): we do not offer `ut_pex` in our extension
//! handshake, send nothing, and ignore what such a peer sends.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use p2p_proto::ipc::PeerTransport;
use p2p_proto::wire::{PEX_MAX_PEERS, PexMessage, pex_flags};
use tokio::time::Instant;

use super::super::torrent::Shared;

/// Our extension id for ut_pex.
pub(crate) const OUR_UT_PEX: u8 = 2;
/// The first message goes out this long after the connection, once the
/// peer list has settled.
const FIRST_AFTER: Duration = Duration::from_secs(5);
/// Then at most once a minute, as the clients agreed.
const EVERY: Duration = Duration::from_secs(60);
/// A peer's messages closer together than this are ignored (the agreed
/// minute, with the tolerance BEP 11's authors ask for).
const ACCEPT_GAP: Duration = Duration::from_secs(45);

/// One connection's side of peer exchange.
#[derive(Debug)]
pub(crate) struct Pex {
    /// The peer's id for ut_pex; `None` while it has not offered it, and
    /// always for a private torrent.
    pub peer_id: Option<u8>,
    /// Addresses the peer last heard from us as connected.
    told: HashSet<SocketAddr>,
    next_send: Instant,
    last_taken: Option<Instant>,
}

impl Pex {
    pub fn new(now: Instant) -> Pex {
        Pex {
            peer_id: None,
            told: HashSet::new(),
            next_send: now + FIRST_AFTER,
            last_taken: None,
        }
    }

    /// Whether the peer takes ut_pex and a message may go out now.
    pub fn is_due(&self, now: Instant) -> bool {
        self.peer_id.is_some() && now >= self.next_send
    }

    /// The message to send now, if one is due and there is news: peers
    /// connected since the last one (`added`, at most [`PEX_MAX_PEERS`])
    /// and peers gone since (`dropped`, as many).
    pub fn due(&mut self, now: Instant, connected: &[(SocketAddr, u8)]) -> Option<PexMessage> {
        if !self.is_due(now) {
            return None;
        }
        self.next_send = now + EVERY;
        let current: HashSet<SocketAddr> = connected.iter().map(|&(a, _)| a).collect();
        let dropped: Vec<SocketAddr> = self
            .told
            .iter()
            .filter(|a| !current.contains(a))
            .take(PEX_MAX_PEERS)
            .copied()
            .collect();
        let added: Vec<(SocketAddr, u8)> = connected
            .iter()
            .filter(|(a, _)| !self.told.contains(a))
            .take(PEX_MAX_PEERS)
            .copied()
            .collect();
        for a in &dropped {
            self.told.remove(a);
        }
        self.told.extend(added.iter().map(|&(a, _)| a));
        let msg = PexMessage { added, dropped };
        (!msg.is_empty()).then_some(msg)
    }

    /// Whether a message the peer sent now is taken: not sooner than
    /// [`ACCEPT_GAP`] after the last one taken.
    pub fn take(&mut self, now: Instant) -> bool {
        if self
            .last_taken
            .is_some_and(|t| now.duration_since(t) < ACCEPT_GAP)
        {
            return false;
        }
        self.last_taken = Some(now);
        true
    }
}

impl Shared {
    /// Whether this torrent may exchange peers: never a private one.
    pub fn pex_allowed(&self) -> bool {
        !self.meta.info.private
    }

    /// An incoming peer said which port it listens on: others can be told.
    pub fn set_listen_port(&self, key: u64, port: u16) {
        if let Some(p) = self.lock().peers.get_mut(&key)
            && !p.outgoing
        {
            p.listen_addr = Some(SocketAddr::new(p.addr.ip(), port));
        }
    }

    /// The reachable addresses of our peers but `except`, with their
    /// BEP 11 flags (reachable: we dialled it; uTP and encryption: what
    /// carries our connection to it).
    pub fn pex_view(&self, except: u64) -> Vec<(SocketAddr, u8)> {
        self.lock()
            .peers
            .iter()
            .filter(|(k, _)| **k != except)
            .filter_map(|(_, p)| {
                let mut flags = 0;
                if p.outgoing {
                    flags |= pex_flags::REACHABLE;
                }
                if p.link.transport == PeerTransport::Utp {
                    flags |= pex_flags::UTP;
                }
                if p.link.encrypted {
                    flags |= pex_flags::ENCRYPTION;
                }
                p.listen_addr.map(|a| (a, flags))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn a(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    #[test]
    fn nothing_goes_to_a_peer_that_did_not_offer_pex_or_before_it_is_due() {
        let t0 = Instant::now();
        let mut pex = Pex::new(t0);
        assert_eq!(pex.due(t0 + FIRST_AFTER, &[(a(1), 0)]), None);
        pex.peer_id = Some(9);
        assert_eq!(pex.due(t0, &[(a(1), 0)]), None);
        let first = pex.due(t0 + FIRST_AFTER, &[(a(1), 0)]).unwrap();
        assert_eq!(first.added, vec![(a(1), 0)]);
        // Not again within the minute, even with news.
        assert_eq!(pex.due(t0 + FIRST_AFTER + EVERY / 2, &[(a(2), 0)]), None);
    }

    #[test]
    fn the_next_message_says_who_came_and_who_left_and_nothing_twice() {
        let t0 = Instant::now();
        let mut pex = Pex::new(t0);
        pex.peer_id = Some(9);
        pex.due(t0 + FIRST_AFTER, &[(a(1), 0), (a(2), 0)]).unwrap();
        let next = pex
            .due(t0 + FIRST_AFTER + EVERY, &[(a(2), 0), (a(3), 0)])
            .unwrap();
        assert_eq!(next.added, vec![(a(3), 0)]);
        assert_eq!(next.dropped, vec![a(1)]);
        assert_eq!(
            pex.due(t0 + FIRST_AFTER + 2 * EVERY, &[(a(2), 0), (a(3), 0)]),
            None
        );
    }

    #[test]
    fn a_message_carries_at_most_fifty_added_peers() {
        let t0 = Instant::now();
        let mut pex = Pex::new(t0);
        pex.peer_id = Some(9);
        let many: Vec<_> = (1..=120).map(|p| (a(p), 0)).collect();
        let first = pex.due(t0 + FIRST_AFTER, &many).unwrap();
        assert_eq!(first.added.len(), PEX_MAX_PEERS);
        let second = pex.due(t0 + FIRST_AFTER + EVERY, &many).unwrap();
        assert_eq!(second.added.len(), PEX_MAX_PEERS);
        assert!(second.added.iter().all(|x| !first.added.contains(x)));
    }

    #[test]
    fn messages_closer_than_the_gap_are_not_taken() {
        let t0 = Instant::now();
        let mut pex = Pex::new(t0);
        assert!(pex.take(t0));
        assert!(!pex.take(t0 + Duration::from_secs(10)));
        assert!(pex.take(t0 + ACCEPT_GAP));
    }
}
