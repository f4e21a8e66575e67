//! Browser sessions on SQLite (table `web_sessions`, migration 0006): a
//! user may hold several, apart from the daemon's one session (table
//! `sessions`). A token names a session in either table; the queries that
//! take a token look in both. No rules here beyond the cap per user.

use sqlx::sqlite::SqlitePool;

use super::StoreError;
use super::community::SessionRecord;
use super::sqlite_rows::session;

/// Browser sessions one user may hold; a new one ends the oldest past this.
pub const MAX_WEB_SESSIONS_PER_USER: i64 = 8;

const WEB_SESSION_SELECT: &str = "SELECT s.user_id, u.username, u.passkey_hash, u.passkey_nonce, \
     u.passkey_sealed, s.address, s.created_at, s.last_seen \
     FROM web_sessions s JOIN users u ON u.id = s.user_id";

/// Opens a browser session, ending the user's expired ones and the oldest
/// past [`MAX_WEB_SESSIONS_PER_USER`].
pub(super) async fn open(
    pool: &SqlitePool,
    user_id: i64,
    token_hash: &str,
    address: &str,
    now: i64,
    cutoff: i64,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM web_sessions WHERE user_id = ? AND last_seen < ?")
        .bind(user_id)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO web_sessions (token_hash, user_id, address, created_at, last_seen) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(address)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM web_sessions WHERE user_id = ? AND token_hash NOT IN \
         (SELECT token_hash FROM web_sessions WHERE user_id = ? \
          ORDER BY created_at DESC, rowid DESC LIMIT ?)",
    )
    .bind(user_id)
    .bind(user_id)
    .bind(MAX_WEB_SESSIONS_PER_USER)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Renews a live browser session and returns it.
pub(super) async fn touch(
    pool: &SqlitePool,
    token_hash: &str,
    now: i64,
    cutoff: i64,
) -> Result<Option<SessionRecord>, StoreError> {
    let done = sqlx::query(
        "UPDATE web_sessions SET last_seen = max(last_seen, ?) WHERE token_hash = ? AND last_seen >= ?",
    )
    .bind(now)
    .bind(token_hash)
    .bind(cutoff)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    let row = sqlx::query(&format!("{WEB_SESSION_SELECT} WHERE s.token_hash = ?"))
        .bind(token_hash)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(session).transpose()
}

/// Live browser sessions.
pub(super) async fn online(
    pool: &SqlitePool,
    cutoff: i64,
) -> Result<Vec<SessionRecord>, StoreError> {
    let rows = sqlx::query(&format!(
        "{WEB_SESSION_SELECT} WHERE s.last_seen >= ? ORDER BY u.username, s.last_seen DESC"
    ))
    .bind(cutoff)
    .fetch_all(pool)
    .await?;
    rows.iter().map(session).collect()
}

/// Ends the browser session of a token; the rows removed.
pub(super) async fn end_token(pool: &SqlitePool, token_hash: &str) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM web_sessions WHERE token_hash = ?")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Ends every browser session of a user; the rows removed.
pub(super) async fn end_user(pool: &SqlitePool, user_id: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM web_sessions WHERE user_id = ?")
        .bind(user_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Ends the browser sessions nobody renewed since `cutoff`.
pub(super) async fn expire(pool: &SqlitePool, cutoff: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM web_sessions WHERE last_seen < ?")
        .bind(cutoff)
        .execute(pool)
        .await?;
    Ok(())
}
