//! A public torrent's DHT lookups (BEP 5): get_peers for its info-hash,
//! the peers found become candidates to dial, then announce_peer with our
//! TCP port, again every [`REANNOUNCE`]; sooner while a download has no
//! peer at all.
//!
//! Never runs for a private torrent: `Shared::dht` is `None` there.

use std::sync::Arc;
use std::time::Duration;

use p2p_proto::ipc::PeerSource;
use tokio::time::sleep;

use super::torrent::Shared;

/// Time between two lookups of a torrent that has peers or seeds
/// (libtorrent's default DHT announce interval; peers a node stores for
/// an info-hash expire after about 30 minutes).
const REANNOUNCE: Duration = Duration::from_secs(15 * 60);
/// First wait before looking again for a download with no peer; it
/// doubles up to [`LONGEST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(5);
const LONGEST_RETRY: Duration = Duration::from_secs(5 * 60);

/// Runs until the torrent is cancelled.
pub(crate) async fn run(shared: &Arc<Shared>) {
    let Some(dht) = shared.dht.clone() else {
        shared.cancel.cancelled().await;
        return;
    };
    let info_hash = shared.meta.info_hash;
    let mut retry = FIRST_RETRY;
    loop {
        let lookup = dht.lookup(info_hash, Some(shared.listen_port), |peers| {
            shared.add_candidates(PeerSource::Dht, peers);
        });
        let found = tokio::select! {
            _ = shared.cancel.cancelled() => return,
            n = lookup => n,
        };
        let starving = {
            let st = shared.lock();
            st.peers.is_empty() && !st.picker.is_done()
        };
        tracing::debug!(torrent = %shared.meta.info.name, found, starving, "DHT lookup done");
        let wait = if starving {
            let w = retry;
            retry = (retry * 2).min(LONGEST_RETRY);
            w
        } else {
            retry = FIRST_RETRY;
            REANNOUNCE
        };
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            _ = sleep(wait) => {}
        }
    }
}
