//! Persistence behind a small trait: the torrent catalog and the
//! completed-download counters. SQLite now ([`sqlite`]); PostgreSQL can
//! implement the same trait later. Must not hold swarm state or know HTTP.

pub mod browse;
pub mod community;
pub mod sqlite;
mod sqlite_community;
#[cfg(test)]
mod sqlite_community_tests;
mod sqlite_rows;
mod web_sessions;

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use p2p_proto::infohash::InfoHash;
use serde::Serialize;

/// A boxed future, so the trait stays object-safe (`Arc<dyn Store>`).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A registered torrent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TorrentRecord {
    /// Its info-hash (40 lowercase hex digits in JSON).
    pub info_hash: InfoHash,
    /// The torrent's name.
    pub name: String,
    /// Bytes of content.
    pub total_length: u64,
    /// Bytes per piece.
    pub piece_length: u64,
    /// Number of files.
    pub file_count: u64,
    /// BEP 27 private flag.
    pub private: bool,
    /// Unix seconds when it was registered.
    pub added_at: i64,
    /// The .torrent file as uploaded.
    #[serde(skip)]
    pub metainfo: Vec<u8>,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names a backend this build does not have.
    #[error("unsupported database URL {0:?} (this build supports sqlite:// only)")]
    UnsupportedUrl(String),
    /// Creating the database's folder failed.
    #[error("cannot create database folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file holding secrets could not be made owner-only.
    #[error("cannot create {path} readable by its owner only: {source}")]
    Private {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The passkey key could not be read, or does not open the stored passkeys.
    #[error(transparent)]
    PasskeyKey(#[from] crate::accounts::passkeys::PasskeyKeyError),
    /// A row holds something we never write.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// What trackerd persists.
pub trait Store: Send + Sync + Debug {
    /// Registers a torrent; `false` if it was already registered.
    fn add_torrent<'a>(&'a self, t: &'a TorrentRecord) -> StoreFuture<'a, bool>;
    /// Every registered torrent, oldest first, without its .torrent bytes
    /// (`metainfo` is empty; [`Store::torrent`] has them).
    fn torrents(&self) -> StoreFuture<'_, Vec<TorrentRecord>>;
    /// One registered torrent.
    fn torrent(&self, h: InfoHash) -> StoreFuture<'_, Option<TorrentRecord>>;
    /// Every completed-download counter.
    fn completed_counts(&self) -> StoreFuture<'_, Vec<(InfoHash, u64)>>;
    /// Adds to completed-download counters, in one transaction.
    fn add_completed<'a>(&'a self, deltas: &'a [(InfoHash, u64)]) -> StoreFuture<'a, ()>;
    /// Closes connections (after a final flush).
    fn close(&self) -> StoreFuture<'_, ()>;
    /// The same database's accounts, groups, catalog and events (issue 5).
    fn community(&self) -> Arc<dyn community::CommunityStore>;
}

/// Opens the store a URL names and applies migrations.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Box::new(sqlite::SqliteStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
