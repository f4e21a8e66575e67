//! Several trackerd instances on one PostgreSQL database acting as one
//! tracker (issue 16): their swarms and their announce indexes kept in
//! step through the database. The announce path stays in memory: it only
//! records the change in an [`outbox::Outbox`]; a writer task sends the
//! outbox in a batch every `store.swarm_share_interval_ms`, a reader task
//! applies the other instances' changes when the database says there are
//! some (read after the last `seq` applied; everything again after a lost
//! connection), and an index task reads the announce index again when
//! another instance changed what it is built from. Nothing of this runs
//! on SQLite. Must not hold swarm or access rules itself.

pub mod outbox;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::Tracker;
use crate::store::StoreError;
use crate::store::peers::{PeerExchange, SharedPeer, Wakeup, Wakeups};
use crate::swarm::RemotePeer;
use outbox::Outbox;

/// Batches (of up to a few thousand changes each) read from the database
/// at a time.
const READ_BATCHES: u32 = 16;
/// How often expired rows are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// This instance's side of the shared swarms.
#[derive(Debug)]
pub struct Sharing {
    /// Where changes go.
    exchange: Arc<dyn PeerExchange>,
    /// This run's id in the shared rows (random: a restarted instance is a
    /// new one, and the rows of its last run are others' to it).
    instance: i64,
    /// Changes waiting for the next batch.
    pub outbox: Outbox,
}

impl Sharing {
    /// Sharing through `exchange`.
    pub fn new(exchange: Arc<dyn PeerExchange>) -> Sharing {
        Sharing {
            exchange,
            instance: rand::rng().random(),
            outbox: Outbox::default(),
        }
    }
}

/// Reads the other instances' peers, then keeps the swarms and the
/// announce index in step until `token` is cancelled (the writer sends
/// a last batch then). A no-op on a database only this instance uses.
pub async fn start(
    t: Arc<Tracker>,
    token: CancellationToken,
    tasks: &TaskTracker,
) -> Result<(), StoreError> {
    let Some(sharing) = &t.sharing else {
        return Ok(());
    };
    let exchange = sharing.exchange.clone();
    // Listen first, then read: a change committed in between wakes us.
    let peer_wakeups = exchange.peer_wakeups(sharing.instance).await?;
    let index_wakeups = exchange.index_wakeups().await?;
    // The index was read before we listened: read it again, now that a
    // later change wakes us.
    t.reload_index().await?;
    let mut last = 0;
    // What the other instances hold now; their completions are in the
    // stored counters already.
    read(&t, &mut last, false).await?;
    tasks.spawn(reader(t.clone(), peer_wakeups, last, token.clone()));
    tasks.spawn(index_follower(t.clone(), index_wakeups, token.clone()));
    tasks.spawn(writer(t, token));
    Ok(())
}

/// Applies the rows after `last`, moving `last` on; counts the
/// completions they carry when `completions` (not when resyncing).
async fn read(t: &Tracker, last: &mut i64, completions: bool) -> Result<usize, StoreError> {
    let Some(sharing) = &t.sharing else {
        return Ok(0);
    };
    let mut applied = 0;
    loop {
        let got = sharing
            .exchange
            .peers_after(sharing.instance, *last, READ_BATCHES)
            .await?;
        if let Some(p) = got.peers.last() {
            *last = p.seq;
        }
        applied += apply(t, &got.peers, completions);
        if !got.more {
            return Ok(applied);
        }
    }
}

fn apply(t: &Tracker, batch: &[SharedPeer], completions: bool) -> usize {
    let now = Instant::now();
    let timeout = Duration::from_secs(t.config.announce.peer_timeout_secs);
    let mut changes: Vec<RemotePeer> = batch
        .iter()
        // Kept past its expiry for its `stopped`s: it adds no one.
        .filter(|p| !p.expires_in.is_zero() || p.change.stopped)
        .map(|p| {
            let c = &p.change;
            RemotePeer {
                swarm: t.swarm_key(&c.info_hash, c.outsider),
                peer_id: c.peer_id,
                addr: c.addr,
                seeder: c.seeder,
                stopped: c.stopped,
                completed: completions && c.completed,
                expires_in: p.expires_in,
            }
        })
        .collect();
    let dropped = t.swarms.apply_remote_batch(&mut changes, now, timeout);
    if dropped > 0 {
        tracing::warn!("{dropped} peers of other instances dropped: the swarms are full");
    }
    batch.len()
}

async fn reader(t: Arc<Tracker>, mut wakeups: Wakeups, mut last: i64, token: CancellationToken) {
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            w = wakeups.next() => {
                let resync = match w {
                    None => break,
                    Some(Wakeup::Notified) => false,
                    // Everything again: what we missed, and rows of a
                    // database that may have been replaced.
                    Some(Wakeup::Reconnected) => true,
                };
                if resync {
                    last = 0;
                }
                if let Err(e) = read(&t, &mut last, !resync).await {
                    tracing::warn!("reading other instances' peers: {e}");
                }
            }
            _ = sweep.tick() => {
                if let Some(s) = &t.sharing
                    && let Err(e) = s.exchange.sweep_peers().await
                {
                    tracing::warn!("deleting expired shared peers: {e}");
                }
            }
        }
    }
}

async fn writer(t: Arc<Tracker>, token: CancellationToken) {
    let every = Duration::from_millis(t.config.store.swarm_share_interval_ms.clamp(10, 500));
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = tick.tick() => write(&t).await,
        }
    }
    write(&t).await;
}

/// Sends the outbox; keeps it for the next try when the database fails.
async fn write(t: &Tracker) {
    let Some(s) = &t.sharing else { return };
    let batch = s.outbox.drain();
    if batch.is_empty() {
        return;
    }
    let ttl = Duration::from_secs(t.config.announce.peer_timeout_secs);
    if let Err(e) = s.exchange.write_peers(s.instance, ttl, &batch).await {
        tracing::warn!("sharing {} peer changes: {e}", batch.len());
        s.outbox.restore(batch);
    }
}

async fn index_follower(t: Arc<Tracker>, mut wakeups: Wakeups, token: CancellationToken) {
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            w = wakeups.next() => {
                if w.is_none() {
                    break;
                }
                if let Err(e) = t.reload_index().await {
                    tracing::warn!("reading the announce index again: {e}");
                }
            }
        }
    }
}
