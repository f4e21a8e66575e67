//! The user's session with trackerd: register, login, logout, and the
//! session stream that keeps the session alive and tells us when trackerd
//! shuts down. Logging out (or trackerd going away) stops sharing; logging
//! in starts it again, announcing with the user's passkey.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use p2p_proto::ipc::{ErrorCode, Event, IpcError};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::Daemon;
use crate::tracker_api::{TrackerApi, TrackerApiError};

/// Wait before reopening a session stream that dropped.
const STREAM_RETRY: Duration = Duration::from_secs(3);

/// Who is logged in, and why nobody is.
#[derive(Debug, Default)]
pub struct Session {
    /// Logged-in user.
    pub user: Option<String>,
    /// Bearer token (never logged).
    token: Option<String>,
    /// The user's passkey, for announce URLs.
    pub passkey: Option<String>,
    /// Why the last session ended.
    pub ended_because: Option<String>,
    /// Sharing stopped by a logout, until the next login.
    pub sharing_stopped: bool,
    /// Ends the session stream task.
    stream_cancel: Option<CancellationToken>,
}

impl Session {
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }
}

/// The configured tracker's API client.
pub(crate) fn api(daemon: &Daemon) -> Result<TrackerApi, IpcError> {
    let tracker = daemon
        .settings
        .tracker
        .as_deref()
        .ok_or_else(|| IpcError::new(ErrorCode::Tracker, "no tracker is configured"))?;
    TrackerApi::new(daemon.http.clone(), tracker)
        .map_err(|e| IpcError::new(ErrorCode::Tracker, e.to_string()))
}

/// What a tracker API error means to p2pctl: the one place a status
/// becomes an IPC error code.
pub(crate) fn ipc_error(e: TrackerApiError) -> IpcError {
    let code = match e.status() {
        Some(401) => ErrorCode::NotLoggedIn,
        Some(403) => ErrorCode::Forbidden,
        Some(409) => ErrorCode::AlreadyExists,
        Some(400 | 422) => ErrorCode::BadRequest,
        Some(404) => ErrorCode::NotFound,
        _ => ErrorCode::Tracker,
    };
    IpcError::new(code, e.to_string())
}

/// The announce URL with the user's passkey, for torrents on our tracker.
pub fn passkey_announce(tracker: &str, passkey: &str) -> String {
    format!("{}/{passkey}", tracker.trim_end_matches('/'))
}

/// Calls the tracker's JSON API; a non-2xx answer becomes its error message.
pub(crate) async fn call(
    daemon: &Daemon,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<Value, IpcError> {
    let bytes = body.map(|b| b.to_string().into_bytes());
    let reply = call_raw(daemon, method, path, token, bytes.as_deref()).await?;
    Ok(serde_json::from_slice(&reply).unwrap_or(Value::Null))
}

/// Calls the tracker's API with a raw body (e.g. .torrent bytes) and returns
/// the raw 2xx body; a non-2xx answer becomes its error message.
pub(crate) async fn call_raw(
    daemon: &Daemon,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> Result<Vec<u8>, IpcError> {
    api(daemon)?
        .raw(method, path, token, body)
        .await
        .map_err(ipc_error)
}

pub(crate) async fn register(
    daemon: &Daemon,
    user: &str,
    password: &str,
) -> Result<Value, IpcError> {
    call(
        daemon,
        "POST",
        "/api/v1/register",
        None,
        Some(json!({"username": user, "password": password})),
    )
    .await?;
    Ok(json!({ "registered": user }))
}

pub(crate) async fn login(
    daemon: &Arc<Daemon>,
    user: &str,
    password: &str,
    force: bool,
) -> Result<Value, IpcError> {
    let body = json!({"username": user, "password": password, "takeover": force});
    let v = call(daemon, "POST", "/api/v1/login", None, Some(body)).await?;
    let (Some(token), Some(passkey), Some(name)) = (
        v["token"].as_str(),
        v["passkey"].as_str(),
        v["username"].as_str(),
    ) else {
        return Err(IpcError::new(
            ErrorCode::Tracker,
            "the tracker's login reply lacks token or passkey",
        ));
    };
    let stream_cancel = daemon.cancel.child_token();
    let previous = {
        let mut s = daemon.session();
        let previous = s.stream_cancel.replace(stream_cancel.clone());
        s.user = Some(name.to_owned());
        s.token = Some(token.to_owned());
        s.passkey = Some(passkey.to_owned());
        s.ended_because = None;
        previous
    };
    if let Some(p) = previous {
        p.cancel();
    }
    tracing::info!(user = name, "logged in");
    tokio::spawn(stream_loop(daemon.clone(), token.to_owned(), stream_cancel));
    // Restart sharing with announce URLs that carry the passkey.
    super::restart_sharing(daemon).await;
    // Put every watched-folder item in the catalog (in the background: a
    // slow tracker must not hold up the login reply).
    tokio::spawn(super::community::publish_all(daemon.clone()));
    Ok(json!({ "logged_in_as": name }))
}

pub(crate) async fn logout(daemon: &Arc<Daemon>) -> Result<Value, IpcError> {
    let token = daemon.session().token().map(str::to_owned);
    let Some(token) = token else {
        return Err(IpcError::new(ErrorCode::NotLoggedIn, "not logged in"));
    };
    // Tell the tracker, but end the session here whatever it says.
    let told = call(daemon, "POST", "/api/v1/logout", Some(&token), None).await;
    end(daemon, "logged out").await;
    if let Err(e) = told {
        tracing::warn!("the tracker did not confirm the logout: {e}");
    }
    Ok(json!({ "logged_in_as": null }))
}

pub(crate) fn whoami(daemon: &Daemon) -> Value {
    let s = daemon.session();
    json!({ "logged_in_as": s.user, "ended_because": s.ended_because })
}

/// Ends the session locally: sharing stops (stopped announces, connections
/// closed) until the next login.
pub(crate) async fn end(daemon: &Arc<Daemon>, why: &str) {
    let cancel = {
        let mut s = daemon.session();
        let user = s.user.take();
        s.token = None;
        s.passkey = None;
        s.ended_because = Some(why.to_owned());
        s.sharing_stopped = true;
        if let Some(u) = user {
            tracing::info!(user = u, "session ended: {why}");
        }
        s.stream_cancel.take()
    };
    if let Some(c) = cancel {
        c.cancel();
    }
    super::stop_sharing(daemon).await;
    let _ = daemon.events.send(Event::LoggedOut {
        reason: why.to_owned(),
    });
}

/// Holds the session stream open (which renews the session) and reacts to
/// what the tracker says on it.
async fn stream_loop(daemon: Arc<Daemon>, token: String, cancel: CancellationToken) {
    loop {
        let outcome = tokio::select! {
            _ = cancel.cancelled() => return,
            o = follow_stream(&daemon, &token) => o,
        };
        match outcome {
            StreamEnd::Shutdown => {
                end(
                    &daemon,
                    "the tracker shut down; log in again when it is back",
                )
                .await;
                return;
            }
            StreamEnd::SessionEnded => {
                end(
                    &daemon,
                    "the tracker ended the session (logged in elsewhere, or it expired)",
                )
                .await;
                return;
            }
            StreamEnd::Dropped(why) => {
                tracing::warn!("session stream dropped: {why}; reconnecting");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(STREAM_RETRY) => {}
                }
            }
        }
    }
}

enum StreamEnd {
    Shutdown,
    SessionEnded,
    Dropped(String),
}

async fn follow_stream(daemon: &Daemon, token: &str) -> StreamEnd {
    let api = match api(daemon) {
        Ok(a) => a,
        Err(e) => return StreamEnd::Dropped(e.to_string()),
    };
    let mut stream = match api.session_stream(token).await {
        Ok(s) => s,
        Err(e) if e.status() == Some(401) => return StreamEnd::SessionEnded,
        Err(e) => return StreamEnd::Dropped(e.to_string()),
    };
    loop {
        match stream.next().await {
            None => return StreamEnd::Dropped("closed by the tracker".into()),
            Some(Err(e)) => return StreamEnd::Dropped(e.to_string()),
            Some(Ok(event)) => match event.name.as_str() {
                "shutdown" => return StreamEnd::Shutdown,
                "session_ended" => return StreamEnd::SessionEnded,
                _ => {}
            },
        }
    }
}

impl Daemon {
    pub(crate) fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
