//! Users on PostgreSQL: accounts, passkeys and traffic counters. A taken
//! name is caught by the UNIQUE constraint, not by reading first, so two
//! registrations of one name (on one instance or two) give one account.

use sqlx::Row;

use super::PgStore;
use super::rows::{stored_passkey, text, unsigned, user};
use crate::store::StoreError;
use crate::store::community::{StoredPasskey, TrafficDelta, UserRecord};
use crate::store::rows::{is_unique_violation, signed};

impl PgStore {
    pub(super) async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        passkey: &StoredPasskey,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let r = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (username, password_hash, passkey_hash, passkey_nonce, \
             passkey_sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(text(username))
        .bind(password_hash)
        .bind(&passkey.hash)
        .bind(&passkey.nonce)
        .bind(&passkey.sealed)
        .bind(now)
        .fetch_one(&self.pool)
        .await;
        match r {
            Ok(id) => Ok(Some(id)),
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn user_by_name(
        &self,
        username: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE username = $1")
            .bind(text(username))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user).transpose()
    }

    pub(super) async fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        // A new password ends every browser session too.
        sqlx::query("DELETE FROM web_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn passkeys(&self) -> Result<Vec<(StoredPasskey, i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT passkey_hash, passkey_nonce, passkey_sealed, id, username FROM users",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((stored_passkey(r)?, r.try_get("id")?, r.try_get("username")?)))
            .collect()
    }

    pub(super) async fn set_passkey(
        &self,
        user_id: i64,
        passkey: &StoredPasskey,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET passkey_hash = $1, passkey_nonce = $2, passkey_sealed = $3 \
             WHERE id = $4",
        )
        .bind(&passkey.hash)
        .bind(&passkey.nonce)
        .bind(&passkey.sealed)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn add_traffic(&self, deltas: &[TrafficDelta]) -> Result<(), StoreError> {
        // One order for every writer, so that two instances flushing at
        // once cannot deadlock on each other's rows.
        let mut sorted: Vec<&TrafficDelta> = deltas.iter().collect();
        sorted.sort_by_key(|d| d.user);
        let mut tx = self.pool.begin().await?;
        for d in sorted {
            sqlx::query(
                "UPDATE users SET uploaded = uploaded + $1, downloaded = downloaded + $2 \
                 WHERE id = $3",
            )
            .bind(signed(d.uploaded))
            .bind(signed(d.downloaded))
            .bind(d.user)
            .execute(&mut *tx)
            .await?;
            if d.public_uploaded > 0 || d.public_downloaded > 0 {
                sqlx::query(
                    "INSERT INTO public_traffic (user_id, uploaded, downloaded) \
                     VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET \
                     uploaded = public_traffic.uploaded + excluded.uploaded, \
                     downloaded = public_traffic.downloaded + excluded.downloaded",
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
    }

    pub(super) async fn public_traffic(&self, user_id: i64) -> Result<(u64, u64), StoreError> {
        let row = sqlx::query("SELECT uploaded, downloaded FROM public_traffic WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok((unsigned(&r, "uploaded")?, unsigned(&r, "downloaded")?)),
            None => Ok((0, 0)),
        }
    }
}
