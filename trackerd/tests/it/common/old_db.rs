//! Databases as earlier versions of trackerd left them: the migrations
//! before a version applied and recorded as sqlx records them, so that
//! starting trackerd on them runs the later migrations as an upgrade does.

use std::path::Path;

use sha2::{Digest, Sha384};

/// Every migration, in order: (version, description, SQL).
const MIGRATIONS: [(i64, &str, &str); 4] = [
    (
        1,
        "torrents and counters",
        include_str!("../../../migrations/sqlite/0001_torrents_and_counters.sql"),
    ),
    (
        2,
        "accounts groups catalog events",
        include_str!("../../../migrations/sqlite/0002_accounts_groups_catalog_events.sql"),
    ),
    (
        3,
        "passkeys sealed",
        include_str!("../../../migrations/sqlite/0003_passkeys_sealed.sql"),
    ),
    (
        4,
        "one owner per torrent",
        include_str!("../../../migrations/sqlite/0004_one_owner_per_torrent.sql"),
    ),
];

/// `dir/trackerd.sqlite` with the migrations before `version` applied,
/// then `rows` (SQL) run on it.
pub async fn database_before(dir: &Path, version: i64, rows: &str) {
    let url = format!("sqlite://{}/trackerd.sqlite?mode=rwc", dir.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
         installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
         checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    for (v, description, sql) in MIGRATIONS.into_iter().filter(|m| m.0 < version) {
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (?, ?, 1, ?, 0)",
        )
        .bind(v)
        .bind(description)
        .bind(Sha384::digest(sql.as_bytes()).to_vec())
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::raw_sql(rows).execute(&pool).await.unwrap();
    pool.close().await;
}
