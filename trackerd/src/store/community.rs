//! The persistence contract for accounts, sessions, groups, the group
//! catalog, per-user counters and the event log. Records are plain data;
//! rules (who may do what) live in [`crate::community`]. Multi-row changes
//! are one transaction each, so nothing is ever half-written.

use std::fmt::Debug;

use p2p_proto::infohash::InfoHash;

use super::StoreFuture;
pub use crate::catalog::traffic::TrafficDelta;

/// The group id of the public catalog (torrents in no group).
pub const PUBLIC_GROUP: i64 = 0;

/// A passkey as stored: its SHA-256 and a copy sealed with the server key
/// (see [`crate::accounts::passkeys`]); never the passkey itself. All hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// SHA-256 of the passkey (64 hex), unique.
    pub hash: String,
    /// The random nonce its pad was made from (32 hex).
    pub nonce: String,
    /// The passkey XOR its pad (32 hex).
    pub sealed: String,
}

/// A user account.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Row id.
    pub id: i64,
    /// Lowercase name.
    pub username: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Secret announce key, as stored.
    pub passkey: StoredPasskey,
    /// Unix seconds.
    pub created_at: i64,
    /// Bytes uploaded, from announces.
    pub uploaded: u64,
    /// Bytes downloaded, from announces.
    pub downloaded: u64,
}

impl Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A live session, joined with its user.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The user's id.
    pub user_id: i64,
    /// The user's name.
    pub username: String,
    /// The user's passkey, as stored.
    pub passkey: StoredPasskey,
    /// Where the session logged in from.
    pub address: String,
    /// Unix seconds of the login.
    pub created_at: i64,
    /// Unix seconds of the last renewal.
    pub last_seen: i64,
}

impl Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("username", &self.username)
            .field("address", &self.address)
            .field("last_seen", &self.last_seen)
            .finish_non_exhaustive()
    }
}

/// What a login attempt did to the sessions table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOutcome {
    /// The session was created (replacing any old one when taking over).
    Created,
    /// Another session is live and takeover was not asked for.
    Busy {
        /// Where it logged in from.
        address: String,
        /// Unix seconds of its login.
        since: i64,
    },
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// Row id.
    pub id: i64,
    /// Lowercase name.
    pub name: String,
    /// Owner's id.
    pub owner_id: i64,
    /// Owner's name.
    pub owner: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Number of members (owner included).
    pub members: u64,
}

/// A member or a pending request: who and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// User id.
    pub user_id: i64,
    /// Name.
    pub username: String,
    /// Unix seconds of joining (or of the request).
    pub since: i64,
}

/// What leaving a group did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaveOutcome {
    /// The user was not a member.
    NotMember,
    /// The user left; the group goes on with the same owner.
    Left,
    /// The owner left; ownership passed to this member (longest-standing).
    OwnerPassed(String),
    /// The last member left; the group and its catalog were deleted.
    Deleted,
}

/// What publishing an info-hash into a scope did. An info-hash has one
/// owner: the group it was first published into (for good, see
/// [`crate::catalog`]) or the public catalog (until withdrawn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Stored; the scope owns the info-hash.
    Published,
    /// Already in this scope's catalog.
    AlreadyHere,
    /// Another scope owns the info-hash: the public catalog (`public`) or
    /// another group.
    OwnedElsewhere {
        /// The owner is the public catalog.
        public: bool,
    },
}

/// A published torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRecord {
    /// Its info-hash.
    pub info_hash: InfoHash,
    /// Group id, or [`PUBLIC_GROUP`].
    pub group_id: i64,
    /// Group name (`None` for public).
    pub group_name: Option<String>,
    /// Torrent name.
    pub name: String,
    /// Bytes of content.
    pub total_length: u64,
    /// Bytes per piece.
    pub piece_length: u64,
    /// Files (pad files excluded).
    pub file_count: u64,
    /// BEP 27 private flag.
    pub private: bool,
    /// `source` key of the info dict.
    pub source: Option<String>,
    /// Publisher's id.
    pub publisher_id: i64,
    /// Publisher's name (filled in on reads).
    pub publisher: String,
    /// Unix seconds.
    pub added_at: i64,
    /// The .torrent as published (empty in listings).
    pub metainfo: Vec<u8>,
}

/// What one user holds in the store, checked against the quotas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Groups they own.
    pub groups_owned: u64,
    /// Catalog entries they published.
    pub catalog_entries: u64,
    /// Bytes of .torrent files in those entries.
    pub torrent_bytes: u64,
}

/// One line of the event log (the API's type: the store keeps what it shows).
pub use p2p_proto::api::EventRecord;

/// An event as stored: the line the API shows, and the id of the group it
/// concerns. Who may see it is decided by the id, not the name, so a group
/// made again under a deleted group's name does not inherit its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// The line.
    pub record: EventRecord,
    /// The group concerned (none for events about no group).
    pub group_id: Option<i64>,
}

/// Persistence for accounts, groups, catalog and events.
pub trait CommunityStore: Send + Sync + Debug {
    /// Creates a user; `None` when the name is taken.
    fn create_user<'a>(
        &'a self,
        username: &'a str,
        password_hash: &'a str,
        passkey: &'a StoredPasskey,
        now: i64,
    ) -> StoreFuture<'a, Option<i64>>;
    /// A user by (lowercase) name.
    fn user_by_name<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<UserRecord>>;
    /// Replaces a password hash.
    fn set_password<'a>(&'a self, user_id: i64, password_hash: &'a str) -> StoreFuture<'a, ()>;
    /// Every (stored passkey, user id, username), users with a clear
    /// passkey not sealed yet left out (see [`CommunityStore::legacy_passkeys`]).
    fn passkeys(&self) -> StoreFuture<'_, Vec<(StoredPasskey, i64, String)>>;
    /// Replaces a user's passkey (rotation, or sealing a clear one, which
    /// is then erased); `false` when there is no such user.
    fn set_passkey<'a>(&'a self, user_id: i64, passkey: &'a StoredPasskey)
    -> StoreFuture<'a, bool>;
    /// The (user id, passkey) of users whose passkey a database from before
    /// migration 0003 kept in clear, until [`CommunityStore::set_passkey`] seals it.
    fn legacy_passkeys(&self) -> StoreFuture<'_, Vec<(i64, String)>>;
    /// Makes what was erased unrecoverable from the files (after sealing
    /// clear passkeys): the write-ahead log is folded into the database,
    /// overwriting the old pages, and emptied.
    fn scrub(&self) -> StoreFuture<'_, ()>;
    /// Adds traffic increases, in one transaction.
    fn add_traffic<'a>(&'a self, deltas: &'a [TrafficDelta]) -> StoreFuture<'a, ()>;
    /// A user's (uploaded, downloaded) in torrents no group owns.
    fn public_traffic(&self, user_id: i64) -> StoreFuture<'_, (u64, u64)>;
    /// How many of a user's catalog entries are in these groups
    /// ([`PUBLIC_GROUP`] for the public catalog).
    fn shared_count_in<'a>(&'a self, user_id: i64, group_ids: &'a [i64]) -> StoreFuture<'a, u64>;

    /// Creates a session unless a session with `last_seen >= cutoff` exists
    /// (then `Busy`), or replaces it when `takeover`.
    fn open_session<'a>(
        &'a self,
        user_id: i64,
        token_hash: &'a str,
        address: &'a str,
        now: i64,
        cutoff: i64,
        takeover: bool,
    ) -> StoreFuture<'a, SessionOutcome>;
    /// Renews a live session (`last_seen >= cutoff`) and returns it.
    fn touch_session<'a>(
        &'a self,
        token_hash: &'a str,
        now: i64,
        cutoff: i64,
    ) -> StoreFuture<'a, Option<SessionRecord>>;
    /// Ends a session; `false` when there was none.
    fn close_session<'a>(&'a self, token_hash: &'a str) -> StoreFuture<'a, bool>;
    /// Opens a browser session (apart from the user's one daemon session).
    fn open_web_session<'a>(
        &'a self,
        user_id: i64,
        token_hash: &'a str,
        address: &'a str,
        now: i64,
        cutoff: i64,
    ) -> StoreFuture<'a, ()>;
    /// Ends a user's sessions, daemon and browser (an admin's order);
    /// `false` when there was none.
    fn close_user_session(&self, user_id: i64) -> StoreFuture<'_, bool>;
    /// Live sessions.
    fn online(&self, cutoff: i64) -> StoreFuture<'_, Vec<SessionRecord>>;
    /// Deletes sessions not renewed since `cutoff`; returns their usernames.
    fn expire_sessions(&self, cutoff: i64) -> StoreFuture<'_, Vec<String>>;

    /// Creates a group owned (and joined) by `owner_id`; `None` when the name is taken.
    fn create_group<'a>(
        &'a self,
        name: &'a str,
        owner_id: i64,
        now: i64,
    ) -> StoreFuture<'a, Option<i64>>;
    /// Every group, by name.
    fn groups(&self) -> StoreFuture<'_, Vec<GroupRecord>>;
    /// One group by name.
    fn group<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<GroupRecord>>;
    /// Records a join request; `false` when one is already pending.
    fn add_request(&self, group_id: i64, user_id: i64, now: i64) -> StoreFuture<'_, bool>;
    /// Pending requests, oldest first.
    fn requests(&self, group_id: i64) -> StoreFuture<'_, Vec<MemberRecord>>;
    /// Turns a pending request into membership; `false` when there was none.
    fn accept_request(&self, group_id: i64, user_id: i64, now: i64) -> StoreFuture<'_, bool>;
    /// Drops a pending request; `false` when there was none.
    fn reject_request(&self, group_id: i64, user_id: i64) -> StoreFuture<'_, bool>;
    /// Members, longest-standing first.
    fn members(&self, group_id: i64) -> StoreFuture<'_, Vec<MemberRecord>>;
    /// Removes a member, passing ownership on or deleting an empty group.
    fn leave_group(&self, group_id: i64, user_id: i64) -> StoreFuture<'_, LeaveOutcome>;
    /// Every (group id, group name, user id) membership.
    fn memberships(&self) -> StoreFuture<'_, Vec<(i64, String, i64)>>;

    /// Publishes unless another scope owns the info-hash or it is already
    /// here; publishing into a group records the group as its owner for good.
    fn publish<'a>(&'a self, rec: &'a CatalogRecord) -> StoreFuture<'a, PublishOutcome>;
    /// A group's (or the public) catalog, without .torrent bytes.
    fn catalog(&self, group_id: i64) -> StoreFuture<'_, Vec<CatalogRecord>>;
    /// Every entry of one info-hash, with .torrent bytes.
    fn entries(&self, h: InfoHash) -> StoreFuture<'_, Vec<CatalogRecord>>;
    /// Withdraws; `false` when it was not there.
    fn withdraw(&self, h: InfoHash, group_id: i64) -> StoreFuture<'_, bool>;
    /// Entries whose name contains `q` (any case) in these groups.
    fn search<'a>(
        &'a self,
        q: &'a str,
        group_ids: &'a [i64],
        limit: u32,
    ) -> StoreFuture<'a, Vec<CatalogRecord>>;
    /// A page of the catalog (the dashboard's torrents table).
    fn browse<'a>(
        &'a self,
        q: &'a super::browse::BrowseQuery,
    ) -> StoreFuture<'a, super::browse::BrowsePage>;
    /// The info-hashes of the entries in these scopes (`None`: all) whose
    /// name contains `q`.
    fn browse_hashes<'a>(
        &'a self,
        scopes: Option<&'a [i64]>,
        q: &'a str,
    ) -> StoreFuture<'a, Vec<InfoHash>>;
    /// The entries of these info-hashes (at most a page), without .torrent bytes.
    fn browse_entries<'a>(&'a self, hashes: &'a [InfoHash]) -> StoreFuture<'a, Vec<CatalogRecord>>;
    /// Every (info-hash, owner): the group that owns it, or [`PUBLIC_GROUP`]
    /// for a torrent in the public catalog.
    fn owners(&self) -> StoreFuture<'_, Vec<(InfoHash, i64)>>;
    /// How many catalog entries a user published.
    fn shared_count(&self, user_id: i64) -> StoreFuture<'_, u64>;
    /// What a user holds, for the quotas.
    fn usage(&self, user_id: i64) -> StoreFuture<'_, Usage>;

    /// Appends an event; returns its id.
    fn add_event<'a>(&'a self, e: &'a LoggedEvent) -> StoreFuture<'a, i64>;
    /// The last `limit` events, newest first.
    fn latest_events(&self, limit: u32) -> StoreFuture<'_, Vec<LoggedEvent>>;
    /// Events with id > `after`, oldest first.
    fn events_after(&self, after: i64, limit: u32) -> StoreFuture<'_, Vec<LoggedEvent>>;
    /// Wake-ups when an event is appended to a database other trackerd
    /// instances share (issue 16): each says "read the log after the last
    /// id you saw", so a lost one costs nothing as long as a later one
    /// comes (one also follows a reconnection). `None` for a database no
    /// other instance writes (SQLite). Ends when the receiver is dropped.
    fn event_wakeups(&self) -> StoreFuture<'_, Option<tokio::sync::mpsc::Receiver<()>>> {
        Box::pin(async { Ok(None) })
    }
}
