//! The announce hooks: the private-swarm check (sync, in memory) and the
//! record of what an announce tells about its user (traffic counters and
//! download started/completed events, written in the background). Called
//! from [`crate::app::Tracker::announce_as`] for every announce path.

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::{AnnounceRequest, Event};

use super::Community;
use crate::catalog::{AnnounceIdentity, Denied};
use crate::events::event;
use crate::store::community::LoggedEvent;

impl Community {
    /// Whether an announce for `h` (with the URL's passkey, if any) is
    /// served, and why not. No I/O.
    pub fn authorize_announce(
        &self,
        h: &InfoHash,
        passkey: Option<&str>,
    ) -> Result<AnnounceIdentity, Denied> {
        self.access.authorize_announce(h, passkey)
    }

    /// Records a served announce of a known user: traffic, and download
    /// started (event `started`) or completed (when the swarm counted a
    /// completion). Never blocks: events beyond the queue are dropped.
    pub fn record_announce(
        &self,
        id: &AnnounceIdentity,
        req: &AnnounceRequest,
        counted_completion: bool,
    ) {
        let Some(uid) = id.user_id else { return };
        self.traffic.lock().report(
            uid,
            req.info_hash,
            req.peer_id,
            req.uploaded,
            req.downloaded,
            req.event == Event::Stopped,
            id.group_id.is_none(),
        );
        let kind = if counted_completion {
            "download_completed"
        } else if req.event == Event::Started && req.left > 0 {
            "download_started"
        } else {
            return;
        };
        let name = self.access.username(uid);
        let mut e = event(self.now(), kind, name.as_deref());
        e.info_hash = Some(req.info_hash);
        e.group = id.group_id.and_then(|g| self.access.group_name(g));
        let e = LoggedEvent {
            record: e,
            group_id: id.group_id,
        };
        if self.announce_events.try_send(e).is_err() {
            tracing::debug!("announce event queue full; dropping a {kind} event");
        }
    }
}
