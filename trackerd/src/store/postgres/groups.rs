//! Groups on PostgreSQL: groups, join requests and members. A change to a
//! group's members first locks the group's row, so joins and leaves of
//! one group take turns (join order and the passing of ownership stay
//! what SQLite's single writer gives).

use sqlx::Row;

use super::PgStore;
use super::rows::{group, member, text};
use crate::store::StoreError;
use crate::store::community::{GroupRecord, LeaveOutcome, MemberRecord};
use crate::store::rows::{GROUP_SELECT, is_unique_violation};

/// Locks a group's row until the transaction ends; its owner, if it exists.
async fn lock_group(
    conn: &mut sqlx::PgConnection,
    group_id: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT owner_id FROM groups WHERE id = $1 FOR UPDATE")
            .bind(group_id)
            .fetch_optional(conn)
            .await?,
    )
}

impl PgStore {
    pub(super) async fn create_group(
        &self,
        name: &str,
        owner_id: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query_scalar::<_, i64>(
            "INSERT INTO groups (name, owner_id, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(text(name))
        .bind(owner_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        let id = match r {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id, joined_at, seq) VALUES ($1, $2, $3, 0)",
        )
        .bind(id)
        .bind(owner_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    pub(super) async fn groups(&self) -> Result<Vec<GroupRecord>, StoreError> {
        let rows = sqlx::query(&format!("{GROUP_SELECT} ORDER BY g.name"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(group).collect()
    }

    pub(super) async fn group(&self, name: &str) -> Result<Option<GroupRecord>, StoreError> {
        let row = sqlx::query(&format!("{GROUP_SELECT} WHERE g.name = $1"))
            .bind(text(name))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(group).transpose()
    }

    pub(super) async fn add_request(
        &self,
        group_id: i64,
        user_id: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO join_requests (group_id, user_id, requested_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(group_id)
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn requests(&self, group_id: i64) -> Result<Vec<MemberRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.user_id, u.username, r.requested_at AS since FROM join_requests r \
             JOIN users u ON u.id = r.user_id WHERE r.group_id = $1 \
             ORDER BY r.requested_at, u.username",
        )
        .bind(group_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(member).collect()
    }

    pub(super) async fn accept_request(
        &self,
        group_id: i64,
        user_id: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_group(&mut tx, group_id).await?;
        let done = sqlx::query("DELETE FROM join_requests WHERE group_id = $1 AND user_id = $2")
            .bind(group_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id, joined_at, seq) VALUES ($1, $2, $3, \
             (SELECT COALESCE(max(seq), 0) + 1 FROM group_members WHERE group_id = $1)) \
             ON CONFLICT DO NOTHING",
        )
        .bind(group_id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn reject_request(
        &self,
        group_id: i64,
        user_id: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM join_requests WHERE group_id = $1 AND user_id = $2")
            .bind(group_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn members(&self, group_id: i64) -> Result<Vec<MemberRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.user_id, u.username, m.joined_at AS since FROM group_members m \
             JOIN users u ON u.id = m.user_id WHERE m.group_id = $1 ORDER BY m.seq",
        )
        .bind(group_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(member).collect()
    }

    pub(super) async fn leave_group(
        &self,
        group_id: i64,
        user_id: i64,
    ) -> Result<LeaveOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let Some(owner) = lock_group(&mut tx, group_id).await? else {
            return Ok(LeaveOutcome::NotMember);
        };
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(LeaveOutcome::NotMember);
        }
        let outcome = if owner != user_id {
            LeaveOutcome::Left
        } else {
            let next = sqlx::query(
                "SELECT m.user_id, u.username FROM group_members m \
                 JOIN users u ON u.id = m.user_id WHERE m.group_id = $1 ORDER BY m.seq LIMIT 1",
            )
            .bind(group_id)
            .fetch_optional(&mut *tx)
            .await?;
            match next {
                Some(row) => {
                    let next_id: i64 = row.try_get("user_id")?;
                    sqlx::query("UPDATE groups SET owner_id = $1 WHERE id = $2")
                        .bind(next_id)
                        .bind(group_id)
                        .execute(&mut *tx)
                        .await?;
                    LeaveOutcome::OwnerPassed(row.try_get("username")?)
                }
                None => {
                    sqlx::query("DELETE FROM catalog WHERE group_id = $1")
                        .bind(group_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM groups WHERE id = $1")
                        .bind(group_id)
                        .execute(&mut *tx)
                        .await?;
                    LeaveOutcome::Deleted
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    pub(super) async fn memberships(&self) -> Result<Vec<(i64, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.group_id, g.name, m.user_id FROM group_members m \
             JOIN groups g ON g.id = m.group_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("group_id")?,
                    r.try_get("name")?,
                    r.try_get("user_id")?,
                ))
            })
            .collect()
    }
}
