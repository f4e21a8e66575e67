//! Turns what the engine reports (completed, failed) into the control
//! protocol's events for subscribers. The engine says what happened; the
//! daemon does not infer it from snapshots.

use p2p_proto::ipc::Event;
use tokio::sync::broadcast::{self, Receiver};
use tokio_util::sync::CancellationToken;

use crate::engine::{EngineEvent, next_event};

/// Forwards engine events to subscribers until `cancel`.
pub(crate) async fn forward(
    mut rx: Receiver<EngineEvent>,
    events: broadcast::Sender<Event>,
    cancel: CancellationToken,
) {
    while let Some(event) = next_event(&mut rx, &cancel, "subscribers").await {
        if let Some(shown) = shown(event) {
            let _ = events.send(shown);
        }
    }
}

/// The subscriber event for an engine event, if subscribers hear of it.
fn shown(event: EngineEvent) -> Option<Event> {
    match event {
        EngineEvent::Completed { info_hash, name } => {
            tracing::info!(torrent = %name, "download complete");
            Some(Event::Completed { info_hash, name })
        }
        EngineEvent::Failed {
            info_hash, message, ..
        } => Some(Event::Error { info_hash, message }),
        EngineEvent::MetadataReceived { info_hash, name } => {
            tracing::info!(torrent = %name, %info_hash, "metadata received");
            None
        }
        // The engine logged what it found; `verify` answers with it.
        EngineEvent::Stopped { .. } | EngineEvent::Rechecked { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use p2p_proto::infohash::InfoHash;

    use super::*;

    #[test]
    fn completions_and_failures_reach_subscribers_and_stops_do_not() {
        let ih = InfoHash([1; 20]);
        assert_eq!(
            shown(EngineEvent::Completed {
                info_hash: ih,
                name: "a".into()
            }),
            Some(Event::Completed {
                info_hash: ih,
                name: "a".into()
            })
        );
        assert_eq!(
            shown(EngineEvent::Failed {
                info_hash: ih,
                name: "a".into(),
                message: "disk full".into()
            }),
            Some(Event::Error {
                info_hash: ih,
                message: "disk full".into()
            })
        );
        assert_eq!(shown(EngineEvent::Stopped { info_hash: ih }), None);
    }
}
