//! Peer changes shared between instances (issue 16): the
//! [`PeerExchange`] of PostgreSQL over the UNLOGGED `swarm_peers` table
//! of migration 0002. A batch is one statement (arrays unnested), under
//! an advisory lock held until commit so that `seq` values commit in
//! order; the NOTIFY goes out at commit.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::PeerId;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PgStore;
use super::listen::{INDEX_CHANNEL, PEERS_CHANNEL, listen};
use crate::store::peers::{PeerChange, PeerExchange, SharedPeer, Wakeups};
use crate::store::{StoreError, StoreFuture};

/// Advisory lock key serializing peer-change writers (any number; the
/// event log uses another).
const PEER_WRITES_LOCK: i64 = 0x7472_6163_6b70_6565;

/// How long an expired row is kept (so a reader a little behind still
/// reads a tombstone rather than nothing).
const SWEEP_AFTER_SECS: f64 = 60.0;

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn twenty(v: Vec<u8>, what: &str) -> Result<[u8; 20], StoreError> {
    <[u8; 20]>::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} is not 20 bytes")))
}

fn shared_peer(r: &PgRow) -> Result<SharedPeer, StoreError> {
    let ip: Vec<u8> = r.try_get("ip")?;
    let ip = match ip.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(ip.as_slice()).unwrap_or_default()),
        16 => IpAddr::from(<[u8; 16]>::try_from(ip.as_slice()).unwrap_or_default()),
        n => return Err(StoreError::Corrupt(format!("peer address of {n} bytes"))),
    };
    let port: i32 = r.try_get("port")?;
    let port = u16::try_from(port).map_err(|_| StoreError::Corrupt(format!("port {port}")))?;
    let expires_in: f64 = r.try_get("expires_in")?;
    Ok(SharedPeer {
        seq: r.try_get("seq")?,
        change: PeerChange {
            info_hash: InfoHash(twenty(r.try_get("info_hash")?, "info_hash")?),
            outsider: r.try_get("outsider")?,
            peer_id: PeerId(twenty(r.try_get("peer_id")?, "peer_id")?),
            addr: SocketAddr::new(ip, port),
            seeder: r.try_get("seeder")?,
            stopped: r.try_get("stopped")?,
            completed: r.try_get("completed")?,
        },
        expires_in: Duration::try_from_secs_f64(expires_in).unwrap_or_default(),
    })
}

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
            let col = |f: fn(&PeerChange) -> Vec<u8>| changes.iter().map(f).collect::<Vec<_>>();
            let flag = |f: fn(&PeerChange) -> bool| changes.iter().map(f).collect::<Vec<_>>();
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(PEER_WRITES_LOCK)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO swarm_peers (info_hash, outsider, peer_id, instance, ip, port, \
                 seeder, stopped, completed, expires_at, seq) \
                 SELECT h, o, p, $1, ip, port, s, st, c, now() + make_interval(secs => $2), \
                 nextval('swarm_peers_seq') \
                 FROM UNNEST($3::bytea[], $4::bool[], $5::bytea[], $6::bytea[], $7::int4[], \
                 $8::bool[], $9::bool[], $10::bool[]) AS t(h, o, p, ip, port, s, st, c) \
                 ON CONFLICT (info_hash, outsider, peer_id) DO UPDATE SET \
                 instance = excluded.instance, ip = excluded.ip, port = excluded.port, \
                 seeder = excluded.seeder, stopped = excluded.stopped, \
                 completed = excluded.completed, expires_at = excluded.expires_at, \
                 seq = excluded.seq",
            )
            .bind(instance)
            .bind(ttl.as_secs_f64())
            .bind(col(|c| c.info_hash.0.to_vec()))
            .bind(flag(|c| c.outsider))
            .bind(col(|c| c.peer_id.0.to_vec()))
            .bind(col(|c| ip_bytes(c.addr.ip())))
            .bind(
                changes
                    .iter()
                    .map(|c| i32::from(c.addr.port()))
                    .collect::<Vec<_>>(),
            )
            .bind(flag(|c| c.seeder))
            .bind(flag(|c| c.stopped))
            .bind(flag(|c| c.completed))
            .execute(&mut *tx)
            .await?;
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(PEERS_CHANNEL)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn peers_after(
        &self,
        instance: i64,
        after: i64,
        limit: u32,
    ) -> StoreFuture<'_, Vec<SharedPeer>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT seq, info_hash, outsider, peer_id, ip, port, seeder, stopped, completed, \
                 EXTRACT(EPOCH FROM expires_at - now())::float8 AS expires_in \
                 FROM swarm_peers WHERE seq > $1 AND instance <> $2 AND expires_at > now() \
                 ORDER BY seq LIMIT $3",
            )
            .bind(after)
            .bind(instance)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(shared_peer).collect()
        })
    }

    fn sweep_peers(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let done = sqlx::query(
                "DELETE FROM swarm_peers WHERE expires_at < now() - make_interval(secs => $1)",
            )
            .bind(SWEEP_AFTER_SECS)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        })
    }

    fn peer_wakeups(&self) -> StoreFuture<'_, Wakeups> {
        Box::pin(listen(&self.pool, PEERS_CHANNEL))
    }

    fn index_wakeups(&self) -> StoreFuture<'_, Wakeups> {
        Box::pin(listen(&self.pool, INDEX_CHANNEL))
    }
}
