//! The user's session with trackerd: register, login, logout, and the
//! session stream that keeps the session alive and tells us when trackerd
//! shuts down. Logging out (or trackerd going away) stops sharing; logging
//! in starts it again, announcing with the user's passkey.
//!
//! Talks to trackerd only through [`crate::tracker_api`]; [`ipc_error`] is
//! the one place a tracker refusal becomes an IPC error code.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use p2p_proto::api::{LoginRequest, RegisterRequest, StreamEvent};
use p2p_proto::ipc::{ErrorCode, Event, IpcError, RegisterInfo, SessionInfo};
use tokio_util::sync::CancellationToken;

use super::Daemon;
use crate::tracker_api::{TrackerApi, TrackerApiError};

/// Wait before reopening a session stream that dropped.
const STREAM_RETRY: Duration = Duration::from_secs(3);

/// Who is logged in, and why nobody is. `Debug` hides the token and passkey.
#[derive(Default)]
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

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("token", &hidden(&self.token))
            .field("passkey", &hidden(&self.passkey))
            .field("ended_because", &self.ended_because)
            .field("sharing_stopped", &self.sharing_stopped)
            .finish_non_exhaustive()
    }
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

pub(crate) async fn register(
    daemon: &Daemon,
    user: &str,
    password: &str,
) -> Result<RegisterInfo, IpcError> {
    let request = RegisterRequest {
        username: user.to_owned(),
        password: password.to_owned(),
    };
    let registered = api(daemon)?.register(&request).await.map_err(ipc_error)?;
    Ok(RegisterInfo {
        registered: registered.username,
    })
}

pub(crate) async fn login(
    daemon: &Arc<Daemon>,
    user: &str,
    password: &str,
    force: bool,
) -> Result<SessionInfo, IpcError> {
    let request = LoginRequest {
        username: user.to_owned(),
        password: password.to_owned(),
        takeover: force,
    };
    let reply = api(daemon)?.login(&request).await.map_err(ipc_error)?;
    let (token, passkey, name) = (&reply.token, &reply.passkey, reply.username.as_str());
    let stream_cancel = daemon.cancel.child_token();
    let previous = {
        let mut s = daemon.session();
        let previous = s.stream_cancel.replace(stream_cancel.clone());
        s.user = Some(name.to_owned());
        s.token = Some(token.clone());
        s.passkey = Some(passkey.clone());
        s.ended_because = None;
        previous
    };
    if let Some(p) = previous {
        p.cancel();
    }
    tracing::info!(user = name, "logged in");
    tokio::spawn(stream_loop(daemon.clone(), token.clone(), stream_cancel));
    // Restart sharing with announce URLs that carry the passkey.
    super::restart_sharing(daemon).await;
    // Put every watched-folder item in the catalog (in the background: a
    // slow tracker must not hold up the login reply).
    tokio::spawn(super::community::publish_all(daemon.clone()));
    Ok(SessionInfo {
        logged_in_as: Some(name.to_owned()),
        ended_because: None,
    })
}

pub(crate) async fn logout(daemon: &Arc<Daemon>) -> Result<SessionInfo, IpcError> {
    let token = daemon.session().token().map(str::to_owned);
    let Some(token) = token else {
        return Err(IpcError::new(ErrorCode::NotLoggedIn, "not logged in"));
    };
    // Tell the tracker, but end the session here whatever it says.
    let told = match api(daemon) {
        Ok(api) => api.logout(&token).await.map_err(ipc_error),
        Err(e) => Err(e),
    };
    end(daemon, "logged out").await;
    if let Err(e) = told {
        tracing::warn!("the tracker did not confirm the logout: {e}");
    }
    Ok(SessionInfo {
        logged_in_as: None,
        ended_because: Some("logged out".to_owned()),
    })
}

pub(crate) fn whoami(daemon: &Daemon) -> SessionInfo {
    let s = daemon.session();
    SessionInfo {
        logged_in_as: s.user.clone(),
        ended_because: s.ended_because.clone(),
    }
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
        // The token is no longer valid: the session is over.
        Err(e) if e.status() == Some(401) => return StreamEnd::SessionEnded,
        Err(e) => return StreamEnd::Dropped(e.to_string()),
    };
    loop {
        match stream.next().await {
            None => return StreamEnd::Dropped("closed by the tracker".into()),
            Some(Err(e)) => return StreamEnd::Dropped(e.to_string()),
            Some(Ok(StreamEvent::Shutdown(_))) => return StreamEnd::Shutdown,
            Some(Ok(StreamEvent::SessionEnded(_))) => return StreamEnd::SessionEnded,
            Some(Ok(StreamEvent::Lagged(l))) => {
                tracing::debug!(missed = l.missed, "the session stream lagged");
            }
            Some(Ok(StreamEvent::Hello(_) | StreamEvent::Renewed(_) | StreamEvent::Event(_))) => {}
        }
    }
}

impl Daemon {
    pub(crate) fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use p2p_proto::api::{ApiErrorCode, ErrorBody};

    use super::*;

    fn refusal(status: u16, message: Option<&str>) -> TrackerApiError {
        TrackerApiError::Status {
            status,
            body: message.map(|m| ErrorBody::new(ApiErrorCode::for_status(status), m)),
        }
    }

    #[test]
    fn tracker_refusals_become_ipc_codes_by_status_with_the_trackers_message() {
        let cases = [
            (401, ErrorCode::NotLoggedIn),
            (403, ErrorCode::Forbidden),
            (404, ErrorCode::NotFound),
            (409, ErrorCode::AlreadyExists),
            (400, ErrorCode::BadRequest),
            (429, ErrorCode::Tracker),
            (503, ErrorCode::Tracker),
        ];
        for (status, code) in cases {
            let e = ipc_error(refusal(status, Some("why")));
            assert_eq!((e.code, e.message.as_str()), (code, "why"), "{status}");
        }
        let e = ipc_error(refusal(500, None));
        assert_eq!(e.message, "the tracker answered HTTP 500");
        let e = ipc_error(TrackerApiError::Timeout(Duration::from_secs(20)));
        assert_eq!(e.code, ErrorCode::Tracker);
    }

    #[test]
    fn the_session_debug_hides_the_token_and_passkey() {
        let s = Session {
            user: Some("alice".into()),
            token: Some("secret-token".into()),
            passkey: Some("secret-passkey".into()),
            ..Session::default()
        };
        let shown = format!("{s:?}");
        assert!(
            shown.contains("alice") && !shown.contains("secret"),
            "{shown}"
        );
    }
}
