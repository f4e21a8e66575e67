//! What the web dashboard (issue 14) reads beyond the API, under the same
//! visibility rules: pages of the catalog in the scopes a viewer may list,
//! a torrent's share page, and the admin's orders (remove any catalog
//! entry, end any session). Anonymous viewers (`None`) see the public
//! catalog only; admins (`accounts.admins`) see every scope.

use p2p_proto::infohash::InfoHash;

use super::{Community, CommunityError, Session};
use crate::events::event;
use crate::store::browse::{BrowsePage, BrowseQuery};
use crate::store::community::{CatalogRecord, PUBLIC_GROUP};

impl Community {
    /// Whether `viewer` is a logged-in admin.
    pub fn is_admin_viewer(&self, viewer: Option<&Session>) -> bool {
        viewer.is_some_and(|s| self.is_admin(s))
    }

    /// The scopes `viewer` may list: the public catalog (when allowed) and
    /// their groups; `None` (every scope) for an admin.
    pub fn visible_scopes(&self, viewer: Option<&Session>) -> Option<Vec<i64>> {
        if self.is_admin_viewer(viewer) {
            return None;
        }
        let mut scopes = viewer.map_or_else(Vec::new, |s| self.access.groups_of(s.user_id));
        if self.settings.allow_public_torrents {
            scopes.push(PUBLIC_GROUP);
        }
        Some(scopes)
    }

    /// A page of the catalog as `viewer` may see it (`q.scopes` is replaced).
    pub async fn browse(
        &self,
        viewer: Option<&Session>,
        mut q: BrowseQuery,
    ) -> Result<BrowsePage, CommunityError> {
        q.scopes = self.visible_scopes(viewer);
        Ok(self.store.browse(&q).await?)
    }

    /// The info-hashes of every entry `viewer` may see whose name contains `q`.
    pub async fn browse_hashes(
        &self,
        viewer: Option<&Session>,
        q: &str,
    ) -> Result<Vec<InfoHash>, CommunityError> {
        let scopes = self.visible_scopes(viewer);
        Ok(self.store.browse_hashes(scopes.as_deref(), q).await?)
    }

    /// The entries of `hashes` (a page found by
    /// [`Community::browse_hashes`]) that `viewer` may still see, in the
    /// order of `hashes`.
    pub async fn browse_entries(
        &self,
        viewer: Option<&Session>,
        hashes: &[InfoHash],
    ) -> Result<Vec<CatalogRecord>, CommunityError> {
        let scopes = self.visible_scopes(viewer);
        let mut found = self.store.browse_entries(hashes).await?;
        found.retain(|e| scopes.as_ref().is_none_or(|s| s.contains(&e.group_id)));
        found.sort_by_key(|e| hashes.iter().position(|h| *h == e.info_hash));
        Ok(found)
    }

    /// The entry of `h` for its share page (with its .torrent bytes): a
    /// public torrent for anyone, a group's for its members and admins;
    /// to anyone else, the same `NotFound` as an unknown torrent.
    pub async fn share_entry(
        &self,
        viewer: Option<&Session>,
        h: InfoHash,
    ) -> Result<CatalogRecord, CommunityError> {
        let none = || CommunityError::NotFound(format!("no torrent {h} here"));
        let admin = self.is_admin_viewer(viewer);
        if !admin && !self.access.may_see(&h, viewer.map(|s| s.user_id)) {
            return Err(none());
        }
        let entries = self.store.entries(h).await?;
        entries
            .into_iter()
            .find(|e| match e.group_id {
                PUBLIC_GROUP => self.settings.allow_public_torrents || admin,
                g => admin || viewer.is_some_and(|s| self.access.is_member_of(g, s.user_id)),
            })
            .ok_or_else(none)
    }

    fn admin_only(&self, s: &Session, what: &str) -> Result<(), CommunityError> {
        if self.is_admin(s) {
            Ok(())
        } else {
            Err(CommunityError::Forbidden(format!(
                "only an admin may {what}"
            )))
        }
    }

    /// Removes a catalog entry wherever it is (admins only), with a
    /// `withdraw` event as when its publisher withdraws it.
    pub async fn admin_remove(&self, s: &Session, h: InfoHash) -> Result<(), CommunityError> {
        self.admin_only(s, "remove any catalog entry")?;
        let entry = self
            .store
            .entries(h)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| CommunityError::NotFound(format!("no torrent {h} here")))?;
        let w = self.writes.lock().await;
        if !self.store.withdraw(h, entry.group_id).await? {
            return Err(CommunityError::NotFound(format!("no torrent {h} here")));
        }
        if entry.group_id == PUBLIC_GROUP {
            self.access.public_withdrawn(&h);
        }
        drop(w);
        let mut e = event(self.now(), "withdraw", Some(&s.username));
        e.group = entry.group_name;
        e.info_hash = Some(h);
        e.detail = "by an admin".to_owned();
        self.log_scoped(e, entry.group_id).await;
        Ok(())
    }

    /// Ends a user's session (admins only). The `logout` event ends the
    /// user's streams at once, as their own logout would.
    pub async fn admin_end_session(
        &self,
        s: &Session,
        username: &str,
    ) -> Result<(), CommunityError> {
        self.admin_only(s, "end another user's session")?;
        let (uid, name) = self.user_id(username).await?;
        if !self.store.close_user_session(uid).await? {
            return Err(CommunityError::NotFound(format!("{name} has no session")));
        }
        let mut e = event(self.now(), "logout", Some(&name));
        e.detail = format!("ended by admin {}", s.username);
        self.log(e).await;
        Ok(())
    }
}
