//! [`SharedLimits`] on PostgreSQL: the `rate_places` table of migration
//! 0003. Each count is locked (a transaction-scoped advisory lock on its
//! scope and key, taken in one order) while it is checked and a place
//! taken, so two instances cannot both take a count's last place. Keys
//! are text as [`text`] stores it (a username tried may hold a NUL).

use sqlx::Row;

use super::PgStore;
use super::rows::text;
use crate::store::limits::{Full, Place, SharedLimits};
use crate::store::{StoreError, StoreFuture};

impl SharedLimits for PgStore {
    fn take_places<'a>(
        &'a self,
        places: &'a [Place],
        now: i64,
    ) -> StoreFuture<'a, Result<Vec<i64>, Full>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let mut order: Vec<&Place> = places.iter().collect();
            order.sort_by(|a, b| (a.scope, &a.key).cmp(&(b.scope, &b.key)));
            for p in order {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 0))")
                    .bind(p.scope)
                    .bind(text(&p.key))
                    .execute(&mut *tx)
                    .await?;
            }
            for (index, p) in places.iter().enumerate() {
                let row = sqlx::query(
                    "SELECT count(*) AS n, min(at) AS first FROM rate_places \
                     WHERE scope = $1 AND key = $2 AND at > $3",
                )
                .bind(p.scope)
                .bind(text(&p.key))
                .bind(now.saturating_sub(p.window_secs))
                .fetch_one(&mut *tx)
                .await?;
                let n: i64 = row.try_get("n")?;
                if n >= i64::from(p.max) {
                    let first: Option<i64> = row.try_get("first")?;
                    let wait_secs = first
                        .unwrap_or(now)
                        .saturating_add(p.window_secs)
                        .saturating_sub(now)
                        .max(1);
                    return Ok(Err(Full { index, wait_secs }));
                }
            }
            let mut ids = Vec::with_capacity(places.len());
            for p in places {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO rate_places (scope, key, at, expires_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(p.scope)
                .bind(text(&p.key))
                .bind(now)
                .bind(now.saturating_add(p.window_secs))
                .fetch_one(&mut *tx)
                .await?;
                ids.push(id);
            }
            tx.commit().await?;
            Ok(Ok(ids))
        })
    }

    fn give_back_places<'a>(&'a self, ids: &'a [i64]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if !ids.is_empty() {
                sqlx::query("DELETE FROM rate_places WHERE id = ANY($1)")
                    .bind(ids)
                    .execute(&self.pool)
                    .await?;
            }
            Ok(())
        })
    }

    fn prune_places(&self, now: i64) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM rate_places WHERE expires_at <= $1")
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(StoreError::from)?;
            Ok(done.rows_affected())
        })
    }
}
