//! HTTP delivery: the routes, and small helpers to answer in bencode or JSON.
//! Handlers only extract, call the tracker, and encode; no policy lives here
//! except deciding which address a peer announced from.

mod api;
pub mod body_limit;
// Issue 5 hook (accounts): the community API module.
pub mod community_api;
pub mod date;
pub mod fast;
mod peer_addr;
pub mod stream_slots;
mod tracker;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use p2p_proto::api::{ApiErrorCode, ErrorBody};

use crate::app::Tracker;

pub use peer_addr::{fast_peer_ip, is_local_client, is_trusted_proxy, peer_ip};
pub use tracker::{announce_reply, scrape_reply};

/// Builds the router for a tracker.
pub fn router(tracker: Arc<Tracker>) -> Router {
    let body_limit = tracker.config.http.max_torrent_bytes;
    let bodies = Arc::new(body_limit::BodyLimits::new(&tracker.config.http));
    Router::new()
        .route("/announce", get(tracker::announce))
        .route("/announce/{passkey}", get(tracker::passkey_announce))
        .route("/scrape", get(tracker::scrape))
        .route("/health", get(api::health))
        .route("/metrics", get(api::metrics))
        .route("/api/v1/stats", get(api::stats))
        .route(
            "/api/v1/torrents",
            get(api::list_torrents).post(api::register_torrent),
        )
        .route("/api/v1/torrents/{info_hash}", get(api::get_torrent))
        // Issue 5 hook (accounts): accounts, groups, catalog, events.
        .merge(community_api::routes())
        // Issue 14: the web dashboard.
        .merge(crate::web::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::Extension(stream_slots::StreamSlots::new(
            &tracker.config.http,
        )))
        .layer(axum::middleware::from_fn_with_state(
            bodies,
            body_limit::bound_bodies,
        ))
        .layer(axum::middleware::map_response(json_error_bodies))
        .with_state(tracker)
}

/// Most of a framework error's text kept in the JSON message.
const MAX_ERROR_TEXT: usize = 200;

/// Errors produced before a handler runs (body too large, bad path
/// encoding, wrong method) come as plain text from axum; every error of
/// this server answers with the same JSON shape instead.
async fn json_error_bodies(response: Response) -> Response {
    let status = response.status();
    // JSON errors, and the dashboard's HTML error pages, are already in shape.
    let shaped = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
        });
    if !(status.is_client_error() || status.is_server_error()) || shaped {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text.chars().take(MAX_ERROR_TEXT).collect()
    };
    json_error(status, &message)
}

async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "no such endpoint")
}

/// A bencoded body with HTTP 200 (announce and scrape, including failures).
pub fn bencoded(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

/// A JSON `{"error": {"code", "message"}}` with a status (the shape of
/// every error of this server).
pub fn json_error(status: StatusCode, message: &str) -> Response {
    let body = ErrorBody::new(ApiErrorCode::for_status(status.as_u16()), message);
    (status, axum::Json(body)).into_response()
}
