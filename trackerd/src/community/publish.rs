//! The catalog: publish a .torrent's metainfo into a group (or the public
//! catalog), list, search the groups one belongs to, withdraw, and hand out
//! personalised .torrent files and magnet links whose announce URL carries
//! the caller's passkey (same info dict bytes, so the same info-hash).
//!
//! An info-hash has one owner (see [`crate::catalog`]): publishing it
//! anywhere else is refused ([`CommunityError::OwnedElsewhere`]), and a
//! group torrent must be private with the group's name as `source`
//! ([`CommunityError::NotAGroupTorrent`]), as p2pd makes them.

use p2p_proto::api::CatalogEntry;
use p2p_proto::infohash::InfoHash;
use p2p_proto::magnet::Magnet;
use p2p_proto::metainfo::{Metainfo, TorrentExtras, encode_torrent};

use super::quotas::Adding;
use super::{Community, CommunityError, Session};
use crate::events::event;
use crate::store::community::{CatalogRecord, PUBLIC_GROUP, PublishOutcome};

/// Most search results.
pub const MAX_SEARCH_RESULTS: u32 = 200;
/// Longest search string, in bytes.
pub const MAX_QUERY_BYTES: usize = 256;

/// Where a torrent is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The public catalog (when `allow_public_torrents`).
    Public,
    /// A group, by name.
    Group(String),
}

/// A catalog entry as the API shows it.
fn entry(r: &CatalogRecord) -> CatalogEntry {
    CatalogEntry {
        info_hash: r.info_hash,
        name: r.name.clone(),
        group: r.group_name.clone(),
        total_length: r.total_length,
        piece_length: r.piece_length,
        file_count: r.file_count,
        private: r.private,
        source: r.source.clone(),
        publisher: r.publisher.clone(),
        added_at: r.added_at,
    }
}

async fn parse(bytes: Vec<u8>) -> Result<(Metainfo, Vec<u8>), CommunityError> {
    let (m, bytes) = tokio::task::spawn_blocking(move || (Metainfo::from_bytes(&bytes), bytes))
        .await
        .map_err(|e| CommunityError::Internal(e.to_string()))?;
    let m = m.map_err(|e| CommunityError::Invalid(format!("not a valid .torrent: {e}")))?;
    Ok((m, bytes))
}

impl Community {
    /// The group id of a scope the caller may read (and publish into).
    async fn scope_id(
        &self,
        s: &Session,
        scope: &Scope,
    ) -> Result<(i64, Option<String>), CommunityError> {
        match scope {
            Scope::Public if self.settings.allow_public_torrents => Ok((PUBLIC_GROUP, None)),
            Scope::Public => Err(CommunityError::Forbidden(
                "public torrents are disabled on this tracker; publish into a group".into(),
            )),
            Scope::Group(name) => {
                let g = self.group_record(name).await?;
                self.member_only(&g.name, s)?;
                Ok((g.id, Some(g.name)))
            }
        }
    }

    /// Publishes a .torrent's metainfo (never file data).
    pub async fn publish(
        &self,
        s: &Session,
        scope: &Scope,
        bytes: Vec<u8>,
    ) -> Result<CatalogEntry, CommunityError> {
        let (group_id, group_name) = self.scope_id(s, scope).await?;
        let (m, bytes) = parse(bytes).await?;
        // Ownership first: it is the reason that no edit of the torrent's
        // marks can lift. (The store checks again under its transaction.)
        if let Some(owner) = self.access.owner(&m.info_hash).filter(|&o| o != group_id) {
            return Err(owned_elsewhere(&m.info_hash, owner == PUBLIC_GROUP));
        }
        match &group_name {
            Some(g) => group_torrent_marks(g, m.info.private, m.info.source.as_deref())?,
            None => self.not_made_for_a_group(m.info.private, m.info.source.as_deref())?,
        }
        let now = self.now();
        let rec = CatalogRecord {
            info_hash: m.info_hash,
            group_id,
            group_name: group_name.clone(),
            name: m.info.name.clone(),
            total_length: m.info.total_length,
            piece_length: m.info.piece_length,
            file_count: m.info.files.iter().filter(|f| !f.pad).count() as u64,
            private: m.info.private,
            source: m.info.source.clone(),
            publisher_id: s.user_id,
            publisher: s.username.clone(),
            added_at: now,
            metainfo: bytes,
        };
        let w = self.writes.lock().await;
        // Quotas count new entries only: publishing one already here again
        // (a daemon does at each login) is the 409 below, not a refusal.
        let here = self.store.entries(m.info_hash).await?;
        if !here.iter().any(|e| e.group_id == group_id) {
            self.check_quota(s, Adding::Entry(rec.metainfo.len() as u64))
                .await?;
        }
        match self.store.publish(&rec).await? {
            PublishOutcome::Published => self.access.published(m.info_hash, group_id),
            PublishOutcome::AlreadyHere => {
                let place = group_name
                    .as_deref()
                    .map_or("the public catalog".to_owned(), |g| format!("group {g:?}"));
                return Err(CommunityError::Conflict(format!(
                    "{} is already published in {place}",
                    m.info_hash
                )));
            }
            PublishOutcome::OwnedElsewhere { public } => {
                return Err(owned_elsewhere(&m.info_hash, public));
            }
        }
        drop(w);
        let mut e = event(now, "publish", Some(&s.username));
        e.group = group_name;
        e.info_hash = Some(m.info_hash);
        e.detail = format!("name={:?}", m.info.name);
        self.log_scoped(e, group_id).await;
        Ok(entry(&rec))
    }

    /// A catalog's entries.
    pub async fn list(
        &self,
        s: &Session,
        scope: &Scope,
    ) -> Result<Vec<CatalogEntry>, CommunityError> {
        let (id, _) = self.scope_id(s, scope).await?;
        Ok(self.store.catalog(id).await?.iter().map(entry).collect())
    }

    /// Entries whose name contains `q`, in the caller's groups and the public catalog.
    pub async fn search(&self, s: &Session, q: &str) -> Result<Vec<CatalogEntry>, CommunityError> {
        if q.len() > MAX_QUERY_BYTES {
            return Err(CommunityError::Invalid(format!(
                "query longer than {MAX_QUERY_BYTES} bytes"
            )));
        }
        let mut ids: Vec<i64> = self
            .store
            .memberships()
            .await?
            .into_iter()
            .filter(|(_, _, uid)| *uid == s.user_id)
            .map(|(gid, _, _)| gid)
            .collect();
        if self.settings.allow_public_torrents {
            ids.push(PUBLIC_GROUP);
        }
        let found = self.store.search(q, &ids, MAX_SEARCH_RESULTS).await?;
        Ok(found.iter().map(entry).collect())
    }

    /// Withdraws an entry (its publisher, or the group's owner).
    pub async fn withdraw(
        &self,
        s: &Session,
        scope: &Scope,
        h: InfoHash,
    ) -> Result<(), CommunityError> {
        let (gid, group_name) = self.scope_id(s, scope).await?;
        let entry = self
            .store
            .entries(h)
            .await?
            .into_iter()
            .find(|e| e.group_id == gid)
            .ok_or_else(|| CommunityError::NotFound(format!("{h} is not published there")))?;
        let owner = match &group_name {
            Some(g) => self.group_record(g).await?.owner_id == s.user_id,
            None => false,
        };
        if entry.publisher_id != s.user_id && !owner {
            return Err(CommunityError::Forbidden(
                "only the publisher or the group's owner may withdraw a torrent".into(),
            ));
        }
        let w = self.writes.lock().await;
        if !self.store.withdraw(h, gid).await? {
            return Err(CommunityError::NotFound(format!(
                "{h} is not published there"
            )));
        }
        if gid == PUBLIC_GROUP {
            self.access.public_withdrawn(&h);
        }
        drop(w);
        let mut e = event(self.now(), "withdraw", Some(&s.username));
        e.group = group_name;
        e.info_hash = Some(h);
        self.log_scoped(e, gid).await;
        Ok(())
    }

    /// The entry of `h` the caller may fetch (public, or in one of their groups).
    pub(crate) async fn visible_entry(
        &self,
        s: &Session,
        h: InfoHash,
    ) -> Result<CatalogRecord, CommunityError> {
        let none =
            || CommunityError::NotFound(format!("torrent {h} is not in any catalog you can see"));
        // Decided by the one owner, before reading any entry.
        if !self.access.may_see(&h, Some(s.user_id)) {
            return Err(none());
        }
        let entries = self.store.entries(h).await?;
        entries
            .into_iter()
            .find(|e| match e.group_id {
                PUBLIC_GROUP => self.settings.allow_public_torrents,
                g => self.access.is_member_of(g, s.user_id),
            })
            .ok_or_else(none)
    }

    /// Records an event about a scope (a group id or [`PUBLIC_GROUP`]).
    pub(super) async fn log_scoped(&self, e: crate::store::community::EventRecord, scope: i64) {
        match scope {
            PUBLIC_GROUP => self.log(e).await,
            g => self.log_group(e, g).await,
        }
    }

    /// Refuses a public publish of a torrent made for a live group (private,
    /// with the group's name as `source`): it belongs in that group.
    fn not_made_for_a_group(
        &self,
        private: bool,
        source: Option<&str>,
    ) -> Result<(), CommunityError> {
        let Some(source) = source.filter(|_| private) else {
            return Ok(());
        };
        match self.access.group_id(&source.to_ascii_lowercase()) {
            Some(_) => Err(CommunityError::OwnedElsewhere(format!(
                "this private torrent is made for group {:?} (its source); it is not published publicly",
                source.chars().take(64).collect::<String>()
            ))),
            None => Ok(()),
        }
    }

    /// The announce URL for a user.
    pub fn announce_url(&self, base: &str, passkey: &str) -> String {
        let base = if self.settings.public_url.is_empty() {
            base
        } else {
            &self.settings.public_url
        };
        format!("{}/announce/{passkey}", base.trim_end_matches('/'))
    }

    /// A personalised .torrent: the published info dict, unchanged, with the
    /// caller's passkey announce URL. Returns (name, bytes).
    pub async fn personal_torrent(
        &self,
        s: &Session,
        h: InfoHash,
        base: &str,
    ) -> Result<(String, Vec<u8>), CommunityError> {
        let entry = self.visible_entry(s, h).await?;
        let (m, _) = parse(entry.metainfo).await?;
        let extras = TorrentExtras {
            trackers: vec![vec![self.announce_url(base, &s.passkey)]],
            comment: m.comment.clone(),
            created_by: m.created_by.clone(),
            creation_date: m.creation_date,
            ..TorrentExtras::default()
        };
        Ok((m.info.name.clone(), encode_torrent(&m.raw_info, &extras)))
    }

    /// A magnet link with the caller's passkey announce URL.
    pub async fn magnet(
        &self,
        s: &Session,
        h: InfoHash,
        base: &str,
    ) -> Result<String, CommunityError> {
        let entry = self.visible_entry(s, h).await?;
        let magnet = Magnet {
            info_hash: h,
            display_name: Some(entry.name),
            trackers: vec![self.announce_url(base, &s.passkey)],
            exact_length: Some(entry.total_length),
            peers: Vec::new(),
            web_seeds: Vec::new(),
            select_only: None,
        };
        Ok(magnet.to_string())
    }
}

/// The refusal of an info-hash another scope owns. It does not say which
/// group: the publisher may not be in it.
fn owned_elsewhere(h: &InfoHash, public: bool) -> CommunityError {
    CommunityError::OwnedElsewhere(format!(
        "{h} belongs to {}; a torrent is published in one place only, and a group's \
         torrent stays the group's",
        if public {
            "the public catalog"
        } else {
            "a group"
        }
    ))
}

/// Checks that a torrent published into `group` is marked as that group's:
/// the BEP 27 private flag (so clients use no DHT, PEX or LSD and ask only
/// the tracker for peers) and `source` equal to the group's name, any
/// case (p2pd sets the group folder's name). The refusal names what is
/// missing.
fn group_torrent_marks(
    group: &str,
    private: bool,
    source: Option<&str>,
) -> Result<(), CommunityError> {
    let mut missing = Vec::new();
    if !private {
        missing.push("the private flag (\"private\": 1 in the info dictionary)".to_owned());
    }
    match source {
        Some(s) if s.eq_ignore_ascii_case(group) => {}
        Some(s) => missing.push(format!(
            "source {group:?} (it has source {:?})",
            s.chars().take(64).collect::<String>()
        )),
        None => missing.push(format!("source {group:?}")),
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(CommunityError::NotAGroupTorrent(format!(
        "a torrent published into group {group:?} must be private and carry source {group:?}; \
         this one lacks {} (p2pd makes group torrents so; by hand: p2pctl create --private \
         --source {group})",
        missing.join(" and ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_torrent_needs_the_private_flag_and_the_group_as_source() {
        assert!(group_torrent_marks("team", true, Some("team")).is_ok());
        assert!(group_torrent_marks("team", true, Some("Team")).is_ok());
        let both = group_torrent_marks("team", false, None)
            .unwrap_err()
            .to_string();
        assert!(
            both.contains("lacks the private flag") && both.contains("and source \"team\""),
            "{both}"
        );
        let wrong = group_torrent_marks("team", true, Some("other"))
            .unwrap_err()
            .to_string();
        assert!(
            wrong.contains("lacks source \"team\" (it has source \"other\")"),
            "{wrong}"
        );
    }
}
