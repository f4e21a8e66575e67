//! Who may announce what: an in-memory index of passkeys, group memberships
//! and which one scope owns each published info-hash, so every announce is
//! checked with one read lock and no I/O ([`Access::authorize_announce`]).
//! Built from the store at start, then changed in place by each membership
//! or catalog change (a few map operations under the write lock, never a
//! rebuild). Also the per-user traffic tally taken from announces
//! ([`traffic`]). Must not do I/O itself.
//!
//! One owner per info-hash: the public catalog, or the one group it was
//! first published into. A group keeps its info-hashes after a withdrawal
//! and after the group is deleted (no one is a member then), so a group's
//! swarm is never reopened, by a re-publication or by an anonymous announce.

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
    /// The group that owns the torrent (none for public or unpublished).
    pub group_id: Option<i64>,
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
    /// group name -> group id (live groups only).
    pub groups: HashMap<String, i64>,
    /// group id -> member user ids.
    pub members: HashMap<i64, HashSet<i64>>,
    /// group id -> group name (live groups only).
    pub group_names: HashMap<i64, String>,
    /// info-hash -> the one scope that owns it: a group id, or
    /// [`PUBLIC_GROUP`] for the public catalog.
    pub owners: HashMap<InfoHash, i64>,
}

impl Index {
    /// Builds an index from store rows: (passkey, user id, username),
    /// (group id, group name, member id) and (info-hash, owner).
    pub fn build(
        passkeys: Vec<(String, i64, String)>,
        memberships: Vec<(i64, String, i64)>,
        owners: Vec<(InfoHash, i64)>,
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
        index.owners.extend(owners);
        index
    }
}

impl Access {
    /// Replaces the whole index (at start).
    pub fn replace(&self, index: Index) {
        self.any_published
            .store(!index.owners.is_empty(), Ordering::Release);
        *self.index.write() = index;
    }

    /// Adds a passkey (a new user).
    pub fn add_passkey(&self, passkey: String, user_id: i64, username: String) {
        let mut index = self.index.write();
        index.passkeys.insert(passkey, user_id);
        index.usernames.insert(user_id, username);
    }

    /// A new group, with its owner as first member.
    pub fn group_created(&self, group_id: i64, name: &str, owner: i64) {
        let mut index = self.index.write();
        index.groups.insert(name.to_owned(), group_id);
        index.group_names.insert(group_id, name.to_owned());
        index.members.entry(group_id).or_default().insert(owner);
    }

    /// A member joined.
    pub fn member_added(&self, group_id: i64, user_id: i64) {
        self.index
            .write()
            .members
            .entry(group_id)
            .or_default()
            .insert(user_id);
    }

    /// A member left or was removed.
    pub fn member_removed(&self, group_id: i64, user_id: i64) {
        if let Some(m) = self.index.write().members.get_mut(&group_id) {
            m.remove(&user_id);
        }
    }

    /// A group was deleted (its last member left). Its info-hashes stay
    /// owned by its id, which no group will have again.
    pub fn group_deleted(&self, group_id: i64) {
        let mut index = self.index.write();
        index.members.remove(&group_id);
        if let Some(name) = index.group_names.remove(&group_id) {
            index.groups.remove(&name);
        }
    }

    /// `h` was published into `owner` (a group id or [`PUBLIC_GROUP`]).
    pub fn published(&self, h: InfoHash, owner: i64) {
        self.index.write().owners.insert(h, owner);
        self.any_published.store(true, Ordering::Release);
    }

    /// `h` was withdrawn from the public catalog: nobody owns it any more.
    /// (A group's torrent stays the group's: see the module doc.)
    pub fn public_withdrawn(&self, h: &InfoHash) {
        let mut index = self.index.write();
        if index.owners.get(h) == Some(&PUBLIC_GROUP) {
            index.owners.remove(h);
        }
    }

    /// Swaps a user's passkey (rotation): the old one names nobody from now on.
    pub fn replace_passkey(&self, new: String, user_id: i64) {
        let mut index = self.index.write();
        // A user has one passkey: drop `old` and any other of theirs (one a
        // concurrent rotation installed after `old` was read). One scan;
        // rotations are rare.
        index.passkeys.retain(|_, u| *u != user_id);
        index.passkeys.insert(new, user_id);
    }

    /// A user's name.
    pub fn username(&self, user_id: i64) -> Option<String> {
        self.index.read().usernames.get(&user_id).cloned()
    }

    /// Decides whether an announce for `h`, with `passkey` when the URL
    /// carried one, is served. A torrent a group owns is served to that
    /// group's members only; a public or unpublished torrent to anyone (a
    /// given passkey must still be valid).
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
        let Some(&owner) = index.owners.get(h) else {
            return Ok(AnnounceIdentity {
                user_id,
                ..AnnounceIdentity::default()
            });
        };
        if owner == PUBLIC_GROUP {
            return Ok(AnnounceIdentity {
                user_id,
                published: true,
                group_id: None,
            });
        }
        match user_id {
            Some(uid) if index.is_member(owner, uid) => Ok(AnnounceIdentity {
                user_id,
                published: true,
                group_id: Some(owner),
            }),
            _ => Err(Denied::NotForYou),
        }
    }

    /// The scope that owns `h`: a group id or [`PUBLIC_GROUP`].
    pub fn owner(&self, h: &InfoHash) -> Option<i64> {
        self.index.read().owners.get(h).copied()
    }

    /// The group that owns `h`, if a group does (a private swarm).
    pub fn group_owner(&self, h: &InfoHash) -> Option<i64> {
        if !self.any_published.load(Ordering::Acquire) {
            return None;
        }
        self.index
            .read()
            .owners
            .get(h)
            .copied()
            .filter(|&g| g != PUBLIC_GROUP)
    }

    /// Whether a group owns `h` (a private swarm).
    pub fn is_group_only(&self, h: &InfoHash) -> bool {
        self.group_owner(h).is_some()
    }

    /// Whether `user_id` may see the torrent `h`: public or unpublished, or
    /// owned by a group they are a member of.
    pub fn may_see(&self, h: &InfoHash, user_id: Option<i64>) -> bool {
        match self.group_owner(h) {
            None => true,
            Some(g) => user_id.is_some_and(|u| self.is_member_of(g, u)),
        }
    }

    /// The id of the live group named `group`.
    pub fn group_id(&self, group: &str) -> Option<i64> {
        self.index.read().groups.get(group).copied()
    }

    /// Whether `user_id` is a member of the group named `group`.
    pub fn is_member(&self, group: &str, user_id: i64) -> bool {
        let index = self.index.read();
        index
            .groups
            .get(group)
            .is_some_and(|&g| index.is_member(g, user_id))
    }

    /// Whether `user_id` is a member of the group with id `group_id`.
    pub fn is_member_of(&self, group_id: i64, user_id: i64) -> bool {
        self.index.read().is_member(group_id, user_id)
    }

    /// The ids of the groups `user_id` is a member of.
    pub fn groups_of(&self, user_id: i64) -> Vec<i64> {
        let index = self.index.read();
        index
            .members
            .iter()
            .filter(|(_, m)| m.contains(&user_id))
            .map(|(g, _)| *g)
            .collect()
    }
}

impl Index {
    fn is_member(&self, group_id: i64, user_id: i64) -> bool {
        self.members
            .get(&group_id)
            .is_some_and(|m| m.contains(&user_id))
    }
}

impl Access {
    /// The name of the live group with id `group_id`.
    pub fn group_name(&self, group_id: i64) -> Option<String> {
        self.index.read().group_names.get(&group_id).cloned()
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
        let id = a.authorize_announce(&h, Some("pk-alice")).unwrap();
        assert_eq!((id.user_id, id.group_id), (Some(1), Some(10)));
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
                published: false,
                group_id: None,
            }
        );
        assert!(a.is_member("g", 1) && !a.is_member("g", 2) && !a.is_member("h", 1));
        assert!(a.is_group_only(&InfoHash([1; 20])));
        assert!(!a.is_group_only(&InfoHash([2; 20])) && !a.is_group_only(&InfoHash([3; 20])));
    }

    #[test]
    fn a_removed_member_loses_the_swarm_and_a_deleted_group_keeps_its_torrents() {
        let a = access();
        let h = InfoHash([1; 20]);
        a.member_added(10, 2);
        assert!(a.authorize_announce(&h, Some("pk-bob")).is_ok());
        a.member_removed(10, 2);
        assert_eq!(
            a.authorize_announce(&h, Some("pk-bob")),
            Err(Denied::NotForYou)
        );
        a.group_deleted(10);
        assert_eq!(a.group_id("g"), None);
        assert_eq!(
            a.authorize_announce(&h, Some("pk-alice")),
            Err(Denied::NotForYou)
        );
        assert_eq!(a.authorize_announce(&h, None), Err(Denied::NotForYou));
        // A group made again under the same name is another group.
        a.group_created(11, "g", 2);
        assert!(a.is_member("g", 2));
        assert_eq!(
            a.authorize_announce(&h, Some("pk-bob")),
            Err(Denied::NotForYou)
        );
    }

    #[test]
    fn only_a_public_withdrawal_frees_an_info_hash() {
        let a = access();
        a.public_withdrawn(&InfoHash([1; 20]));
        assert_eq!(a.group_owner(&InfoHash([1; 20])), Some(10));
        a.public_withdrawn(&InfoHash([2; 20]));
        assert!(
            !a.authorize_announce(&InfoHash([2; 20]), None)
                .unwrap()
                .published
        );
    }
}
