//! The seam through which trackerd instances sharing a database share
//! their swarms (issue 16): rows of peer changes written in batches and
//! read back incrementally, and wake-ups when another instance wrote some
//! or changed what the announce index is built from. Only PostgreSQL has
//! one ([`super::Store::peer_exchange`]); SQLite is one instance's
//! database and pays nothing. Rows only: no swarm logic here.

use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::PeerId;
use tokio::sync::mpsc;

use super::StoreFuture;

/// The last change of one peer of one swarm, as an instance writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerChange {
    /// The torrent (the real info-hash, also for an outsiders' swarm).
    pub info_hash: InfoHash,
    /// The peer is in the outsiders' swarm of the group torrent
    /// `info_hash` (see [`crate::outsiders`]).
    pub outsider: bool,
    /// The peer.
    pub peer_id: PeerId,
    /// Where other peers reach it.
    pub addr: SocketAddr,
    /// Nothing left to download.
    pub seeder: bool,
    /// It announced `stopped`: it leaves the swarm everywhere.
    pub stopped: bool,
    /// One of the changes merged into this one counted a completed
    /// download on the instance that wrote it.
    pub completed: bool,
}

/// A change another instance wrote, as read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedPeer {
    /// Its place in the order of writes.
    pub seq: i64,
    /// The change.
    pub change: PeerChange,
    /// Time left before the row (and the peer with it) expires, by the
    /// database's clock.
    pub expires_in: Duration,
}

/// What one read of the other instances' changes gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedPeers {
    /// The changes, oldest first.
    pub peers: Vec<SharedPeer>,
    /// The read stopped at its limit: more may follow.
    pub more: bool,
}

/// Why a wake-up came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wakeup {
    /// Another instance wrote.
    Notified,
    /// The listening connection was lost and made again: notifications
    /// may have been missed, so the reader resyncs.
    Reconnected,
}

/// Wake-ups, coalesced: at most one waits, and a reconnection is never
/// folded into a plain notification.
#[derive(Debug)]
pub struct Wakeups {
    rx: mpsc::Receiver<()>,
    reconnected: Arc<AtomicBool>,
}

/// The sending side of [`Wakeups`].
#[derive(Debug, Clone)]
pub struct WakeupSender {
    tx: mpsc::Sender<()>,
    reconnected: Arc<AtomicBool>,
}

/// A connected pair.
pub fn wakeups() -> (WakeupSender, Wakeups) {
    let (tx, rx) = mpsc::channel(1);
    let reconnected = Arc::new(AtomicBool::new(false));
    (
        WakeupSender {
            tx,
            reconnected: reconnected.clone(),
        },
        Wakeups { rx, reconnected },
    )
}

impl WakeupSender {
    /// Sends a wake-up (dropped when one is already waiting: it covers this one).
    pub fn send(&self, w: Wakeup) {
        if w == Wakeup::Reconnected {
            self.reconnected.store(true, Ordering::Release);
        }
        let _ = self.tx.try_send(());
    }

    /// Resolves when the receiver is gone.
    pub async fn closed(&self) {
        self.tx.closed().await
    }
}

impl Wakeups {
    /// The next wake-up; `None` once the sender is gone.
    pub async fn next(&mut self) -> Option<Wakeup> {
        self.rx.recv().await?;
        Some(if self.reconnected.swap(false, Ordering::AcqRel) {
            Wakeup::Reconnected
        } else {
            Wakeup::Notified
        })
    }
}

/// Peer changes shared through the database.
pub trait PeerExchange: Send + Sync + Debug {
    /// Writes changes made on `instance` (at most one per peer of a
    /// swarm), each expiring `ttl` from now, and wakes the other
    /// instances' [`PeerExchange::peer_wakeups`].
    fn write_peers<'a>(
        &'a self,
        instance: i64,
        ttl: Duration,
        changes: &'a [PeerChange],
    ) -> StoreFuture<'a, ()>;
    /// Changes other instances than `instance` wrote after `after`,
    /// oldest first, from at most `batches` of their writes. Expired ones
    /// kept a while come too, with no time left (a `stopped` in them
    /// still counts).
    fn peers_after(&self, instance: i64, after: i64, batches: u32) -> StoreFuture<'_, SharedPeers>;
    /// Deletes rows expired for a while; returns how many.
    fn sweep_peers(&self) -> StoreFuture<'_, u64>;
    /// Wakes when another instance than `instance` wrote peer changes.
    fn peer_wakeups(&self, instance: i64) -> StoreFuture<'_, Wakeups>;
    /// Wakes when what the announce index is built from changed.
    fn index_wakeups(&self) -> StoreFuture<'_, Wakeups>;
}
