//! The SQLite store (sqlx, WAL, embedded migrations). sqlx runs SQLite on
//! its own threads, so no query blocks an async worker. Runtime queries
//! only (`sqlx::query`), so building needs no database. No caching or
//! tracker policy here.

use std::str::FromStr;
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use super::rows::hash_of;
use super::{Store, StoreError, StoreFuture, TorrentRecord};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
}

/// The file a SQLite URL names; `None` for an in-memory database.
pub fn database_file(url: &str) -> Option<std::path::PathBuf> {
    let opts = SqliteConnectOptions::from_str(url).ok()?;
    let file = opts.get_filename();
    let name = file.to_string_lossy();
    let in_memory = name.is_empty() || name.starts_with(':') || name.starts_with("file:");
    (!in_memory).then(|| file.to_owned())
}

impl SqliteStore {
    /// Opens (creating if missing, with its folder) and migrates.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            // Deleted and overwritten rows are zeroed, not left in free
            // pages: the clear passkeys of old databases must not linger.
            .pragma("secure_delete", "on");
        let file = opts.get_filename().to_owned();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_files::create_dir(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        // Owner-only before SQLite writes a byte (its -wal and -shm files
        // take the database file's mode).
        if !file.as_os_str().is_empty() && !file.to_string_lossy().starts_with(':') {
            crate::private_files::make_private(&file).map_err(|source| StoreError::Private {
                path: file.clone(),
                source,
            })?;
        }
        migrate(&opts).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        Ok(SqliteStore { pool })
    }
}

/// Applies the migrations on a connection of their own with foreign keys
/// off: a migration that rebuilds a table (0003) drops the old one, which
/// would otherwise cascade into every row that references it. The
/// references are checked once all have run.
async fn migrate(opts: &SqliteConnectOptions) -> Result<(), StoreError> {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = opts.clone().foreign_keys(false).connect().await?;
    MIGRATOR.run(&mut conn).await?;
    let broken = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut conn)
        .await?;
    conn.close().await?;
    if !broken.is_empty() {
        return Err(StoreError::Corrupt(format!(
            "{} rows reference missing rows after the migrations",
            broken.len()
        )));
    }
    Ok(())
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn record(row: &SqliteRow) -> Result<TorrentRecord, StoreError> {
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

const COLUMNS: &str =
    "info_hash, name, total_length, piece_length, file_count, private, added_at, metainfo";

impl Store for SqliteStore {
    fn add_torrent<'a>(&'a self, t: &'a TorrentRecord) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let done = sqlx::query(&format!(
                "INSERT INTO torrents ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT(info_hash) DO NOTHING"
            ))
            .bind(t.info_hash.to_hex())
            .bind(&t.name)
            .bind(i64_of(t.total_length))
            .bind(i64_of(t.piece_length))
            .bind(i64_of(t.file_count))
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
                 added_at, zeroblob(0) AS metainfo FROM torrents ORDER BY added_at, info_hash",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(record).collect()
        })
    }

    fn torrent(&self, h: InfoHash) -> StoreFuture<'_, Option<TorrentRecord>> {
        Box::pin(async move {
            let row = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM torrents WHERE info_hash = ?"
            ))
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
            let mut tx = self.pool.begin().await?;
            for (h, n) in deltas {
                sqlx::query(
                    "INSERT INTO completed_counts (info_hash, completed) VALUES (?, ?) \
                     ON CONFLICT(info_hash) DO UPDATE SET completed = completed + excluded.completed",
                )
                .bind(h.to_hex())
                .bind(i64_of(*n))
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

    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.pool.close().await;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(n: u8) -> TorrentRecord {
        TorrentRecord {
            info_hash: InfoHash([n; 20]),
            name: format!("t{n}"),
            total_length: 10,
            piece_length: 16384,
            file_count: 1,
            private: false,
            added_at: i64::from(n),
            metainfo: vec![n; 3],
        }
    }

    #[tokio::test]
    async fn torrents_and_counters_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sub/db.sqlite", dir.path().display());
        let s = SqliteStore::open(&url).await.unwrap();
        assert!(s.add_torrent(&rec(1)).await.unwrap());
        assert!(
            !s.add_torrent(&rec(1)).await.unwrap(),
            "second add is a no-op"
        );
        s.add_torrent(&rec(2)).await.unwrap();
        s.add_completed(&[(InfoHash([1; 20]), 2)]).await.unwrap();
        s.add_completed(&[(InfoHash([1; 20]), 3), (InfoHash([5; 20]), 1)])
            .await
            .unwrap();
        s.close().await.unwrap();

        let s = SqliteStore::open(&url).await.unwrap();
        let listed = s.torrents().await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(
            listed.iter().all(|t| t.metainfo.is_empty()),
            "listings leave the bytes out"
        );
        let without_bytes = |n| TorrentRecord {
            metainfo: Vec::new(),
            ..rec(n)
        };
        assert_eq!(listed, vec![without_bytes(1), without_bytes(2)]);
        assert_eq!(s.torrent(InfoHash([2; 20])).await.unwrap(), Some(rec(2)));
        assert_eq!(s.torrent(InfoHash([3; 20])).await.unwrap(), None);
        let mut counts = s.completed_counts().await.unwrap();
        counts.sort();
        assert_eq!(counts, vec![(InfoHash([1; 20]), 5), (InfoHash([5; 20]), 1)]);
    }

    #[tokio::test]
    async fn an_unknown_database_url_is_refused_clearly() {
        let e = super::super::open("mysql://x/y").await.unwrap_err();
        assert!(e.to_string().contains("unsupported database URL"));
    }
}
