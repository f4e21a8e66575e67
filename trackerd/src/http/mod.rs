//! HTTP delivery: the routes, and small helpers to answer in bencode or JSON.
//! Handlers only extract, call the tracker, and encode; no policy lives here
//! except deciding which address a peer announced from.

mod api;
// Issue 5 hook (accounts): the community API module.
pub mod community_api;
pub mod date;
pub mod fast;
mod peer_addr;
mod tracker;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::Tracker;

pub use peer_addr::peer_ip;
pub use tracker::{announce_reply, scrape_reply};

/// Builds the router for a tracker.
pub fn router(tracker: Arc<Tracker>) -> Router {
    let body_limit = tracker.config.http.max_torrent_bytes;
    Router::new()
        .route("/announce", get(tracker::announce))
        .route("/scrape", get(tracker::scrape))
        .route("/health", get(api::health))
        .route("/metrics", get(api::metrics))
        .route("/api/v1/stats", get(api::stats))
        .route(
            "/api/v1/torrents",
            get(api::list_torrents).post(api::register_torrent),
        )
        .route("/api/v1/torrents/{info_hash}", get(api::get_torrent))
        // Issue 5 hook (accounts): accounts, groups, catalog, events, /announce/<passkey>.
        .merge(community_api::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(tracker)
}

async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "no such endpoint")
}

/// A bencoded body with HTTP 200 (announce and scrape, including failures).
pub fn bencoded(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

/// A JSON `{"error": ...}` with a status.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}
