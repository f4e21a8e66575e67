//! The event log: a page of it (`GET /api/v1/events`), and the streams
//! (`GET /api/v1/events/stream`, `GET /api/v1/session/stream`) whose
//! server-sent events carry the types below as JSON data.

use serde::{Deserialize, Serialize};

use crate::infohash::InfoHash;

/// One line of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Increasing id.
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// What happened: `register`, `login`, `logout`, `session_expired`,
    /// `publish`, `withdraw`, `group_created`, `join_requested`, ... An
    /// open set: the tracker adds kinds without a new contract.
    pub kind: String,
    /// Who did it.
    pub username: Option<String>,
    /// The group concerned (members only may see it).
    pub group: Option<String>,
    /// The torrent concerned.
    pub info_hash: Option<InfoHash>,
    /// Free text.
    pub detail: String,
}

/// Query of `GET /api/v1/events`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQuery {
    /// Only events with a greater id.
    pub after: Option<i64>,
    /// At most this many (1 to [`MAX_EVENT_PAGE`]; [`DEFAULT_EVENT_PAGE`]).
    pub limit: Option<u32>,
}

/// Events in a page when the query gives no limit.
pub const DEFAULT_EVENT_PAGE: u32 = 100;
/// Largest page.
pub const MAX_EVENT_PAGE: u32 = 1000;

/// Answer to `GET /api/v1/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPage {
    /// Events the caller may see, oldest first.
    pub events: Vec<EventRecord>,
    /// Pass as `after` for the next page.
    pub next_after: i64,
}

/// A server-sent event of the streams: the SSE `event:` name selects the
/// variant, the `data:` line is its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// `hello`: the stream is open.
    Hello(StreamHello),
    /// `event`: a line of the event log (the SSE id is its id).
    Event(EventRecord),
    /// `renewed`: the session stream renewed the session.
    Renewed(Renewed),
    /// `session_ended`: the session is over (logged in elsewhere, expired,
    /// logged out); the stream ends.
    SessionEnded(SessionEnded),
    /// `shutdown`: the tracker is stopping; the stream ends.
    Shutdown(Shutdown),
    /// `lagged`: the reader was too slow and missed events.
    Lagged(Lagged),
}

/// Why an SSE event is not a [`StreamEvent`].
#[derive(Debug, thiserror::Error)]
pub enum StreamEventError {
    /// An event name this build does not know.
    #[error("unknown stream event {0:?}")]
    UnknownName(String),
    /// The data does not fit the event.
    #[error("bad data for stream event {name:?}: {source}")]
    BadData {
        /// The event name.
        name: String,
        /// What serde said.
        source: serde_json::Error,
    },
}

impl StreamEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            StreamEvent::Hello(_) => "hello",
            StreamEvent::Event(_) => "event",
            StreamEvent::Renewed(_) => "renewed",
            StreamEvent::SessionEnded(_) => "session_ended",
            StreamEvent::Shutdown(_) => "shutdown",
            StreamEvent::Lagged(_) => "lagged",
        }
    }

    /// The SSE data line: this event's JSON.
    pub fn data(&self) -> String {
        let json = match self {
            StreamEvent::Hello(v) => serde_json::to_string(v),
            StreamEvent::Event(v) => serde_json::to_string(v),
            StreamEvent::Renewed(v) => serde_json::to_string(v),
            StreamEvent::SessionEnded(v) => serde_json::to_string(v),
            StreamEvent::Shutdown(v) => serde_json::to_string(v),
            StreamEvent::Lagged(v) => serde_json::to_string(v),
        };
        // Plain structs of strings and numbers always serialise.
        json.unwrap_or_default()
    }

    /// Reads an SSE event from its name and data.
    pub fn decode(name: &str, data: &str) -> Result<StreamEvent, StreamEventError> {
        fn de<T: serde::de::DeserializeOwned>(
            name: &str,
            data: &str,
        ) -> Result<T, StreamEventError> {
            serde_json::from_str(data).map_err(|source| StreamEventError::BadData {
                name: name.to_owned(),
                source,
            })
        }
        Ok(match name {
            "hello" => StreamEvent::Hello(de(name, data)?),
            "event" => StreamEvent::Event(de(name, data)?),
            "renewed" => StreamEvent::Renewed(de(name, data)?),
            "session_ended" => StreamEvent::SessionEnded(de(name, data)?),
            "shutdown" => StreamEvent::Shutdown(de(name, data)?),
            "lagged" => StreamEvent::Lagged(de(name, data)?),
            other => {
                return Err(StreamEventError::UnknownName(
                    other.chars().take(64).collect(),
                ));
            }
        })
    }
}

/// Data of `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamHello {
    /// Whose stream it is.
    pub username: String,
    /// Seconds without a request before the session ends.
    pub session_ttl_secs: i64,
}

/// Data of `renewed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Renewed {
    /// Unix seconds of the renewal.
    pub at: i64,
}

/// Data of `session_ended`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEnded {
    /// Whose session ended.
    pub username: String,
}

/// Data of `shutdown`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shutdown {
    /// Why, for people.
    pub reason: String,
}

/// Data of `lagged`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lagged {
    /// Events missed.
    pub missed: u64,
}
