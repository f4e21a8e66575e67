//! The catalog and the event log on PostgreSQL. One entry per info-hash is
//! the UNIQUE constraint on `catalog(info_hash)`: of two publications of
//! one torrent at once, the second waits for the first and is refused when
//! it commits. Events get ids in the order they commit, and each commit
//! is announced to the other instances ([`super::listen`]).

use p2p_proto::infohash::InfoHash;
use sqlx::Row;

use super::PgStore;
use super::rows::{entry, event, text, unsigned};
use crate::store::StoreError;
use crate::store::community::{CatalogRecord, LoggedEvent, PUBLIC_GROUP, PublishOutcome, Usage};
use crate::store::rows::{catalog_select, hash_of, is_unique_violation, signed};

/// The advisory lock that event inserts take in turn, so that ids commit
/// in order: a reader that has seen id n never later finds an id below n
/// (an identity column alone hands out ids that commit in any order).
const EVENT_LOG_LOCK: i64 = 0x7472_6163_6b65_7201;

impl PgStore {
    pub(super) async fn publish(&self, rec: &CatalogRecord) -> Result<PublishOutcome, StoreError> {
        let hex = rec.info_hash.to_hex();
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "INSERT INTO catalog (info_hash, group_id, name, total_length, piece_length, \
             file_count, private, source, publisher_id, added_at, metainfo) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&hex)
        .bind(rec.group_id)
        .bind(text(&rec.name))
        .bind(signed(rec.total_length))
        .bind(signed(rec.piece_length))
        .bind(signed(rec.file_count))
        .bind(rec.private)
        .bind(rec.source.as_deref().map(text))
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
                    sqlx::query_scalar("SELECT group_id FROM catalog WHERE info_hash = $1")
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
            sqlx::query_scalar("SELECT group_id FROM torrent_owners WHERE info_hash = $1")
                .bind(&hex)
                .fetch_optional(&mut *tx)
                .await?;
        if owner.is_some_and(|g| g != rec.group_id) {
            // Dropping the transaction rolls the insert back.
            return Ok(PublishOutcome::OwnedElsewhere { public: false });
        }
        if rec.group_id != PUBLIC_GROUP {
            sqlx::query(
                "INSERT INTO torrent_owners (info_hash, group_id, claimed_at) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(&hex)
            .bind(rec.group_id)
            .bind(rec.added_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(PublishOutcome::Published)
    }

    pub(super) async fn catalog(&self, group_id: i64) -> Result<Vec<CatalogRecord>, StoreError> {
        let sql = format!(
            "{} WHERE c.group_id = $1 ORDER BY c.name, c.info_hash",
            catalog_select("''::bytea")
        );
        let rows = sqlx::query(&sql)
            .bind(group_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(entry).collect()
    }

    pub(super) async fn entries(&self, h: InfoHash) -> Result<Vec<CatalogRecord>, StoreError> {
        let sql = format!(
            "{} WHERE c.info_hash = $1 ORDER BY c.group_id",
            catalog_select("c.metainfo")
        );
        let rows = sqlx::query(&sql)
            .bind(h.to_hex())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(entry).collect()
    }

    pub(super) async fn withdraw(&self, h: InfoHash, group_id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM catalog WHERE info_hash = $1 AND group_id = $2")
            .bind(h.to_hex())
            .bind(group_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Entries whose name contains `q`, ASCII letters in any case (the
    /// needle is folded under the "C" collation too, as SQLite's lower()).
    pub(super) async fn search(
        &self,
        q: &str,
        group_ids: &[i64],
        limit: u32,
    ) -> Result<Vec<CatalogRecord>, StoreError> {
        if group_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{} WHERE c.group_id = ANY($1) AND strpos(lower(c.name), lower($2 COLLATE \"C\")) > 0 \
             ORDER BY c.name, c.group_id LIMIT $3",
            catalog_select("''::bytea"),
        );
        let rows = sqlx::query(&sql)
            .bind(group_ids)
            .bind(text(q))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(entry).collect()
    }

    pub(super) async fn owners(&self) -> Result<Vec<(InfoHash, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT info_hash, group_id FROM torrent_owners \
             UNION ALL SELECT info_hash, group_id FROM catalog WHERE group_id = 0",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((hash_of(r.try_get("info_hash")?)?, r.try_get("group_id")?)))
            .collect()
    }

    pub(super) async fn shared_count(&self, user_id: i64) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog WHERE publisher_id = $1")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub(super) async fn shared_count_in(
        &self,
        user_id: i64,
        group_ids: &[i64],
    ) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM catalog WHERE publisher_id = $1 AND group_id = ANY($2)",
        )
        .bind(user_id)
        .bind(group_ids)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub(super) async fn usage(&self, user_id: i64) -> Result<Usage, StoreError> {
        let groups: i64 = sqlx::query_scalar("SELECT count(*) FROM groups WHERE owner_id = $1")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        let row = sqlx::query(
            "SELECT count(*) AS n, COALESCE(sum(octet_length(metainfo)), 0)::bigint AS bytes \
             FROM catalog WHERE publisher_id = $1",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Usage {
            groups_owned: u64::try_from(groups).unwrap_or(0),
            catalog_entries: unsigned(&row, "n")?,
            torrent_bytes: unsigned(&row, "bytes")?,
        })
    }

    pub(super) async fn add_event(&self, logged: &LoggedEvent) -> Result<i64, StoreError> {
        let e = &logged.record;
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(EVENT_LOG_LOCK)
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO events (at, kind, username, group_name, info_hash, detail, group_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(e.at)
        .bind(text(&e.kind))
        .bind(e.username.as_deref().map(text))
        .bind(e.group.as_deref().map(text))
        .bind(e.info_hash.map(|h| h.to_hex()))
        .bind(text(&e.detail))
        .bind(logged.group_id)
        .fetch_one(&mut *tx)
        .await?;
        // Delivered at commit, to every instance listening (the id only:
        // they read the row).
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(super::listen::EVENTS_CHANNEL)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(super) async fn events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        let rows = sqlx::query("SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event).collect()
    }

    pub(super) async fn latest_events(&self, limit: u32) -> Result<Vec<LoggedEvent>, StoreError> {
        let rows = sqlx::query("SELECT * FROM events ORDER BY id DESC LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event).collect()
    }
}
