//! Events appended by other trackerd instances on the same PostgreSQL
//! (issue 16): each event's insert sends `NOTIFY trackerd_events, '<id>'`
//! at commit ([`super::PgStore::add_event`]); here a connection of its own
//! LISTENs and turns every notification into a wake-up. The payload is
//! not trusted to be complete: the reader reads the log after the last id
//! it saw, so a notification lost while the connection was down costs
//! nothing once the next wake-up (sent on reconnecting) comes.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;

use crate::store::StoreError;

/// The channel event ids are announced on.
pub(super) const EVENTS_CHANNEL: &str = "trackerd_events";

/// Pause before listening again after the database refused us, so a
/// database that is down is not hammered.
const RELISTEN_PAUSE: Duration = Duration::from_secs(1);

/// Starts listening; a wake-up per notification (coalesced: at most one
/// waits) and one after each reconnection.
pub(super) async fn event_wakeups(pool: &PgPool) -> Result<mpsc::Receiver<()>, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(EVENTS_CHANNEL).await?;
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        loop {
            let got = tokio::select! {
                _ = tx.closed() => break,
                got = listener.try_recv() => got,
            };
            match got {
                // A notification, or a lost connection (the next call
                // reconnects and listens again): either way, read the log.
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("listening for other instances' events: {e}");
                    tokio::select! {
                        _ = tx.closed() => break,
                        _ = tokio::time::sleep(RELISTEN_PAUSE) => {}
                    }
                }
            }
            // Full: a wake-up is already waiting, and it covers this one.
            let _ = tx.try_send(());
        }
    });
    Ok(rx)
}
