//! Handlers: register, login, logout, whoami, password, online users and
//! per-user stats.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use p2p_proto::api::{
    LoggedOut, LoginRequest, OnlineUsers, PasskeyRotated, PasswordChange, PasswordChanged,
    RegisterRequest, Registered, Whoami,
};

use super::extract::{ApiError, Auth, base_url, json_body};
use crate::app::Tracker;
use crate::http::peer_ip;

pub(super) async fn register(
    State(t): State<Arc<Tracker>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let c: RegisterRequest = json_body(&body)?;
    let from = client_ip(&t, remote, &headers);
    let username = t.community.register(&c.username, c.password, from).await?;
    Ok((StatusCode::CREATED, Json(Registered { username })).into_response())
}

/// The client's address: behind a trusted proxy, the one it forwards for.
/// Rate limits count it (counting the proxy would soon lock everyone out)
/// and "already logged in from ADDRESS" names it.
fn client_ip(t: &Tracker, remote: SocketAddr, headers: &HeaderMap) -> IpAddr {
    peer_ip(&t.config.announce.trusted_proxies, remote.ip(), headers)
}

pub(super) async fn login(
    State(t): State<Arc<Tracker>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let c: LoginRequest = json_body(&body)?;
    let from = client_ip(&t, remote, &headers);
    let reply = t
        .community
        .login(&c.username, c.password, c.takeover, from)
        .await?;
    Ok(Json(reply).into_response())
}

pub(super) async fn logout(
    State(t): State<Arc<Tracker>>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    t.community.logout(&s).await?;
    Ok(Json(LoggedOut {
        logged_out: s.username,
    })
    .into_response())
}

pub(super) async fn whoami(
    State(t): State<Arc<Tracker>>,
    headers: HeaderMap,
    Auth(s): Auth,
) -> Response {
    let url = t
        .community
        .announce_url(&base_url(&t, &headers), &s.passkey);
    Json(Whoami {
        username: s.username,
        passkey: s.passkey,
        since: s.since,
        announce_url: url,
        session_ttl_secs: t.community.settings.session_ttl_secs,
    })
    .into_response()
}

pub(super) async fn password(
    State(t): State<Arc<Tracker>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Auth(s): Auth,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p: PasswordChange = json_body(&body)?;
    let from = client_ip(&t, remote, &headers);
    let token = t.community.change_password(&s, p.old, p.new, from).await?;
    Ok(Json(PasswordChanged {
        changed: true,
        token,
    })
    .into_response())
}

pub(super) async fn rotate_passkey(
    State(t): State<Arc<Tracker>>,
    headers: HeaderMap,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    let passkey = t.community.rotate_passkey(&s).await?;
    let announce_url = t.community.announce_url(&base_url(&t, &headers), &passkey);
    Ok(Json(PasskeyRotated {
        passkey,
        announce_url,
    })
    .into_response())
}

pub(super) async fn online(
    State(t): State<Arc<Tracker>>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    let users = t.community.online(&s).await?;
    Ok(Json(OnlineUsers { users }).into_response())
}

pub(super) async fn stats(
    State(t): State<Arc<Tracker>>,
    Path(name): Path<String>,
    Auth(s): Auth,
) -> Result<Response, ApiError> {
    Ok(Json(t.community.user_stats(&s, &name).await?).into_response())
}
