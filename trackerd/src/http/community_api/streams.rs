//! The event log over HTTP: paging (`GET /api/v1/events`), the live event
//! stream and the session stream (server-sent events). Streams send a
//! `shutdown` event and end when the tracker stops. Both keep their session
//! alive while open and end with it (`session_ended`: at the next check, or
//! at once when the log shows a logout, expiry or takeover of that user);
//! the session stream also says `renewed` at each renewal. Each stream
//! holds a place under the stream caps ([`crate::http::stream_slots`]) until
//! it ends; past a cap it is refused with 429 before it starts. A stream
//! that names the last event it saw (`Last-Event-ID`, as browsers send on
//! reconnecting) first gets the stored events after it, then live ones,
//! with none missed and none twice.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use p2p_proto::api::{
    DEFAULT_EVENT_PAGE, EventPage, Lagged, MAX_EVENT_PAGE, Renewed, SessionEnded, Shutdown,
    StreamEvent, StreamHello,
};
use tokio::sync::broadcast::error::RecvError;

use super::extract::{ApiError, Auth, query_param};
use crate::app::Tracker;
use crate::community::{Community, CommunityError, Session};
use crate::http::peer_ip;
use crate::http::stream_slots::{StreamSlot, StreamSlots};
use crate::store::community::{EventRecord, LoggedEvent};

/// Default page of `GET /api/v1/events`.
pub const DEFAULT_PAGE: u32 = DEFAULT_EVENT_PAGE;
/// Largest page.
pub const MAX_PAGE: u32 = MAX_EVENT_PAGE;

pub(super) async fn page(
    State(t): State<Arc<Tracker>>,
    RawQuery(q): RawQuery,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    let number = |key: &str, default: i64| -> Result<i64, ApiError> {
        match query_param(q.as_deref(), key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                ApiError(CommunityError::Invalid(format!(
                    "{key} must be an integer, got {v:?}"
                )))
            }),
        }
    };
    let after = number("after", 0)?;
    let limit =
        u32::try_from(number("limit", i64::from(DEFAULT_PAGE))?.clamp(1, i64::from(MAX_PAGE)))
            .unwrap_or(DEFAULT_PAGE);
    let rows = t
        .community
        .events
        .page(after, limit)
        .await
        .map_err(CommunityError::from)?;
    let next_after = rows.last().map_or(after, |e| e.record.id);
    let events: Vec<EventRecord> = rows
        .iter()
        .filter_map(|e| t.community.event_for(&s, e))
        .collect();
    Ok(Json(EventPage { events, next_after }).into_response())
}

/// What the stream does besides forwarding events.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The event stream of the API.
    Events,
    /// The session stream of the API.
    Session,
    /// The web dashboard's event stream (what the dashboard shows:
    /// [`Community::dashboard_event_for`]).
    Dashboard,
}

struct StreamState {
    c: Arc<Community>,
    s: Session,
    rx: tokio::sync::broadcast::Receiver<Arc<LoggedEvent>>,
    renew: tokio::time::Interval,
    kind: Kind,
    done: bool,
    /// Stored events still to send before live ones (a resumed stream).
    backlog: VecDeque<LoggedEvent>,
    /// Stored events after this id are still to be read (a resumed stream
    /// not caught up yet).
    resume_after: Option<i64>,
    /// The highest event id sent (or passed over): a live event at or
    /// below it already came from the store.
    last_id: i64,
    /// The stream's place under the stream caps, given back when it ends.
    _slot: StreamSlot,
}

fn sse(e: &StreamEvent) -> Event {
    let event = Event::default().event(e.name()).data(e.data());
    match e {
        StreamEvent::Event(record) => event.id(record.id.to_string()),
        _ => event,
    }
}

/// Kinds of events after which a user's session may be over (a logout, an
/// expiry, a login elsewhere that took the session over, or a password
/// change, which replaces every session).
const SESSION_CHANGES: [&str; 4] = ["logout", "session_expired", "login", "password_changed"];

/// The `session_ended` event that closes a stream.
fn session_ended(st: &mut StreamState) -> Event {
    st.done = true;
    sse(&StreamEvent::SessionEnded(SessionEnded {
        username: st.s.username.clone(),
    }))
}

impl StreamState {
    /// The event as this stream's viewer may see it.
    fn shown(&mut self, e: &LoggedEvent) -> Option<Event> {
        self.last_id = self.last_id.max(e.record.id);
        let shown = match self.kind {
            Kind::Dashboard => self.c.dashboard_event_for(&self.s, e),
            Kind::Events | Kind::Session => self.c.event_for(&self.s, e),
        }?;
        Some(sse(&StreamEvent::Event(shown)))
    }

    /// The next stored event of a resumed stream, reading a page at a
    /// time; `None` once caught up with the store.
    async fn stored(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                match self.shown(&e) {
                    Some(event) => return Some(event),
                    None => continue,
                }
            }
            let after = self.resume_after?;
            match self.c.events.page(after, MAX_PAGE).await {
                Ok(rows) => {
                    let full = rows.len() >= MAX_PAGE as usize;
                    self.resume_after = rows.last().filter(|_| full).map(|e| e.record.id);
                    self.backlog = rows.into();
                }
                Err(e) => {
                    tracing::warn!("reading stored events for a resumed stream: {e}");
                    self.resume_after = None;
                }
            }
        }
    }
}

async fn next(mut st: StreamState) -> Option<(Result<Event, Infallible>, StreamState)> {
    if st.done {
        return None;
    }
    if let Some(event) = st.stored().await {
        return Some((Ok(event), st));
    }
    loop {
        tokio::select! {
            biased;
            _ = st.c.shutdown_token().cancelled() => {
                st.done = true;
                let e = StreamEvent::Shutdown(Shutdown { reason: "trackerd is shutting down".into() });
                return Some((Ok(sse(&e)), st));
            }
            r = st.rx.recv() => match r {
                Ok(e) => {
                    // Every stream ends with its session: at once when the
                    // log says something happened to this user's session.
                    let r = &e.record;
                    if r.username.as_deref() == Some(st.s.username.as_str())
                        && SESSION_CHANGES.contains(&r.kind.as_str())
                        && matches!(st.c.renew(&st.s).await, Ok(None))
                    {
                        return Some((Ok(session_ended(&mut st)), st));
                    }
                    if e.record.id <= st.last_id {
                        continue;
                    }
                    if let Some(event) = st.shown(&e) {
                        return Some((Ok(event), st));
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    return Some((Ok(sse(&StreamEvent::Lagged(Lagged { missed: n }))), st));
                }
                Err(RecvError::Closed) => return None,
            },
            // Both streams check their session on this tick (and so keep it
            // alive while they are open); only the session stream says so.
            _ = st.renew.tick() => {
                match st.c.renew(&st.s).await {
                    // Report the time the session was renewed at, not a
                    // later reading of the clock.
                    Ok(Some(at)) if st.kind == Kind::Session => {
                        return Some((Ok(sse(&StreamEvent::Renewed(Renewed { at }))), st));
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => return Some((Ok(session_ended(&mut st)), st)),
                    Err(e) => tracing::warn!("renewing a session: {e}"),
                }
            }
        }
    }
}

/// A stream of `kind` for `s`; with `after`, the stored events after that
/// id come first.
pub(crate) fn stream(
    c: Arc<Community>,
    s: Session,
    kind: Kind,
    slot: StreamSlot,
    after: Option<i64>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let every = Duration::from_secs(
        u64::try_from(c.settings.session_ttl_secs / 3)
            .unwrap_or(1)
            .clamp(1, 30),
    );
    let mut renew = tokio::time::interval(every);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let hello = sse(&StreamEvent::Hello(StreamHello {
        username: s.username.clone(),
        session_ttl_secs: c.settings.session_ttl_secs,
    }));
    let st = StreamState {
        rx: c.events.subscribe(),
        c,
        s,
        renew,
        kind,
        done: false,
        backlog: VecDeque::new(),
        resume_after: after,
        last_id: after.unwrap_or(0),
        _slot: slot,
    };
    let first = futures_util::stream::once(async move { Ok(hello) });
    futures_util::StreamExt::chain(first, futures_util::stream::unfold(st, next))
}

/// A place for a stream of `s` from this client (behind a trusted proxy,
/// the address it forwards for), or the 429 that refuses it.
pub(crate) fn slot(
    t: &Tracker,
    slots: &Arc<StreamSlots>,
    s: &Session,
    remote: SocketAddr,
    headers: &HeaderMap,
) -> Result<StreamSlot, ApiError> {
    let ip = peer_ip(&t.config.announce.trusted_proxies, remote.ip(), headers);
    slots
        .take(s.user_id, ip)
        .map_err(|refused| ApiError(CommunityError::RateLimited(refused.to_string())))
}

pub(super) async fn events(
    State(t): State<Arc<Tracker>>,
    Extension(slots): Extension<Arc<StreamSlots>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    let slot = slot(&t, &slots, &s, remote, &headers)?;
    let after = last_event_id(&headers);
    Ok(
        Sse::new(stream(t.community.clone(), s, Kind::Events, slot, after))
            .keep_alive(KeepAlive::default())
            .into_response(),
    )
}

pub(super) async fn session(
    State(t): State<Arc<Tracker>>,
    Extension(slots): Extension<Arc<StreamSlots>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    let slot = slot(&t, &slots, &s, remote, &headers)?;
    Ok(
        Sse::new(stream(t.community.clone(), s, Kind::Session, slot, None))
            .keep_alive(KeepAlive::default())
            .into_response(),
    )
}

/// The id in a `Last-Event-ID` header (the last event a reconnecting
/// client saw).
pub(crate) fn last_event_id(headers: &HeaderMap) -> Option<i64> {
    headers
        .get("last-event-id")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|id| *id >= 0)
}
