//! Wake-ups from other trackerd instances on the same PostgreSQL (issue
//! 16): a writer sends `NOTIFY <channel>` in the transaction of its
//! change (delivered at commit); here a connection of its own LISTENs and
//! turns every notification into a wake-up. The payload is not trusted to
//! be complete: readers read what changed after the last row they saw, so
//! a notification lost while the connection was down costs nothing once
//! the wake-up sent on reconnecting comes.
//! Channels: event ids ([`EVENTS_CHANNEL`], `PgStore::add_event`), peer
//! changes ([`PEERS_CHANNEL`], `PgStore::write_peers`, the writer's id), and the announce
//! index ([`INDEX_CHANNEL`], triggers of migration 0002).

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};

use crate::store::StoreError;
use crate::store::peers::{Wakeup, Wakeups, wakeups};

/// The channel event ids are announced on.
pub(super) const EVENTS_CHANNEL: &str = "trackerd_events";
/// The channel peer-change writes are announced on.
pub(super) const PEERS_CHANNEL: &str = "trackerd_peers";
/// The channel the announce index's sources are announced on.
pub(super) const INDEX_CHANNEL: &str = "trackerd_index";

/// Pause before listening again after the database refused us, so a
/// database that is down is not hammered.
const RELISTEN_PAUSE: Duration = Duration::from_secs(1);

/// Starts listening on `channel`: a wake-up per notification (coalesced:
/// at most one waits) but those whose payload is `ignore` (a listener
/// hears its own connection's writers too), and a [`Wakeup::Reconnected`]
/// after each lost connection. Stops when the receiver is dropped.
pub(super) async fn listen(
    pool: &PgPool,
    channel: &'static str,
    ignore: Option<String>,
) -> Result<Wakeups, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    let (tx, rx) = wakeups();
    tokio::spawn(async move {
        loop {
            let got = tokio::select! {
                _ = tx.closed() => break,
                got = listener.try_recv() => got,
            };
            match got {
                Ok(Some(n)) if ignore.as_deref() == Some(n.payload()) => {}
                Ok(Some(_)) => tx.send(Wakeup::Notified),
                // The connection was lost; the next call reconnects and
                // listens again.
                Ok(None) => tx.send(Wakeup::Reconnected),
                Err(e) => {
                    tracing::warn!("listening for other instances on {channel}: {e}");
                    tokio::select! {
                        _ = tx.closed() => break,
                        _ = tokio::time::sleep(RELISTEN_PAUSE) => {}
                    }
                    tx.send(Wakeup::Reconnected);
                }
            }
        }
    });
    Ok(rx)
}
