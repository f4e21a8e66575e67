//! Persistence behind a small trait: the torrent catalog and the
//! completed-download counters, and the community ([`community`]). SQLite
//! ([`sqlite`]) for one machine, the default; PostgreSQL ([`postgres`]) for
//! several trackerd instances sharing one database. Both pass the same
//! tests. Must not hold swarm state or know HTTP.

pub mod browse;
pub mod community;
pub mod postgres;
mod rows;
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
    #[error("unsupported database URL {0:?} (trackerd supports sqlite:// and postgres:// URLs)")]
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

/// The URL with its password (in the user part or a `password=`
/// parameter) replaced by `***`, to name a database in messages and logs.
pub fn redacted_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    if scheme.is_empty() && !url.contains("://") {
        format!("{authority}{tail}")
    } else {
        format!("{scheme}://{authority}{tail}")
    }
}

/// Opens the store a URL names and applies migrations.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Box::new(sqlite::SqliteStore::open(url).await?))
    } else if postgres::is_postgres_url(url) {
        Ok(Box::new(postgres::PgStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redacted_url(url)))
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn a_database_url_is_shown_without_its_password() {
        assert_eq!(
            redacted_url("postgres://tracker:s3cret@db.lan:5432/trackerd?sslmode=require"),
            "postgres://tracker:***@db.lan:5432/trackerd?sslmode=require"
        );
        assert_eq!(
            redacted_url("postgres://tracker@db/t?password=s3cret&application_name=x"),
            "postgres://tracker@db/t?password=***&application_name=x"
        );
        assert_eq!(
            redacted_url("sqlite:///var/lib/t.sqlite"),
            "sqlite:///var/lib/t.sqlite"
        );
    }
}
