//! The PostgreSQL store (issue 16): the same [`Store`] and
//! [`super::community::CommunityStore`] as SQLite, for several trackerd
//! instances sharing one database. Runtime queries only, so building needs
//! no database. Where SQLite serializes writers with its one write lock,
//! these queries lock the row they decide on (`FOR UPDATE`), so that
//! concurrent requests, from one instance or several, reach the outcomes
//! SQLite gives. No caching or tracker policy here.

mod accounts;
mod browse;
mod catalog;
mod change_batch;
mod community;
mod groups;
mod limits;
mod listen;
mod rows;
mod sessions;
mod swarms;

use std::str::FromStr;
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};

use super::rows::{hash_of, signed};
use super::{Store, StoreError, StoreFuture, TorrentRecord};
use rows::text;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections one trackerd holds: writes are few and short, and the
/// announce path never waits on the database.
const MAX_CONNECTIONS: u32 = 8;

/// A PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(super) pool: PgPool,
}

/// Whether a URL names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl PgStore {
    /// Connects and migrates (the migrator takes an advisory lock, so
    /// instances starting together apply each migration once). The
    /// migrations run on a connection of their own, made once: a database
    /// that cannot be reached fails the start at once, where the pool
    /// would retry until its timeout.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        use sqlx::{ConnectOptions, Connection};
        let opts = PgConnectOptions::from_str(url)?.application_name("trackerd");
        let mut conn = opts.connect().await?;
        MIGRATOR.run(&mut conn).await?;
        conn.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        Ok(PgStore { pool })
    }
}

fn record(row: &PgRow) -> Result<TorrentRecord, StoreError> {
    let unsigned = |name: &str| -> Result<u64, StoreError> {
        let v: i64 = row.try_get(name)?;
        u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {name}")))
    };
    Ok(TorrentRecord {
        info_hash: hash_of(row.try_get("info_hash")?)?,
        name: row.try_get("name")?,
        total_length: unsigned("total_length")?,
        piece_length: unsigned("piece_length")?,
        file_count: unsigned("file_count")?,
        private: row.try_get("private")?,
        added_at: row.try_get("added_at")?,
        metainfo: row.try_get("metainfo")?,
    })
}

impl Store for PgStore {
    fn add_torrent<'a>(&'a self, t: &'a TorrentRecord) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let done = sqlx::query(
                "INSERT INTO torrents (info_hash, name, total_length, piece_length, file_count, \
                 private, added_at, metainfo) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (info_hash) DO NOTHING",
            )
            .bind(t.info_hash.to_hex())
            .bind(text(&t.name))
            .bind(signed(t.total_length))
            .bind(signed(t.piece_length))
            .bind(signed(t.file_count))
            .bind(t.private)
            .bind(t.added_at)
            .bind(&t.metainfo)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn torrents(&self) -> StoreFuture<'_, Vec<TorrentRecord>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT info_hash, name, total_length, piece_length, file_count, private, \
                 added_at, ''::bytea AS metainfo FROM torrents ORDER BY added_at, info_hash",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(record).collect()
        })
    }

    fn torrent(&self, h: InfoHash) -> StoreFuture<'_, Option<TorrentRecord>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT * FROM torrents WHERE info_hash = $1")
                .bind(h.to_hex())
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(record).transpose()
        })
    }

    fn completed_counts(&self) -> StoreFuture<'_, Vec<(InfoHash, u64)>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT info_hash, completed FROM completed_counts")
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|r| {
                    let n: i64 = r.try_get("completed")?;
                    Ok((
                        hash_of(r.try_get("info_hash")?)?,
                        u64::try_from(n).unwrap_or(0),
                    ))
                })
                .collect()
        })
    }

    fn add_completed<'a>(&'a self, deltas: &'a [(InfoHash, u64)]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            // One order for every writer, so that two instances flushing
            // at once cannot deadlock on each other's rows.
            let mut sorted: Vec<_> = deltas.to_vec();
            sorted.sort_unstable_by_key(|(h, _)| *h);
            let mut tx = self.pool.begin().await?;
            for (h, n) in sorted {
                sqlx::query(
                    "INSERT INTO completed_counts (info_hash, completed) VALUES ($1, $2) \
                     ON CONFLICT (info_hash) DO UPDATE \
                     SET completed = completed_counts.completed + excluded.completed",
                )
                .bind(h.to_hex())
                .bind(signed(n))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn community(&self) -> std::sync::Arc<dyn super::community::CommunityStore> {
        std::sync::Arc::new(self.clone())
    }

    fn peer_exchange(&self) -> Option<std::sync::Arc<dyn super::peers::PeerExchange>> {
        Some(std::sync::Arc::new(self.clone()))
    }

    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.pool.close().await;
            Ok(())
        })
    }
}
