//! [`CommunityStore`] on PostgreSQL: each method is one of the queries in
//! [`super::accounts`], [`super::sessions`], [`super::groups`],
//! [`super::catalog`] and [`super::browse`], kept apart by concern.

use p2p_proto::infohash::InfoHash;

use super::PgStore;
use crate::store::StoreFuture;
use crate::store::browse::{BrowsePage, BrowseQuery};
use crate::store::community::{
    CatalogRecord, CommunityStore, GroupRecord, LeaveOutcome, LoggedEvent, MemberRecord,
    PublishOutcome, SessionOutcome, SessionRecord, StoredPasskey, TrafficDelta, Usage, UserRecord,
};

impl CommunityStore for PgStore {
    fn create_user<'a>(
        &'a self,
        username: &'a str,
        password_hash: &'a str,
        passkey: &'a StoredPasskey,
        now: i64,
    ) -> StoreFuture<'a, Option<i64>> {
        Box::pin(self.create_user(username, password_hash, passkey, now))
    }

    fn user_by_name<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<UserRecord>> {
        Box::pin(self.user_by_name(username))
    }

    fn set_password<'a>(&'a self, user_id: i64, password_hash: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(self.set_password(user_id, password_hash))
    }

    fn passkeys(&self) -> StoreFuture<'_, Vec<(StoredPasskey, i64, String)>> {
        Box::pin(self.passkeys())
    }

    fn set_passkey<'a>(
        &'a self,
        user_id: i64,
        passkey: &'a StoredPasskey,
    ) -> StoreFuture<'a, bool> {
        Box::pin(self.set_passkey(user_id, passkey))
    }

    fn legacy_passkeys(&self) -> StoreFuture<'_, Vec<(i64, String)>> {
        // Passkeys were sealed from this store's first version on.
        Box::pin(async { Ok(Vec::new()) })
    }

    fn scrub(&self) -> StoreFuture<'_, ()> {
        // Only called after sealing legacy passkeys, which never exist here.
        Box::pin(async { Ok(()) })
    }

    fn add_traffic<'a>(&'a self, deltas: &'a [TrafficDelta]) -> StoreFuture<'a, ()> {
        Box::pin(self.add_traffic(deltas))
    }

    fn public_traffic(&self, user_id: i64) -> StoreFuture<'_, (u64, u64)> {
        Box::pin(self.public_traffic(user_id))
    }

    fn shared_count_in<'a>(&'a self, user_id: i64, group_ids: &'a [i64]) -> StoreFuture<'a, u64> {
        Box::pin(self.shared_count_in(user_id, group_ids))
    }

    fn open_session<'a>(
        &'a self,
        user_id: i64,
        token_hash: &'a str,
        address: &'a str,
        now: i64,
        cutoff: i64,
        takeover: bool,
    ) -> StoreFuture<'a, SessionOutcome> {
        Box::pin(self.open_session(user_id, token_hash, address, now, cutoff, takeover))
    }

    fn touch_session<'a>(
        &'a self,
        token_hash: &'a str,
        now: i64,
        cutoff: i64,
    ) -> StoreFuture<'a, Option<SessionRecord>> {
        Box::pin(self.touch_session(token_hash, now, cutoff))
    }

    fn close_session<'a>(&'a self, token_hash: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(self.close_session(token_hash))
    }

    fn open_web_session<'a>(
        &'a self,
        user_id: i64,
        token_hash: &'a str,
        address: &'a str,
        now: i64,
        cutoff: i64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(self.open_web_session(user_id, token_hash, address, now, cutoff))
    }

    fn close_user_session(&self, user_id: i64) -> StoreFuture<'_, bool> {
        Box::pin(self.close_user_session(user_id))
    }

    fn online(&self, cutoff: i64) -> StoreFuture<'_, Vec<SessionRecord>> {
        Box::pin(self.online(cutoff))
    }

    fn expire_sessions(&self, cutoff: i64) -> StoreFuture<'_, Vec<String>> {
        Box::pin(self.expire_sessions(cutoff))
    }

    fn create_group<'a>(
        &'a self,
        name: &'a str,
        owner_id: i64,
        now: i64,
    ) -> StoreFuture<'a, Option<i64>> {
        Box::pin(self.create_group(name, owner_id, now))
    }

    fn groups(&self) -> StoreFuture<'_, Vec<GroupRecord>> {
        Box::pin(self.groups())
    }

    fn group<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<GroupRecord>> {
        Box::pin(self.group(name))
    }

    fn add_request(&self, group_id: i64, user_id: i64, now: i64) -> StoreFuture<'_, bool> {
        Box::pin(self.add_request(group_id, user_id, now))
    }

    fn requests(&self, group_id: i64) -> StoreFuture<'_, Vec<MemberRecord>> {
        Box::pin(self.requests(group_id))
    }

    fn accept_request(&self, group_id: i64, user_id: i64, now: i64) -> StoreFuture<'_, bool> {
        Box::pin(self.accept_request(group_id, user_id, now))
    }

    fn reject_request(&self, group_id: i64, user_id: i64) -> StoreFuture<'_, bool> {
        Box::pin(self.reject_request(group_id, user_id))
    }

    fn members(&self, group_id: i64) -> StoreFuture<'_, Vec<MemberRecord>> {
        Box::pin(self.members(group_id))
    }

    fn leave_group(&self, group_id: i64, user_id: i64) -> StoreFuture<'_, LeaveOutcome> {
        Box::pin(self.leave_group(group_id, user_id))
    }

    fn memberships(&self) -> StoreFuture<'_, Vec<(i64, String, i64)>> {
        Box::pin(self.memberships())
    }

    fn publish<'a>(&'a self, rec: &'a CatalogRecord) -> StoreFuture<'a, PublishOutcome> {
        Box::pin(self.publish(rec))
    }

    fn catalog(&self, group_id: i64) -> StoreFuture<'_, Vec<CatalogRecord>> {
        Box::pin(self.catalog(group_id))
    }

    fn entries(&self, h: InfoHash) -> StoreFuture<'_, Vec<CatalogRecord>> {
        Box::pin(self.entries(h))
    }

    fn withdraw(&self, h: InfoHash, group_id: i64) -> StoreFuture<'_, bool> {
        Box::pin(self.withdraw(h, group_id))
    }

    fn search<'a>(
        &'a self,
        q: &'a str,
        group_ids: &'a [i64],
        limit: u32,
    ) -> StoreFuture<'a, Vec<CatalogRecord>> {
        Box::pin(self.search(q, group_ids, limit))
    }

    fn browse<'a>(&'a self, q: &'a BrowseQuery) -> StoreFuture<'a, BrowsePage> {
        Box::pin(super::browse::page(&self.pool, q))
    }

    fn browse_hashes<'a>(
        &'a self,
        scopes: Option<&'a [i64]>,
        q: &'a str,
    ) -> StoreFuture<'a, Vec<InfoHash>> {
        Box::pin(super::browse::hashes(&self.pool, scopes, q))
    }

    fn browse_entries<'a>(&'a self, hashes: &'a [InfoHash]) -> StoreFuture<'a, Vec<CatalogRecord>> {
        Box::pin(super::browse::entries(&self.pool, hashes))
    }

    fn owners(&self) -> StoreFuture<'_, Vec<(InfoHash, i64)>> {
        Box::pin(self.owners())
    }

    fn shared_count(&self, user_id: i64) -> StoreFuture<'_, u64> {
        Box::pin(self.shared_count(user_id))
    }

    fn usage(&self, user_id: i64) -> StoreFuture<'_, Usage> {
        Box::pin(self.usage(user_id))
    }

    fn add_event<'a>(&'a self, e: &'a LoggedEvent) -> StoreFuture<'a, i64> {
        Box::pin(self.add_event(e))
    }

    fn latest_events(&self, limit: u32) -> StoreFuture<'_, Vec<LoggedEvent>> {
        Box::pin(self.latest_events(limit))
    }

    fn events_after(&self, after: i64, limit: u32) -> StoreFuture<'_, Vec<LoggedEvent>> {
        Box::pin(self.events_after(after, limit))
    }

    fn shared_limits(&self) -> Option<std::sync::Arc<dyn crate::store::limits::SharedLimits>> {
        Some(std::sync::Arc::new(self.clone()))
    }

    fn event_wakeups(&self) -> StoreFuture<'_, Option<crate::store::peers::Wakeups>> {
        Box::pin(async {
            super::listen::listen(&self.pool, super::listen::EVENTS_CHANNEL, None)
                .await
                .map(Some)
        })
    }
}
