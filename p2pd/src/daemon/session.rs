//! The user's session with trackerd: register, login, logout, and the
//! session stream that keeps the session alive and tells us when trackerd
//! shuts down (when another instance of the deployment is configured, the
//! stream moves there and the session goes on). A login hands the credentials to [`Sharing`] (which shares
//! under them); a logout, or trackerd ending the session, stops sharing.
//!
//! Talks to trackerd only through [`crate::tracker_api`]; [`ipc_error`] is
//! the one place a tracker refusal becomes an IPC error code.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use p2p_proto::api::{LoginRequest, RegisterRequest, StreamEvent};
use p2p_proto::ipc::{ErrorCode, Event, IpcError, PasskeyRotatedInfo, RegisterInfo, SessionInfo};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::sharing::{Credentials, Sharing};
use crate::tracker_api::{TrackerApi, TrackerApiError};

/// Wait before reopening a session stream that dropped.
const STREAM_RETRY: Duration = Duration::from_secs(3);

/// Who is logged in, and why nobody is. `Debug` hides the token.
#[derive(Default)]
struct State {
    /// Logged-in user.
    user: Option<String>,
    /// Bearer token (never logged).
    token: Option<String>,
    /// Why the last session ended.
    ended_because: Option<String>,
    /// Ends the session stream task.
    stream_cancel: Option<CancellationToken>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("user", &self.user)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ended_because", &self.ended_because)
            .finish_non_exhaustive()
    }
}

/// The session service.
#[derive(Debug)]
pub(crate) struct Session {
    api: Result<TrackerApi, String>,
    sharing: Arc<Sharing>,
    events: broadcast::Sender<Event>,
    cancel: CancellationToken,
    state: Mutex<State>,
}

impl Session {
    /// `api` is the configured tracker's client, or why there is none.
    pub fn new(
        api: Result<TrackerApi, String>,
        sharing: Arc<Sharing>,
        events: broadcast::Sender<Event>,
        cancel: CancellationToken,
    ) -> Session {
        Session {
            api,
            sharing,
            events,
            cancel,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The configured tracker's API client.
    pub fn api(&self) -> Result<&TrackerApi, IpcError> {
        self.api
            .as_ref()
            .map_err(|why| IpcError::new(ErrorCode::Tracker, why.clone()))
    }

    /// The session's token, or `not_logged_in`.
    pub fn token(&self) -> Result<String, IpcError> {
        self.state().token.clone().ok_or_else(|| {
            IpcError::new(ErrorCode::NotLoggedIn, "log in first (p2pctl login USER)")
        })
    }

    /// Who is logged in, and why nobody is.
    pub fn info(&self) -> SessionInfo {
        let s = self.state();
        SessionInfo {
            logged_in_as: s.user.clone(),
            ended_because: s.ended_because.clone(),
        }
    }

    pub async fn register(&self, user: &str, password: &str) -> Result<RegisterInfo, IpcError> {
        let request = RegisterRequest {
            username: user.to_owned(),
            password: password.to_owned(),
        };
        let registered = self.api()?.register(&request).await.map_err(ipc_error)?;
        Ok(RegisterInfo {
            registered: registered.username,
        })
    }

    pub async fn login(
        self: &Arc<Self>,
        user: &str,
        password: &str,
        force: bool,
    ) -> Result<SessionInfo, IpcError> {
        let request = LoginRequest {
            username: user.to_owned(),
            password: password.to_owned(),
            takeover: force,
        };
        let reply = self.api()?.login(&request).await.map_err(ipc_error)?;
        let name = reply.username.clone();
        let stream_cancel = self.cancel.child_token();
        let previous = {
            let mut s = self.state();
            let previous = s.stream_cancel.replace(stream_cancel.clone());
            s.user = Some(name.clone());
            s.token = Some(reply.token.clone());
            s.ended_because = None;
            previous
        };
        if let Some(p) = previous {
            p.cancel();
        }
        tracing::info!(user = name, "logged in");
        tokio::spawn(self.clone().stream_loop(reply.token.clone(), stream_cancel));
        self.sharing
            .share_as(Credentials {
                token: reply.token,
                passkey: reply.passkey,
            })
            .await;
        Ok(SessionInfo {
            logged_in_as: Some(name),
            ended_because: None,
        })
    }

    /// Replaces the user's passkey on the tracker (a leaked one stops
    /// working at once) and restarts every torrent with announce URLs that
    /// carry the new one. The torrents stop first, announcing `stopped`
    /// with the old passkey while it is still valid; if the tracker refuses
    /// the rotation they start again with the old one.
    pub async fn rotate_passkey(self: &Arc<Self>) -> Result<PasskeyRotatedInfo, IpcError> {
        self.token()?;
        let api = self.api()?;
        let user = self.state().user.clone().unwrap_or_default();
        let old = self.sharing.credentials().ok_or_else(|| {
            IpcError::new(ErrorCode::NotLoggedIn, "log in first (p2pctl login USER)")
        })?;
        self.sharing.stop_for_rekey().await;
        let rotated = match api.rotate_passkey(&old.token).await {
            Ok(r) => r,
            Err(e) => {
                self.sharing.share_as(old).await;
                return Err(ipc_error(e));
            }
        };
        let torrents = self
            .sharing
            .rekey(Credentials {
                token: old.token,
                passkey: rotated.passkey,
            })
            .await;
        tracing::info!(user, torrents, "passkey rotated");
        Ok(PasskeyRotatedInfo { user, torrents })
    }

    pub async fn logout(&self) -> Result<SessionInfo, IpcError> {
        let token = self
            .token()
            .map_err(|_| IpcError::new(ErrorCode::NotLoggedIn, "not logged in"))?;
        // Tell the tracker, but end the session here whatever it says.
        let told = match self.api() {
            Ok(api) => api.logout(&token).await.map_err(ipc_error),
            Err(e) => Err(e),
        };
        self.end("logged out").await;
        if let Err(e) = told {
            tracing::warn!("the tracker did not confirm the logout: {e}");
        }
        Ok(self.info())
    }

    /// Ends the session locally: sharing stops (stopped announces,
    /// connections closed) until the next login.
    async fn end(&self, why: &str) {
        let cancel = {
            let mut s = self.state();
            let user = s.user.take();
            s.token = None;
            s.ended_because = Some(why.to_owned());
            if let Some(u) = user {
                tracing::info!(user = u, "session ended: {why}");
            }
            s.stream_cancel.take()
        };
        if let Some(c) = cancel {
            c.cancel();
        }
        self.sharing.stop().await;
        let _ = self.events.send(Event::LoggedOut {
            reason: why.to_owned(),
        });
    }

    /// Holds the session stream open (which renews the session) and reacts
    /// to what the tracker says on it.
    async fn stream_loop(self: Arc<Self>, token: String, cancel: CancellationToken) {
        loop {
            let outcome = tokio::select! {
                _ = cancel.cancelled() => return,
                o = self.follow_stream(&token) => o,
            };
            match outcome {
                StreamEnd::Shutdown(instance) => {
                    // Another instance of the deployment shares the
                    // session: move there rather than log out.
                    if let Some(next) = self.api().ok().and_then(|api| api.leave(&instance)) {
                        tracing::info!(
                            "tracker instance {instance} is shutting down; the session moves to {next}"
                        );
                        continue;
                    }
                    self.end("the tracker shut down; log in again when it is back")
                        .await;
                    return;
                }
                StreamEnd::SessionEnded => {
                    self.end("the tracker ended the session (logged in elsewhere, or it expired)")
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

    async fn follow_stream(&self, token: &str) -> StreamEnd {
        let api = match self.api() {
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
                Some(Ok(StreamEvent::Shutdown(_))) => {
                    return StreamEnd::Shutdown(stream.instance().to_owned());
                }
                Some(Ok(StreamEvent::SessionEnded(_))) => return StreamEnd::SessionEnded,
                Some(Ok(StreamEvent::Lagged(l))) => {
                    tracing::debug!(missed = l.missed, "the session stream lagged");
                }
                Some(Ok(
                    StreamEvent::Hello(_) | StreamEvent::Renewed(_) | StreamEvent::Event(_),
                )) => {}
            }
        }
    }
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

enum StreamEnd {
    /// The instance serving the stream (`scheme://host[:port]`) shuts down.
    Shutdown(String),
    SessionEnded,
    Dropped(String),
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
    fn the_session_debug_hides_the_token() {
        let s = State {
            user: Some("alice".into()),
            token: Some("secret-token".into()),
            ..State::default()
        };
        let shown = format!("{s:?}");
        assert!(
            shown.contains("alice") && !shown.contains("secret"),
            "{shown}"
        );
    }
}
