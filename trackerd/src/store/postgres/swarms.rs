//! Peer changes shared between instances (issue 16): the
//! [`PeerExchange`] of PostgreSQL over the UNLOGGED `swarm_batches` table
//! of migration 0004, one appended row per batch (packed by
//! [`super::change_batch`]). A batch is written in one statement under an
//! advisory lock held until commit so that `seq` values commit in order;
//! the NOTIFY goes out at commit and carries the writer's id, so that it
//! does not wake the writer's own reader.

use std::time::Duration;

use sqlx::Row;

use super::PgStore;
use super::change_batch;
use super::listen::{INDEX_CHANNEL, PEERS_CHANNEL, listen};
use crate::store::StoreFuture;
use crate::store::peers::{PeerChange, PeerExchange, SharedPeer, SharedPeers, Wakeups};

/// Advisory lock key serializing peer-change writers (any number; the
/// event log uses another).
const PEER_WRITES_LOCK: i64 = 0x7472_6163_6b70_6565;

/// How long an expired row is kept (so a reader a little behind still
/// reads a tombstone rather than nothing).
const SWEEP_AFTER_SECS: f64 = 60.0;

/// Changes in one row at most (59 bytes each: about 240 KB), so that a
/// large batch is read back in pieces.
const MAX_CHANGES_PER_ROW: usize = 4096;

impl PeerExchange for PgStore {
    fn write_peers<'a>(
        &'a self,
        instance: i64,
        ttl: Duration,
        changes: &'a [PeerChange],
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if changes.is_empty() {
                return Ok(());
            }
            // A batch holds one change per peer: the order of its rows
            // does not matter.
            let rows: Vec<Vec<u8>> = changes
                .chunks(MAX_CHANGES_PER_ROW)
                .map(change_batch::encode)
                .collect();
            // One statement, so one round trip and its own transaction:
            // every row of the insert joins the lock's row, so the lock is
            // taken before any `seq` is; it and the NOTIFY end at commit.
            sqlx::query(
                "WITH writers AS (SELECT pg_advisory_xact_lock($1)), \
                 appended AS (INSERT INTO swarm_batches (seq, instance, expires_at, changes) \
                 SELECT nextval('swarm_batches_seq'), $2, now() + make_interval(secs => $3), c \
                 FROM writers, UNNEST($4::bytea[]) AS t(c) RETURNING 1) \
                 SELECT pg_notify($5, $6) FROM (SELECT 1 FROM appended LIMIT 1) AS any_row",
            )
            .bind(PEER_WRITES_LOCK)
            .bind(instance)
            .bind(ttl.as_secs_f64())
            .bind(rows)
            .bind(PEERS_CHANNEL)
            .bind(instance.to_string())
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn peers_after(&self, instance: i64, after: i64, rows: u32) -> StoreFuture<'_, SharedPeers> {
        Box::pin(async move {
            // Expired rows too: the sweep keeps them a while, and a
            // resyncing reader must still see a `stopped` in them.
            let got = sqlx::query(
                "SELECT seq, GREATEST(EXTRACT(EPOCH FROM expires_at - now()), 0)::float8, changes \
                 FROM swarm_batches WHERE seq > $1 AND instance <> $2 ORDER BY seq LIMIT $3",
            )
            .bind(after)
            .bind(instance)
            .bind(i64::from(rows))
            .fetch_all(&self.pool)
            .await?;
            let mut peers = Vec::new();
            for r in &got {
                let seq: i64 = r.try_get(0)?;
                let expires_in: f64 = r.try_get(1)?;
                let expires_in = Duration::try_from_secs_f64(expires_in).unwrap_or_default();
                let bytes: &[u8] = r.try_get(2)?;
                peers.extend(
                    change_batch::decode(bytes)?
                        .into_iter()
                        .map(|change| SharedPeer {
                            seq,
                            change,
                            expires_in,
                        }),
                );
            }
            Ok(SharedPeers {
                peers,
                more: got.len() == rows as usize,
            })
        })
    }

    fn sweep_peers(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            // Only rows older than every row kept: a `stopped` never goes
            // before an earlier change of its peer that an instance with a
            // longer expiry wrote.
            let done = sqlx::query(
                "DELETE FROM swarm_batches WHERE expires_at < now() - make_interval(secs => $1) \
                 AND seq < COALESCE((SELECT min(seq) FROM swarm_batches \
                 WHERE expires_at >= now() - make_interval(secs => $1)), 9223372036854775807)",
            )
            .bind(SWEEP_AFTER_SECS)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        })
    }

    fn peer_wakeups(&self, instance: i64) -> StoreFuture<'_, Wakeups> {
        Box::pin(listen(
            &self.pool,
            PEERS_CHANNEL,
            Some(instance.to_string()),
        ))
    }

    fn index_wakeups(&self) -> StoreFuture<'_, Wakeups> {
        Box::pin(listen(&self.pool, INDEX_CHANNEL, None))
    }
}
