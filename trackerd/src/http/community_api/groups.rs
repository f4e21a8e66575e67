//! Handlers: groups, join requests, members.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::extract::{ApiError, Auth, json_body};
use crate::app::Tracker;

#[derive(Deserialize)]
struct NewGroup {
    name: String,
}

pub(super) async fn create(
    State(t): State<Arc<Tracker>>,
    Auth(s): Auth,
    body: Bytes,
) -> Result<Response, ApiError> {
    let g: NewGroup = json_body(&body)?;
    let view = t.community.create_group(&s, &g.name).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub(super) async fn list(
    State(t): State<Arc<Tracker>>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    Ok(Json(json!({ "groups": t.community.groups(&s).await? })).into_response())
}

pub(super) async fn join(
    State(t): State<Arc<Tracker>>,
    Path(g): Path<String>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    t.community.request_join(&s, &g).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "requested": g.to_ascii_lowercase() })),
    )
        .into_response())
}

pub(super) async fn requests(
    State(t): State<Arc<Tracker>>,
    Path(g): Path<String>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    Ok(Json(json!({ "requests": t.community.requests(&s, &g).await? })).into_response())
}

pub(super) async fn accept(
    State(t): State<Arc<Tracker>>,
    Path((g, user)): Path<(String, String)>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    t.community.answer_request(&s, &g, &user, true).await?;
    Ok(Json(json!({ "accepted": user.to_ascii_lowercase() })).into_response())
}

pub(super) async fn reject(
    State(t): State<Arc<Tracker>>,
    Path((g, user)): Path<(String, String)>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    t.community.answer_request(&s, &g, &user, false).await?;
    Ok(Json(json!({ "rejected": user.to_ascii_lowercase() })).into_response())
}

pub(super) async fn leave(
    State(t): State<Arc<Tracker>>,
    Path(g): Path<String>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    Ok(Json(t.community.leave(&s, &g).await?).into_response())
}

pub(super) async fn members(
    State(t): State<Arc<Tracker>>,
    Path(g): Path<String>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    Ok(Json(json!({ "members": t.community.members(&s, &g).await? })).into_response())
}

pub(super) async fn remove(
    State(t): State<Arc<Tracker>>,
    Path((g, user)): Path<(String, String)>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    t.community.remove_member(&s, &g, &user).await?;
    Ok(Json(json!({ "removed": user.to_ascii_lowercase() })).into_response())
}
