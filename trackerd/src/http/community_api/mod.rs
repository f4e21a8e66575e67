//! The accounts, groups, catalog and events API (`/api/v1/...`, issue 5).
//! (The passkey announce, `/announce/<passkey>`, is an announce: it lives
//! with `/announce` in `http/tracker.rs`.) Handlers extract, call
//! [`crate::community::Community`] and encode; errors are
//! `{"error": {"code", "message"}}` with a matching HTTP status.

mod accounts;
mod catalog;
mod extract;
mod groups;
pub(crate) mod streams;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post};

use crate::app::Tracker;

pub use catalog::torrent_download;
pub use extract::{ApiError, Auth, base_url, query_param, status_of};

/// The routes, to be merged into [`super::router`] (which adds the state).
pub fn routes() -> Router<Arc<Tracker>> {
    Router::new()
        .route("/api/v1/register", post(accounts::register))
        .route("/api/v1/login", post(accounts::login))
        .route("/api/v1/logout", post(accounts::logout))
        .route("/api/v1/whoami", get(accounts::whoami))
        .route("/api/v1/password", post(accounts::password))
        .route("/api/v1/passkey", post(accounts::rotate_passkey))
        .route("/api/v1/users/online", get(accounts::online))
        .route("/api/v1/users/{name}/stats", get(accounts::stats))
        .route("/api/v1/groups", get(groups::list).post(groups::create))
        .route("/api/v1/groups/{g}/join", post(groups::join))
        .route("/api/v1/groups/{g}/requests", get(groups::requests))
        .route(
            "/api/v1/groups/{g}/requests/{user}/accept",
            post(groups::accept),
        )
        .route(
            "/api/v1/groups/{g}/requests/{user}/reject",
            post(groups::reject),
        )
        .route("/api/v1/groups/{g}/leave", post(groups::leave))
        .route("/api/v1/groups/{g}/members", get(groups::members))
        .route("/api/v1/groups/{g}/members/{user}", delete(groups::remove))
        .route(
            "/api/v1/groups/{g}/torrents",
            get(catalog::list_group).post(catalog::publish_group),
        )
        .route(
            "/api/v1/groups/{g}/torrents/{info_hash}",
            delete(catalog::withdraw_group),
        )
        .route(
            "/api/v1/public/torrents",
            get(catalog::list_public).post(catalog::publish_public),
        )
        .route(
            "/api/v1/public/torrents/{info_hash}",
            delete(catalog::withdraw_public),
        )
        .route("/api/v1/search", get(catalog::search))
        .route(
            "/api/v1/torrents/{info_hash}/torrent",
            get(catalog::torrent_file),
        )
        .route("/api/v1/torrents/{info_hash}/magnet", get(catalog::magnet))
        .route("/api/v1/events", get(streams::page))
        .route("/api/v1/events/stream", get(streams::events))
        .route("/api/v1/session/stream", get(streams::session))
}
