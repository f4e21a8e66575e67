//! The dashboard's live event stream (`/log/stream`): the API's event
//! stream machinery ([`crate::http::community_api::streams`]) with the
//! session from the cookie and the dashboard's view of events. It takes a
//! place under the same stream caps as the API's streams, so dashboards
//! can never starve announces. A reconnecting browser sends
//! `Last-Event-ID`; a first connection names the last event its page
//! showed with `?after=`; either way the stream starts right after it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use super::WebError;
use super::session::Viewer;
use crate::app::Tracker;
use crate::http::community_api::query_param;
use crate::http::community_api::streams::{Kind, last_event_id, slot, stream as events};
use crate::http::stream_slots::StreamSlots;

pub async fn stream(
    State(t): State<Arc<Tracker>>,
    Extension(slots): Extension<Arc<StreamSlots>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    v: Viewer,
) -> Result<Response, WebError> {
    let s = v.require()?.clone();
    let place = slot(&t, &slots, &s, remote, &headers).map_err(|e| WebError::from(e.0))?;
    let after = last_event_id(&headers).or_else(|| {
        query_param(raw.as_deref(), "after")
            .and_then(|a| a.parse().ok())
            .filter(|a: &i64| *a >= 0)
    });
    let body = events(t.community.clone(), s, Kind::Dashboard, place, after);
    Ok(v.finish(
        Sse::new(body)
            .keep_alive(KeepAlive::default())
            .into_response(),
    ))
}
