//! Handlers: groups, join requests, members.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use p2p_proto::api::{
    Accepted, GroupList, JoinRequested, JoinRequests, Members, NewGroup, Rejected, Removed,
};

use super::extract::{ApiError, Auth, json_body};
use crate::app::Tracker;

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
    let groups = t.community.groups(&s).await?;
    Ok(Json(GroupList { groups }).into_response())
}

pub(super) async fn join(
    State(t): State<Arc<Tracker>>,
    Path(g): Path<String>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    t.community.request_join(&s, &g).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(JoinRequested {
            requested: g.to_ascii_lowercase(),
        }),
    )
        .into_response())
}

pub(super) async fn requests(
    State(t): State<Arc<Tracker>>,
    Path(g): Path<String>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    let requests = t.community.requests(&s, &g).await?;
    Ok(Json(JoinRequests { requests }).into_response())
}

pub(super) async fn accept(
    State(t): State<Arc<Tracker>>,
    Path((g, user)): Path<(String, String)>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    t.community.answer_request(&s, &g, &user, true).await?;
    Ok(Json(Accepted {
        accepted: user.to_ascii_lowercase(),
    })
    .into_response())
}

pub(super) async fn reject(
    State(t): State<Arc<Tracker>>,
    Path((g, user)): Path<(String, String)>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    t.community.answer_request(&s, &g, &user, false).await?;
    Ok(Json(Rejected {
        rejected: user.to_ascii_lowercase(),
    })
    .into_response())
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
    let members = t.community.members(&s, &g).await?;
    Ok(Json(Members { members }).into_response())
}

pub(super) async fn remove(
    State(t): State<Arc<Tracker>>,
    Path((g, user)): Path<(String, String)>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    t.community.remove_member(&s, &g, &user).await?;
    Ok(Json(Removed {
        removed: user.to_ascii_lowercase(),
    })
    .into_response())
}
