//! [`CommunityStore`] on SQLite: accounts, sessions, groups, catalog and
//! events, with runtime queries. Every multi-row change is one transaction;
//! duplicates are caught by UNIQUE constraints, not by reading first. No
//! rules here beyond what the schema enforces.

use p2p_proto::infohash::InfoHash;
use sqlx::Row;

use super::StoreFuture;
use super::community::{
    CatalogRecord, CommunityStore, GroupRecord, LeaveOutcome, LoggedEvent, MemberRecord,
    PUBLIC_GROUP, PublishOutcome, SessionOutcome, SessionRecord, StoredPasskey, TrafficDelta,
    Usage, UserRecord,
};
use super::rows::{
    GROUP_SELECT, SESSION_SELECT, catalog_select, hash_of, is_unique_violation, signed,
};
use super::sqlite::SqliteStore;
use super::sqlite_rows::{entry, event, group, member, session, stored_passkey, unsigned, user};
use super::web_sessions;

impl CommunityStore for SqliteStore {
    fn create_user<'a>(
        &'a self,
        username: &'a str,
        password_hash: &'a str,
        passkey: &'a StoredPasskey,
        now: i64,
    ) -> StoreFuture<'a, Option<i64>> {
        Box::pin(async move {
            let r = sqlx::query(
                "INSERT INTO users (username, password_hash, passkey_hash, passkey_nonce, \
                 passkey_sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(username)
            .bind(password_hash)
            .bind(&passkey.hash)
            .bind(&passkey.nonce)
            .bind(&passkey.sealed)
            .bind(now)
            .execute(&self.pool)
            .await;
            match r {
                Ok(done) => Ok(Some(done.last_insert_rowid())),
                Err(e) if is_unique_violation(&e) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn user_by_name<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<UserRecord>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT * FROM users WHERE username = ?")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(user).transpose()
        })
    }

    fn set_password<'a>(&'a self, user_id: i64, password_hash: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
                .bind(password_hash)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
            // A new password ends every browser session too.
            web_sessions::end_user(&self.pool, user_id).await?;
            Ok(())
        })
    }

    fn passkeys(&self) -> StoreFuture<'_, Vec<(StoredPasskey, i64, String)>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT passkey_hash, passkey_nonce, passkey_sealed, id, username FROM users \
                 WHERE passkey_hash IS NOT NULL",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| Ok((stored_passkey(r)?, r.try_get("id")?, r.try_get("username")?)))
                .collect()
        })
    }

    fn set_passkey<'a>(
        &'a self,
        user_id: i64,
        passkey: &'a StoredPasskey,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE users SET passkey_hash = ?, passkey_nonce = ?, passkey_sealed = ?, \
                 legacy_passkey = NULL WHERE id = ?",
            )
            .bind(&passkey.hash)
            .bind(&passkey.nonce)
            .bind(&passkey.sealed)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn scrub(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            // secure_delete (see SqliteStore::open) zeroed the old cells and
            // pages in the log; the checkpoint writes them over the old ones.
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn legacy_passkeys(&self) -> StoreFuture<'_, Vec<(i64, String)>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, legacy_passkey FROM users WHERE legacy_passkey IS NOT NULL",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("id")?, r.try_get("legacy_passkey")?)))
                .collect()
        })
    }

    fn add_traffic<'a>(&'a self, deltas: &'a [TrafficDelta]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            for d in deltas {
                sqlx::query("UPDATE users SET uploaded = uploaded + ?, downloaded = downloaded + ? WHERE id = ?")
                    .bind(signed(d.uploaded))
                    .bind(signed(d.downloaded))
                    .bind(d.user)
                    .execute(&mut *tx)
                    .await?;
                if d.public_uploaded > 0 || d.public_downloaded > 0 {
                    sqlx::query(
                        "INSERT INTO public_traffic (user_id, uploaded, downloaded) VALUES (?, ?, ?) \
                         ON CONFLICT(user_id) DO UPDATE SET uploaded = uploaded + excluded.uploaded, \
                         downloaded = downloaded + excluded.downloaded",
                    )
                    .bind(d.user)
                    .bind(signed(d.public_uploaded))
                    .bind(signed(d.public_downloaded))
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn public_traffic(&self, user_id: i64) -> StoreFuture<'_, (u64, u64)> {
        Box::pin(async move {
            let row =
                sqlx::query("SELECT uploaded, downloaded FROM public_traffic WHERE user_id = ?")
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await?;
            match row {
                Some(r) => Ok((unsigned(&r, "uploaded")?, unsigned(&r, "downloaded")?)),
                None => Ok((0, 0)),
            }
        })
    }

    fn shared_count_in<'a>(&'a self, user_id: i64, group_ids: &'a [i64]) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            if group_ids.is_empty() {
                return Ok(0);
            }
            let marks = vec!["?"; group_ids.len()].join(", ");
            let sql = format!(
                "SELECT count(*) FROM catalog WHERE publisher_id = ? AND group_id IN ({marks})"
            );
            let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(user_id);
            for g in group_ids {
                q = q.bind(g);
            }
            let n = q.fetch_one(&self.pool).await?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
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
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            // A write first, so this transaction holds the write lock from here on.
            sqlx::query("DELETE FROM sessions WHERE user_id = ? AND last_seen < ?")
                .bind(user_id)
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            if !takeover {
                let live =
                    sqlx::query("SELECT address, created_at FROM sessions WHERE user_id = ?")
                        .bind(user_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if let Some(row) = live {
                    return Ok(SessionOutcome::Busy {
                        address: row.try_get("address")?,
                        since: row.try_get("created_at")?,
                    });
                }
            }
            let r = sqlx::query(
                "INSERT INTO sessions (user_id, token_hash, address, created_at, last_seen) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET \
                 token_hash = excluded.token_hash, address = excluded.address, \
                 created_at = excluded.created_at, last_seen = excluded.last_seen",
            )
            .bind(user_id)
            .bind(token_hash)
            .bind(address)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await;
            match r {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Ok(SessionOutcome::Busy {
                        address: address.to_owned(),
                        since: now,
                    });
                }
                Err(e) => return Err(e.into()),
            }
            tx.commit().await?;
            Ok(SessionOutcome::Created)
        })
    }

    fn touch_session<'a>(
        &'a self,
        token_hash: &'a str,
        now: i64,
        cutoff: i64,
    ) -> StoreFuture<'a, Option<SessionRecord>> {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE sessions SET last_seen = max(last_seen, ?) WHERE token_hash = ? AND last_seen >= ?",
            )
            .bind(now)
            .bind(token_hash)
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
            if done.rows_affected() == 0 {
                // Not a daemon's session: perhaps a browser's.
                return web_sessions::touch(&self.pool, token_hash, now, cutoff).await;
            }
            let row = sqlx::query(&format!("{SESSION_SELECT} WHERE s.token_hash = ?"))
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(session).transpose()
        })
    }

    fn close_session<'a>(&'a self, token_hash: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
                .bind(token_hash)
                .execute(&self.pool)
                .await?;
            let web = web_sessions::end_token(&self.pool, token_hash).await?;
            Ok(done.rows_affected() + web > 0)
        })
    }

    fn close_user_session(&self, user_id: i64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                .bind(user_id)
                .execute(&self.pool)
                .await?;
            let web = web_sessions::end_user(&self.pool, user_id).await?;
            Ok(done.rows_affected() + web > 0)
        })
    }

    fn online(&self, cutoff: i64) -> StoreFuture<'_, Vec<SessionRecord>> {
        Box::pin(async move {
            let rows = sqlx::query(&format!(
                "{SESSION_SELECT} WHERE s.last_seen >= ? ORDER BY u.username"
            ))
            .bind(cutoff)
            .fetch_all(&self.pool)
            .await?;
            let mut live = rows.iter().map(session).collect::<Result<Vec<_>, _>>()?;
            // A user online only in a browser is online too (once, by the
            // session seen last).
            for web in web_sessions::online(&self.pool, cutoff).await? {
                if !live.iter().any(|s| s.user_id == web.user_id) {
                    live.push(web);
                }
            }
            live.sort_by(|a, b| a.username.cmp(&b.username));
            Ok(live)
        })
    }

    fn open_web_session<'a>(
        &'a self,
        user_id: i64,
        token_hash: &'a str,
        address: &'a str,
        now: i64,
        cutoff: i64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(web_sessions::open(
            &self.pool, user_id, token_hash, address, now, cutoff,
        ))
    }

    fn expire_sessions(&self, cutoff: i64) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move {
            // Browser sessions end without an event: they were never a
            // daemon's presence.
            web_sessions::expire(&self.pool, cutoff).await?;
            let mut tx = self.pool.begin().await?;
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT u.username FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.last_seen < ? ORDER BY u.username",
            )
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
            if !names.is_empty() {
                sqlx::query("DELETE FROM sessions WHERE last_seen < ?")
                    .bind(cutoff)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Ok(names)
        })
    }

    fn create_group<'a>(
        &'a self,
        name: &'a str,
        owner_id: i64,
        now: i64,
    ) -> StoreFuture<'a, Option<i64>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let r = sqlx::query("INSERT INTO groups (name, owner_id, created_at) VALUES (?, ?, ?)")
                .bind(name)
                .bind(owner_id)
                .bind(now)
                .execute(&mut *tx)
                .await;
            let id = match r {
                Ok(done) => done.last_insert_rowid(),
                Err(e) if is_unique_violation(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            sqlx::query(
                "INSERT INTO group_members (group_id, user_id, joined_at, seq) VALUES (?, ?, ?, 0)",
            )
            .bind(id)
            .bind(owner_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(id))
        })
    }

    fn groups(&self) -> StoreFuture<'_, Vec<GroupRecord>> {
        Box::pin(async move {
            let rows = sqlx::query(&format!("{GROUP_SELECT} ORDER BY g.name"))
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(group).collect()
        })
    }

    fn group<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<GroupRecord>> {
        Box::pin(async move {
            let row = sqlx::query(&format!("{GROUP_SELECT} WHERE g.name = ?"))
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(group).transpose()
        })
    }

    fn add_request(&self, group_id: i64, user_id: i64, now: i64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let done = sqlx::query(
                "INSERT INTO join_requests (group_id, user_id, requested_at) VALUES (?, ?, ?) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(group_id)
            .bind(user_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn requests(&self, group_id: i64) -> StoreFuture<'_, Vec<MemberRecord>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT r.user_id, u.username, r.requested_at AS since FROM join_requests r \
                 JOIN users u ON u.id = r.user_id WHERE r.group_id = ? ORDER BY r.requested_at, u.username",
            )
            .bind(group_id)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(member).collect()
        })
    }

    fn accept_request(&self, group_id: i64, user_id: i64, now: i64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let done = sqlx::query("DELETE FROM join_requests WHERE group_id = ? AND user_id = ?")
                .bind(group_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO group_members (group_id, user_id, joined_at, seq) VALUES (?, ?, ?, \
                 (SELECT COALESCE(max(seq), 0) + 1 FROM group_members WHERE group_id = ?)) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(group_id)
            .bind(user_id)
            .bind(now)
            .bind(group_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    fn reject_request(&self, group_id: i64, user_id: i64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM join_requests WHERE group_id = ? AND user_id = ?")
                .bind(group_id)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    fn members(&self, group_id: i64) -> StoreFuture<'_, Vec<MemberRecord>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT m.user_id, u.username, m.joined_at AS since FROM group_members m \
                 JOIN users u ON u.id = m.user_id WHERE m.group_id = ? ORDER BY m.seq",
            )
            .bind(group_id)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(member).collect()
        })
    }

    fn leave_group(&self, group_id: i64, user_id: i64) -> StoreFuture<'_, LeaveOutcome> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let done = sqlx::query("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
                .bind(group_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(LeaveOutcome::NotMember);
            }
            let owner: i64 = sqlx::query_scalar("SELECT owner_id FROM groups WHERE id = ?")
                .bind(group_id)
                .fetch_one(&mut *tx)
                .await?;
            let outcome = if owner != user_id {
                LeaveOutcome::Left
            } else {
                let next = sqlx::query(
                    "SELECT m.user_id, u.username FROM group_members m JOIN users u ON u.id = m.user_id \
                     WHERE m.group_id = ? ORDER BY m.seq LIMIT 1",
                )
                .bind(group_id)
                .fetch_optional(&mut *tx)
                .await?;
                match next {
                    Some(row) => {
                        let next_id: i64 = row.try_get("user_id")?;
                        sqlx::query("UPDATE groups SET owner_id = ? WHERE id = ?")
                            .bind(next_id)
                            .bind(group_id)
                            .execute(&mut *tx)
                            .await?;
                        LeaveOutcome::OwnerPassed(row.try_get("username")?)
                    }
                    None => {
                        sqlx::query("DELETE FROM catalog WHERE group_id = ?")
                            .bind(group_id)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("DELETE FROM groups WHERE id = ?")
                            .bind(group_id)
                            .execute(&mut *tx)
                            .await?;
                        LeaveOutcome::Deleted
                    }
                }
            };
            tx.commit().await?;
            Ok(outcome)
        })
    }

    fn memberships(&self) -> StoreFuture<'_, Vec<(i64, String, i64)>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT m.group_id, g.name, m.user_id FROM group_members m JOIN groups g ON g.id = m.group_id",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok((
                        r.try_get("group_id")?,
                        r.try_get("name")?,
                        r.try_get("user_id")?,
                    ))
                })
                .collect()
        })
    }

    fn publish<'a>(&'a self, rec: &'a CatalogRecord) -> StoreFuture<'a, PublishOutcome> {
        Box::pin(async move {
            let hex = rec.info_hash.to_hex();
            let mut tx = self.pool.begin().await?;
            // The insert first, so the transaction holds the write lock
            // from its first statement (a read first could not be upgraded
            // once another writer commits). The UNIQUE index on
            // catalog(info_hash) refuses a second entry in any scope.
            let r = sqlx::query(
                "INSERT INTO catalog (info_hash, group_id, name, total_length, piece_length, \
                 file_count, private, source, publisher_id, added_at, metainfo) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&hex)
            .bind(rec.group_id)
            .bind(&rec.name)
            .bind(signed(rec.total_length))
            .bind(signed(rec.piece_length))
            .bind(signed(rec.file_count))
            .bind(rec.private)
            .bind(&rec.source)
            .bind(rec.publisher_id)
            .bind(rec.added_at)
            .bind(&rec.metainfo)
            .execute(&mut *tx)
            .await;
            match r {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    drop(tx);
                    let listed: Option<i64> =
                        sqlx::query_scalar("SELECT group_id FROM catalog WHERE info_hash = ?")
                            .bind(&hex)
                            .fetch_optional(&self.pool)
                            .await?;
                    return Ok(match listed {
                        Some(g) if g != rec.group_id => PublishOutcome::OwnedElsewhere {
                            public: g == PUBLIC_GROUP,
                        },
                        _ => PublishOutcome::AlreadyHere,
                    });
                }
                Err(e) => return Err(e.into()),
            }
            // A group owns its info-hashes for good, listed or not.
            let owner: Option<i64> =
                sqlx::query_scalar("SELECT group_id FROM torrent_owners WHERE info_hash = ?")
                    .bind(&hex)
                    .fetch_optional(&mut *tx)
                    .await?;
            if owner.is_some_and(|g| g != rec.group_id) {
                // Dropping the transaction rolls the insert back.
                return Ok(PublishOutcome::OwnedElsewhere { public: false });
            }
            if rec.group_id != PUBLIC_GROUP {
                sqlx::query(
                    "INSERT INTO torrent_owners (info_hash, group_id, claimed_at) VALUES (?, ?, ?) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&hex)
                .bind(rec.group_id)
                .bind(rec.added_at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(PublishOutcome::Published)
        })
    }

    fn catalog(&self, group_id: i64) -> StoreFuture<'_, Vec<CatalogRecord>> {
        Box::pin(async move {
            let sql = format!(
                "{} WHERE c.group_id = ? ORDER BY c.name, c.info_hash",
                catalog_select("zeroblob(0)")
            );
            let rows = sqlx::query(&sql)
                .bind(group_id)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(entry).collect()
        })
    }

    fn entries(&self, h: InfoHash) -> StoreFuture<'_, Vec<CatalogRecord>> {
        Box::pin(async move {
            let sql = format!(
                "{} WHERE c.info_hash = ? ORDER BY c.group_id",
                catalog_select("c.metainfo")
            );
            let rows = sqlx::query(&sql)
                .bind(h.to_hex())
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(entry).collect()
        })
    }

    fn withdraw(&self, h: InfoHash, group_id: i64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM catalog WHERE info_hash = ? AND group_id = ?")
                .bind(h.to_hex())
                .bind(group_id)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    fn search<'a>(
        &'a self,
        q: &'a str,
        group_ids: &'a [i64],
        limit: u32,
    ) -> StoreFuture<'a, Vec<CatalogRecord>> {
        Box::pin(async move {
            if group_ids.is_empty() {
                return Ok(Vec::new());
            }
            let marks = vec!["?"; group_ids.len()].join(", ");
            let sql = format!(
                "{} WHERE c.group_id IN ({marks}) AND instr(lower(c.name), lower(?)) > 0 \
                 ORDER BY c.name, c.group_id LIMIT ?",
                catalog_select("zeroblob(0)")
            );
            let mut query = sqlx::query(&sql);
            for id in group_ids {
                query = query.bind(id);
            }
            let rows = query
                .bind(q)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(entry).collect()
        })
    }

    fn browse<'a>(
        &'a self,
        q: &'a super::browse::BrowseQuery,
    ) -> StoreFuture<'a, super::browse::BrowsePage> {
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
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT info_hash, group_id FROM torrent_owners \
                 UNION ALL SELECT info_hash, group_id FROM catalog WHERE group_id = 0",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| Ok((hash_of(r.try_get("info_hash")?)?, r.try_get("group_id")?)))
                .collect()
        })
    }

    fn shared_count(&self, user_id: i64) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog WHERE publisher_id = ?")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn usage(&self, user_id: i64) -> StoreFuture<'_, Usage> {
        Box::pin(async move {
            let groups: i64 = sqlx::query_scalar("SELECT count(*) FROM groups WHERE owner_id = ?")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
            let row = sqlx::query(
                "SELECT count(*) AS n, COALESCE(sum(length(metainfo)), 0) AS bytes \
                 FROM catalog WHERE publisher_id = ?",
            )
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
            Ok(Usage {
                groups_owned: u64::try_from(groups).unwrap_or(0),
                catalog_entries: unsigned(&row, "n")?,
                torrent_bytes: unsigned(&row, "bytes")?,
            })
        })
    }

    fn add_event<'a>(&'a self, logged: &'a LoggedEvent) -> StoreFuture<'a, i64> {
        Box::pin(async move {
            let e = &logged.record;
            let done = sqlx::query(
                "INSERT INTO events (at, kind, username, group_name, info_hash, detail, group_id) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(e.at)
            .bind(&e.kind)
            .bind(&e.username)
            .bind(&e.group)
            .bind(e.info_hash.map(|h| h.to_hex()))
            .bind(&e.detail)
            .bind(logged.group_id)
            .execute(&self.pool)
            .await?;
            Ok(done.last_insert_rowid())
        })
    }

    fn events_after(&self, after: i64, limit: u32) -> StoreFuture<'_, Vec<LoggedEvent>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(event).collect()
        })
    }

    fn latest_events(&self, limit: u32) -> StoreFuture<'_, Vec<LoggedEvent>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT * FROM events ORDER BY id DESC LIMIT ?")
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(event).collect()
        })
    }
}
