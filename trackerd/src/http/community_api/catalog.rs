//! Handlers: publish, list, withdraw, search, personalised .torrent and
//! magnet link.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use p2p_proto::api::{CatalogList, MagnetLink, Withdrawn};
use p2p_proto::infohash::InfoHash;

use super::extract::{ApiError, Auth, base_url, query_param};
use crate::app::Tracker;
use crate::community::{CommunityError, Scope};

fn info_hash(text: &str) -> Result<InfoHash, ApiError> {
    InfoHash::parse(text).map_err(|e| ApiError(CommunityError::Invalid(e.to_string())))
}

async fn publish(
    t: &Tracker,
    s: &crate::community::Session,
    scope: Scope,
    body: Bytes,
) -> Result<Response, ApiError> {
    let entry = t.community.publish(s, &scope, body.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(entry)).into_response())
}

async fn list(
    t: &Tracker,
    s: &crate::community::Session,
    scope: Scope,
) -> Result<Response, ApiError> {
    let torrents = t.community.list(s, &scope).await?;
    Ok(Json(CatalogList { torrents }).into_response())
}

async fn withdraw(
    t: &Tracker,
    s: &crate::community::Session,
    scope: Scope,
    h: &str,
) -> Result<Response, ApiError> {
    let withdrawn = info_hash(h)?;
    t.community.withdraw(s, &scope, withdrawn).await?;
    Ok(Json(Withdrawn { withdrawn }).into_response())
}

pub(super) async fn publish_group(
    State(t): State<Arc<Tracker>>,
    Path(g): Path<String>,
    Auth(s): Auth,
    body: Bytes,
) -> Result<Response, ApiError> {
    publish(&t, &s, Scope::Group(g), body).await
}

pub(super) async fn publish_public(
    State(t): State<Arc<Tracker>>,
    Auth(s): Auth,
    body: Bytes,
) -> Result<Response, ApiError> {
    publish(&t, &s, Scope::Public, body).await
}

pub(super) async fn list_group(
    State(t): State<Arc<Tracker>>,
    Path(g): Path<String>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    list(&t, &s, Scope::Group(g)).await
}

pub(super) async fn list_public(
    State(t): State<Arc<Tracker>>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    list(&t, &s, Scope::Public).await
}

pub(super) async fn withdraw_group(
    State(t): State<Arc<Tracker>>,
    Path((g, h)): Path<(String, String)>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    withdraw(&t, &s, Scope::Group(g), &h).await
}

pub(super) async fn withdraw_public(
    State(t): State<Arc<Tracker>>,
    Path(h): Path<String>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    withdraw(&t, &s, Scope::Public, &h).await
}

pub(super) async fn search(
    State(t): State<Arc<Tracker>>,
    RawQuery(q): RawQuery,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    let q = query_param(q.as_deref(), "q").unwrap_or_default();
    let torrents = t.community.search(&s, &q).await?;
    Ok(Json(CatalogList { torrents }).into_response())
}

pub(super) async fn torrent_file(
    State(t): State<Arc<Tracker>>,
    Path(h): Path<String>,
    headers: HeaderMap,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    let (name, bytes) = t
        .community
        .personal_torrent(&s, info_hash(&h)?, &base_url(&t, &headers))
        .await?;
    Ok(torrent_download(&name, bytes))
}

/// A .torrent as a download named after the torrent (only safe characters).
pub fn torrent_download(name: &str, bytes: Vec<u8>) -> Response {
    let file: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/x-bittorrent".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}.torrent\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

pub(super) async fn magnet(
    State(t): State<Arc<Tracker>>,
    Path(h): Path<String>,
    headers: HeaderMap,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    let link = t
        .community
        .magnet(&s, info_hash(&h)?, &base_url(&t, &headers))
        .await?;
    Ok(Json(MagnetLink { magnet: link }).into_response())
}
