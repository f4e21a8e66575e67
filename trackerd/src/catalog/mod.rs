//! Who may announce what: an in-memory index of passkeys, group memberships
//! and which groups each info-hash is published in, so every announce is
//! checked with one read lock and no I/O ([`Access::authorize_announce`]).
//! The index is rebuilt from the store after every membership or catalog
//! change. Also the per-user traffic tally taken from announces
//! ([`traffic`]). Must not do I/O itself.

pub mod traffic;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use p2p_proto::infohash::InfoHash;
use parking_lot::RwLock;

use crate::store::community::PUBLIC_GROUP;

/// Refusal for an unknown passkey.
pub const UNKNOWN_PASSKEY: &str = "unknown passkey";

/// Why an announce is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The passkey names no user.
    UnknownPasskey,
    /// A group torrent, and the announcer is not a member (or gave no
    /// passkey). Answered exactly as an unknown torrent, so that a guessed
    /// info-hash does not tell that a group torrent exists.
    NotForYou,
}

/// Who is announcing, as far as the catalog knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnnounceIdentity {
    /// The user the passkey names (none without a passkey).
    pub user_id: Option<i64>,
    /// Whether the torrent is in the catalog (public or a group); such
    /// torrents are admitted even in `catalog` mode.
    pub published: bool,
}

/// The index behind announce checks and event visibility.
#[derive(Debug, Default)]
pub struct Access {
    index: RwLock<Index>,
    /// False while nothing is published: plain announces skip the lock.
    any_published: AtomicBool,
}

/// A snapshot of what the store holds.
#[derive(Debug, Default, Clone)]
pub struct Index {
    /// passkey -> user id.
    pub passkeys: HashMap<String, i64>,
    /// user id -> username.
    pub usernames: HashMap<i64, String>,
    /// group name -> group id.
    pub groups: HashMap<String, i64>,
    /// group id -> member user ids.
    pub members: HashMap<i64, HashSet<i64>>,
    /// group id -> group name.
    pub group_names: HashMap<i64, String>,
    /// info-hash -> groups it is published in ([`PUBLIC_GROUP`] for public).
    pub scopes: HashMap<InfoHash, Vec<i64>>,
}

impl Index {
    /// Builds an index from store rows.
    pub fn build(
        passkeys: Vec<(String, i64, String)>,
        memberships: Vec<(i64, String, i64)>,
        scopes: Vec<(InfoHash, i64)>,
    ) -> Index {
        let mut index = Index::default();
        for (pk, uid, name) in passkeys {
            index.passkeys.insert(pk, uid);
            index.usernames.insert(uid, name);
        }
        for (gid, name, uid) in memberships {
            index.group_names.insert(gid, name.clone());
            index.groups.insert(name, gid);
            index.members.entry(gid).or_default().insert(uid);
        }
        for (h, gid) in scopes {
            index.scopes.entry(h).or_default().push(gid);
        }
        index
    }
}

impl Access {
    /// Replaces the whole index.
    pub fn replace(&self, index: Index) {
        self.any_published
            .store(!index.scopes.is_empty(), Ordering::Release);
        *self.index.write() = index;
    }

    /// Adds a passkey (a new user).
    pub fn add_passkey(&self, passkey: String, user_id: i64, username: String) {
        let mut index = self.index.write();
        index.passkeys.insert(passkey, user_id);
        index.usernames.insert(user_id, username);
    }

    /// Swaps a user's passkey (rotation): the old one names nobody from now on.
    pub fn replace_passkey(&self, old: &str, new: String, user_id: i64) {
        let mut index = self.index.write();
        if index.passkeys.get(old) == Some(&user_id) {
            index.passkeys.remove(old);
        }
        index.passkeys.insert(new, user_id);
    }

    /// A user's name.
    pub fn username(&self, user_id: i64) -> Option<String> {
        self.index.read().usernames.get(&user_id).cloned()
    }

    /// Decides whether an announce for `h`, with `passkey` when the URL
    /// carried one, is served. A torrent published in groups only is served
    /// to members of one of them; a public or unpublished torrent to anyone
    /// (a given passkey must still be valid).
    pub fn authorize_announce(
        &self,
        h: &InfoHash,
        passkey: Option<&str>,
    ) -> Result<AnnounceIdentity, Denied> {
        if passkey.is_none() && !self.any_published.load(Ordering::Acquire) {
            return Ok(AnnounceIdentity::default());
        }
        let index = self.index.read();
        let user_id = match passkey {
            Some(pk) => Some(*index.passkeys.get(pk).ok_or(Denied::UnknownPasskey)?),
            None => None,
        };
        let Some(scopes) = index.scopes.get(h) else {
            return Ok(AnnounceIdentity {
                user_id,
                published: false,
            });
        };
        let open = scopes.contains(&PUBLIC_GROUP);
        let member = |uid: i64| {
            scopes
                .iter()
                .any(|g| index.members.get(g).is_some_and(|m| m.contains(&uid)))
        };
        match user_id {
            _ if open => {}
            None => return Err(Denied::NotForYou),
            Some(uid) if !member(uid) => return Err(Denied::NotForYou),
            Some(_) => {}
        }
        Ok(AnnounceIdentity {
            user_id,
            published: true,
        })
    }

    /// Whether a torrent is published in groups only (a private swarm).
    pub fn is_group_only(&self, h: &InfoHash) -> bool {
        self.any_published.load(Ordering::Acquire)
            && self
                .index
                .read()
                .scopes
                .get(h)
                .is_some_and(|s| !s.contains(&PUBLIC_GROUP))
    }

    /// The group a torrent belongs to, if it is published in groups only.
    pub fn private_group_of(&self, h: &InfoHash) -> Option<String> {
        let index = self.index.read();
        let scopes = index.scopes.get(h)?;
        if scopes.contains(&PUBLIC_GROUP) {
            return None;
        }
        scopes
            .iter()
            .find_map(|g| index.group_names.get(g).cloned())
    }

    /// Whether `user_id` is a member of the group named `group`.
    pub fn is_member(&self, group: &str, user_id: i64) -> bool {
        let index = self.index.read();
        index
            .groups
            .get(group)
            .and_then(|g| index.members.get(g))
            .is_some_and(|m| m.contains(&user_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> Access {
        let a = Access::default();
        a.replace(Index::build(
            vec![
                ("pk-alice".into(), 1, "alice".into()),
                ("pk-bob".into(), 2, "bob".into()),
            ],
            vec![(10, "g".into(), 1)],
            vec![(InfoHash([1; 20]), 10), (InfoHash([2; 20]), PUBLIC_GROUP)],
        ));
        a
    }

    #[test]
    fn a_group_torrent_is_served_to_members_only() {
        let a = access();
        let h = InfoHash([1; 20]);
        assert_eq!(
            a.authorize_announce(&h, Some("pk-alice")).unwrap().user_id,
            Some(1)
        );
        assert_eq!(
            a.authorize_announce(&h, Some("pk-bob")),
            Err(Denied::NotForYou)
        );
        assert_eq!(a.authorize_announce(&h, None), Err(Denied::NotForYou));
        assert_eq!(
            a.authorize_announce(&h, Some("nope")),
            Err(Denied::UnknownPasskey)
        );
    }

    #[test]
    fn public_and_unpublished_torrents_are_served_to_anyone() {
        let a = access();
        let public = a.authorize_announce(&InfoHash([2; 20]), None).unwrap();
        assert!(public.published);
        let other = a
            .authorize_announce(&InfoHash([3; 20]), Some("pk-bob"))
            .unwrap();
        assert_eq!(
            other,
            AnnounceIdentity {
                user_id: Some(2),
                published: false
            }
        );
        assert!(a.is_member("g", 1) && !a.is_member("g", 2) && !a.is_member("h", 1));
        assert!(a.is_group_only(&InfoHash([1; 20])));
        assert!(!a.is_group_only(&InfoHash([2; 20])) && !a.is_group_only(&InfoHash([3; 20])));
    }
}
