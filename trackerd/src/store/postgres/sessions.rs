//! Sessions on PostgreSQL: the one daemon session per user (`sessions`)
//! and the browser sessions (`web_sessions`, at most
//! [`MAX_WEB_SESSIONS_PER_USER`] a user). A change to a user's sessions
//! first locks the user's row, so logins of one user take turns (SQLite's
//! single writer gives the same): two logins at once give one session and
//! one `Busy`, whichever instances they reach.

use sqlx::Row;

use super::PgStore;
use super::rows::{session, text};
use crate::store::StoreError;
use crate::store::community::{SessionOutcome, SessionRecord};
use crate::store::rows::is_unique_violation;
use crate::store::web_sessions::MAX_WEB_SESSIONS_PER_USER;

/// The columns of a [`SessionRecord`], from `s` (either table) and `u`.
const SESSION_COLUMNS: &str = "s.user_id, u.username, u.passkey_hash, u.passkey_nonce, \
     u.passkey_sealed, s.address, s.created_at, s.last_seen";

/// Locks a user's row until the transaction ends.
async fn lock_user(conn: &mut sqlx::PgConnection, user_id: i64) -> Result<(), StoreError> {
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    Ok(())
}

impl PgStore {
    pub(super) async fn open_session(
        &self,
        user_id: i64,
        token_hash: &str,
        address: &str,
        now: i64,
        cutoff: i64,
        takeover: bool,
    ) -> Result<SessionOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_user(&mut tx, user_id).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND last_seen < $2")
            .bind(user_id)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        if !takeover {
            let live = sqlx::query("SELECT address, created_at FROM sessions WHERE user_id = $1")
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
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id) DO UPDATE SET \
             token_hash = excluded.token_hash, address = excluded.address, \
             created_at = excluded.created_at, last_seen = excluded.last_seen",
        )
        .bind(user_id)
        .bind(token_hash)
        .bind(text(address))
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
    }

    /// Renews a live session of either table and returns it.
    pub(super) async fn touch_session(
        &self,
        token_hash: &str,
        now: i64,
        cutoff: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        for table in ["sessions", "web_sessions"] {
            let row = sqlx::query(&format!(
                "UPDATE {table} s SET last_seen = GREATEST(s.last_seen, $1) FROM users u \
                 WHERE u.id = s.user_id AND s.token_hash = $2 AND s.last_seen >= $3 \
                 RETURNING {SESSION_COLUMNS}"
            ))
            .bind(now)
            .bind(token_hash)
            .bind(cutoff)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                return session(&row).map(Some);
            }
        }
        Ok(None)
    }

    pub(super) async fn close_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let mut ended = 0;
        for table in ["sessions", "web_sessions"] {
            let done = sqlx::query(&format!("DELETE FROM {table} WHERE token_hash = $1"))
                .bind(token_hash)
                .execute(&self.pool)
                .await?;
            ended += done.rows_affected();
        }
        Ok(ended > 0)
    }

    pub(super) async fn close_user_session(&self, user_id: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ended = 0;
        for table in ["sessions", "web_sessions"] {
            let done = sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            ended += done.rows_affected();
        }
        tx.commit().await?;
        Ok(ended > 0)
    }

    pub(super) async fn online(&self, cutoff: i64) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.last_seen >= $1 ORDER BY u.username"
        ))
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        let mut live = rows.iter().map(session).collect::<Result<Vec<_>, _>>()?;
        // A user online only in a browser is online too (once, by the
        // session seen last).
        let rows = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM web_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.last_seen >= $1 ORDER BY u.username, s.last_seen DESC"
        ))
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        for web in rows.iter().map(session) {
            let web = web?;
            if !live.iter().any(|s| s.user_id == web.user_id) {
                live.push(web);
            }
        }
        live.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(live)
    }

    /// Opens a browser session, ending the user's expired ones and the
    /// oldest past [`MAX_WEB_SESSIONS_PER_USER`].
    pub(super) async fn open_web_session(
        &self,
        user_id: i64,
        token_hash: &str,
        address: &str,
        now: i64,
        cutoff: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_user(&mut tx, user_id).await?;
        sqlx::query("DELETE FROM web_sessions WHERE user_id = $1 AND last_seen < $2")
            .bind(user_id)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (token_hash, user_id, address, created_at, last_seen) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(text(address))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM web_sessions WHERE user_id = $1 AND token_hash NOT IN \
             (SELECT token_hash FROM web_sessions WHERE user_id = $1 \
              ORDER BY created_at DESC, id DESC LIMIT $2)",
        )
        .bind(user_id)
        .bind(MAX_WEB_SESSIONS_PER_USER)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends the sessions nobody renewed since `cutoff`; the usernames of
    /// the daemon sessions ended (browser sessions end without an event).
    pub(super) async fn expire_sessions(&self, cutoff: i64) -> Result<Vec<String>, StoreError> {
        sqlx::query("DELETE FROM web_sessions WHERE last_seen < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        // One statement: a session renewed meanwhile is neither deleted
        // nor named.
        let mut names: Vec<String> = sqlx::query_scalar(
            "DELETE FROM sessions s USING users u WHERE u.id = s.user_id AND s.last_seen < $1 \
             RETURNING u.username",
        )
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        names.sort();
        Ok(names)
    }
}
