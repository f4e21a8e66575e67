//! Per-user quotas (`[quotas]` in the configuration): groups owned, catalog
//! entries and bytes of .torrent stored. Checked under the `writes` mutex
//! that orders every catalog and membership change, so parallel requests
//! of one user cannot pass the check together.

use super::{Community, CommunityError, Session};

/// What a request would add to the caller's holdings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Adding {
    /// One group owned.
    Group,
    /// One catalog entry of this many .torrent bytes.
    Entry(u64),
}

impl Community {
    /// Refuses (`QuotaExceeded`, naming the quota) when `adding` would take
    /// the caller past a quota. Call with the `writes` mutex held.
    pub(super) async fn check_quota(
        &self,
        s: &Session,
        adding: Adding,
    ) -> Result<(), CommunityError> {
        let q = &self.quotas;
        let used = self.store.usage(s.user_id).await?;
        let over = |limit: u64, now: u64, more: u64| limit > 0 && now.saturating_add(more) > limit;
        let refused = match adding {
            Adding::Group if over(q.max_groups_owned, used.groups_owned, 1) => Some(format!(
                "you own {} groups, the most one user may own (quotas.max_groups_owned = {})",
                used.groups_owned, q.max_groups_owned
            )),
            Adding::Group => None,
            Adding::Entry(_) if over(q.max_catalog_entries, used.catalog_entries, 1) => {
                Some(format!(
                    "you have published {} catalog entries, the most one user may have \
                     (quotas.max_catalog_entries = {}); withdraw some first",
                    used.catalog_entries, q.max_catalog_entries
                ))
            }
            Adding::Entry(bytes) if over(q.max_torrent_bytes_stored, used.torrent_bytes, bytes) => {
                Some(format!(
                    "your catalog entries hold {} bytes of .torrent; this one ({bytes} bytes) \
                     would pass the {} bytes one user may store (quotas.max_torrent_bytes_stored)",
                    used.torrent_bytes, q.max_torrent_bytes_stored
                ))
            }
            Adding::Entry(_) => None,
        };
        match refused {
            Some(m) => Err(CommunityError::QuotaExceeded(m)),
            None => Ok(()),
        }
    }
}
