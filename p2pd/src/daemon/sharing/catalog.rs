//! The catalog entries of watched-folder items: published when an item is
//! shared while logged in (and all at once at a login), withdrawn when it
//! leaves the folder. Failures never stop sharing: they are logged.

use p2p_proto::infohash::InfoHash;
use p2p_proto::metainfo::{TorrentExtras, encode_torrent};

use super::{SharedItem, Sharing};

/// HTTP status of "already in the catalog".
const CONFLICT: u16 = 409;
/// HTTP status of "not in the catalog".
const NOT_FOUND: u16 = 404;

impl Sharing {
    /// Publishes one item into its group's catalog (or the public one) when
    /// logged in. Already there is fine.
    pub async fn publish(&self, item: &SharedItem) {
        let (Some(token), Some(tracker), Some(api)) =
            (self.token(), self.tracker(), self.api.as_ref())
        else {
            return;
        };
        let meta = &item.metainfo;
        let bytes = encode_torrent(
            &meta.raw_info,
            &TorrentExtras {
                trackers: vec![vec![tracker]],
                ..Default::default()
            },
        );
        let place = item.group.as_deref().unwrap_or("the public catalog");
        match api.publish(&token, item.group.as_deref(), &bytes).await {
            Ok(_) => {
                tracing::info!(torrent = %meta.info.name, info_hash = %meta.info_hash, "published in {place}")
            }
            Err(e) if e.status() == Some(CONFLICT) => {}
            Err(e) => tracing::warn!(torrent = %meta.info.name, "cannot publish in {place}: {e}"),
        }
    }

    /// Withdraws an item from the catalog when logged in.
    pub async fn withdraw(&self, info_hash: InfoHash, group: Option<&str>) {
        let (Some(token), Some(api)) = (self.token(), self.api.as_ref()) else {
            return;
        };
        let place = group.unwrap_or("the public catalog");
        match api.withdraw(&token, group, info_hash).await {
            Ok(_) => tracing::info!(%info_hash, "withdrawn from {place}"),
            Err(e) if e.status() == Some(NOT_FOUND) => {}
            Err(e) => tracing::warn!(%info_hash, "cannot withdraw from {place}: {e}"),
        }
    }

    /// Publishes every current item (at a login).
    pub async fn publish_all(&self) {
        for item in self.snapshot() {
            self.publish(&item).await;
        }
    }
}
