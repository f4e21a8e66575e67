//! The session stream (`GET /api/v1/session/stream`): server-sent events
//! decoded by `eventsource-stream` (which handles any chunking) into the
//! contract's [`StreamEvent`]s, with the bytes of one event capped and a
//! silent connection treated as dropped.
//!
//! Does not reconnect and does not act on events: the caller does.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use p2p_proto::api::{ErrorBody, StreamEvent, StreamEventError};

use super::{CALL_TIMEOUT, TrackerApi, TrackerApiError};

/// Most bytes between two event boundaries (blank lines).
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// A stream silent this long is dead: trackerd sends a keep-alive comment
/// every 15 seconds.
pub const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

type EventItem = Result<eventsource_stream::Event, EventStreamError<StreamReadError>>;

/// An open session stream.
pub struct SessionStream {
    events: Pin<Box<dyn Stream<Item = EventItem> + Send>>,
    /// `scheme://host[:port]` of the instance serving it.
    instance: String,
}

impl std::fmt::Debug for SessionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStream")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// Why reading the stream's bytes failed.
#[derive(Debug, thiserror::Error)]
pub enum StreamReadError {
    /// The connection failed.
    #[error("{}", crate::http_client::error_chain(.0))]
    Transport(reqwest::Error),
    /// One event grew past [`MAX_EVENT_BYTES`].
    #[error("an event larger than {MAX_EVENT_BYTES} bytes")]
    EventTooLarge,
}

impl TrackerApi {
    /// Opens the session stream with `token`, on the instance in use or,
    /// when it does not answer, the next that does. A refused token is
    /// `Status { status: 401, .. }`.
    pub async fn session_stream(&self, token: &str) -> Result<SessionStream, TrackerApiError> {
        self.with_failover(true, |base| self.open_stream(base, token))
            .await
    }

    /// Opens the session stream on the instance at `base`.
    async fn open_stream(
        &self,
        base: String,
        token: &str,
    ) -> Result<SessionStream, TrackerApiError> {
        let open = self
            .http
            .get(format!("{base}/api/v1/session/stream"))
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send();
        let response = tokio::time::timeout(CALL_TIMEOUT, open)
            .await
            .map_err(|_| TrackerApiError::Timeout(CALL_TIMEOUT))??;
        let status = response.status();
        if !status.is_success() {
            let body = crate::http_client::read_capped(response, super::MAX_REPLY_BYTES)
                .await
                .ok();
            return Err(TrackerApiError::Status {
                status: status.as_u16(),
                body: body.and_then(|b| serde_json::from_slice::<ErrorBody>(&b).ok()),
            });
        }
        let mut boundary = EventBoundary::default();
        let bytes = response.bytes_stream().map(move |chunk| {
            let chunk = chunk.map_err(StreamReadError::Transport)?;
            boundary.feed(&chunk)?;
            Ok::<_, StreamReadError>(chunk)
        });
        Ok(SessionStream {
            events: Box::pin(bytes.eventsource()),
            instance: base,
        })
    }
}

impl SessionStream {
    /// `scheme://host[:port]` of the tracker instance serving the stream.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The next event; `None` when the tracker closed the stream. An error
    /// means the stream is unusable (dropped, silent, or broken). Events
    /// this build does not know (a newer tracker's) are skipped.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, TrackerApiError>> {
        loop {
            let item = match tokio::time::timeout(STREAM_IDLE_TIMEOUT, self.events.next()).await {
                Err(_) => return Some(Err(TrackerApiError::Timeout(STREAM_IDLE_TIMEOUT))),
                Ok(item) => item?,
            };
            let sse = match item {
                Ok(sse) => sse,
                Err(EventStreamError::Transport(StreamReadError::Transport(e))) => {
                    return Some(Err(e.into()));
                }
                Err(e) => return Some(Err(TrackerApiError::Decode(e.to_string()))),
            };
            match StreamEvent::decode(&sse.event, &sse.data) {
                Ok(event) => return Some(Ok(event)),
                Err(StreamEventError::UnknownName(name)) => {
                    tracing::debug!("skipping the unknown session stream event {name:?}");
                }
                Err(e) => return Some(Err(TrackerApiError::Decode(e.to_string()))),
            }
        }
    }
}

/// Counts the bytes since the last blank line (the end of an event), so
/// an endless event is refused instead of buffered.
#[derive(Debug, Default)]
struct EventBoundary {
    since_boundary: usize,
    at_line_start: bool,
}

impl EventBoundary {
    fn feed(&mut self, bytes: &[u8]) -> Result<(), StreamReadError> {
        for &b in bytes {
            match b {
                b'\n' => {
                    if self.at_line_start {
                        self.since_boundary = 0;
                    }
                    self.at_line_start = true;
                }
                b'\r' => {}
                _ => self.at_line_start = false,
            }
            self.since_boundary += 1;
            if self.since_boundary > MAX_EVENT_BYTES {
                return Err(StreamReadError::EventTooLarge);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_cap_resets_at_every_blank_line_whatever_the_chunking() {
        let event = format!("event: renewed\ndata: {}\n\n", "x".repeat(1000));
        let stream = event.repeat(200);
        for chunk_len in [1, 7, 4096] {
            let mut b = EventBoundary::default();
            for chunk in stream.as_bytes().chunks(chunk_len) {
                b.feed(chunk).unwrap();
            }
        }
        let mut b = EventBoundary::default();
        let endless = format!("data: {}\n", "y".repeat(1000)).repeat(100);
        assert!(matches!(
            b.feed(endless.as_bytes()),
            Err(StreamReadError::EventTooLarge)
        ));
        let mut b = EventBoundary::default();
        let crlf = format!("data: {}\r\n\r\n", "z".repeat(1000)).repeat(100);
        b.feed(crlf.as_bytes()).unwrap();
    }
}
