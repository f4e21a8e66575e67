//! What happens to torrents, told as it happens: a download completed, a
//! torrent failed or stopped, a magnet link's metadata arrived. The engine
//! sends; the daemon (or a test) listens. Nothing here polls.

use p2p_proto::infohash::InfoHash;
use tokio::sync::broadcast;

/// Events kept for a slow listener before the oldest are dropped.
const EVENT_BUFFER: usize = 1024;

/// Something that happened to a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    /// The last missing piece was verified: the torrent seeds now.
    Completed {
        /// The torrent.
        info_hash: InfoHash,
        /// Its name.
        name: String,
    },
    /// The torrent stopped on an error (files unreadable, disk full).
    Failed {
        /// The torrent.
        info_hash: InfoHash,
        /// Its name.
        name: String,
        /// Why, for people.
        message: String,
    },
    /// The torrent's task ended (removed, paused, or the engine stopped).
    Stopped {
        /// The torrent.
        info_hash: InfoHash,
    },
    /// Every piece was hashed again at start, as asked by
    /// [`super::request_recheck`].
    Rechecked {
        /// The torrent.
        info_hash: InfoHash,
        /// Its name.
        name: String,
        /// Pieces hashed.
        checked: usize,
        /// Pieces the resume record had that failed their hash, by index:
        /// they are downloaded again.
        bad: Vec<u32>,
    },
    /// A magnet link's info dictionary arrived and matched its info-hash.
    MetadataReceived {
        /// The torrent.
        info_hash: InfoHash,
        /// Its name, from the metadata.
        name: String,
    },
}

/// The next event for a listener that stops with `cancel`: `None` once
/// cancelled or once the engine is gone. A listener that fell behind
/// (`who` names it in the log) goes on with the events still kept.
pub async fn next_event(
    rx: &mut broadcast::Receiver<EngineEvent>,
    cancel: &tokio_util::sync::CancellationToken,
    who: &str,
) -> Option<EngineEvent> {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return None,
            e = rx.recv() => match e {
                Ok(e) => return Some(e),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("{who}: missed {n} engine events");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            },
        }
    }
}

/// The sending side, shared by the engine and its torrents.
#[derive(Debug, Clone)]
pub(crate) struct Events(broadcast::Sender<EngineEvent>);

impl Events {
    pub fn new() -> Events {
        Events(broadcast::channel(EVENT_BUFFER).0)
    }

    /// Tells every listener; no listener is fine.
    pub fn send(&self, event: EngineEvent) {
        let _ = self.0.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.0.subscribe()
    }
}
