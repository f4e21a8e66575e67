//! A typed client of trackerd's JSON API (`/api/v1/...`) over the shared
//! HTTP client: one method per endpoint p2pd uses, each returning the
//! contract's type, and the session stream (server-sent events).
//!
//! Knows nothing of the daemon: no login state, no IPC types, no retries.
//! The caller holds the token and decides what an error means to its user.

mod endpoints;
mod stream;

use std::time::Duration;

use p2p_proto::api::ErrorBody;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::http_client::{self, BodyError, error_chain};

pub use stream::SessionStream;

/// Time allowed for one call, answer included (Argon2 on the tracker takes a while).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest answer read from the tracker (a .torrent, a page of the catalog).
pub const MAX_REPLY_BYTES: usize = 1 << 20;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum TrackerApiError {
    /// The tracker URL has no usable origin.
    #[error("bad tracker URL {0:?}: only http:// and https:// URLs are supported")]
    BadUrl(String),
    /// The tracker answered with a status that is not a success.
    #[error("{}", status_message(*.status, .body.as_ref()))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The error body, when the answer had one.
        body: Option<ErrorBody>,
    },
    /// Connecting, the TLS handshake, sending or receiving failed.
    #[error("tracker unreachable: {}", error_chain(.0))]
    Transport(reqwest::Error),
    /// No whole answer in time.
    #[error("the tracker did not answer within {0:?}")]
    Timeout(Duration),
    /// The answer is larger than [`MAX_REPLY_BYTES`].
    #[error("the tracker's answer is larger than {0} bytes")]
    TooLarge(usize),
    /// The answer is not the contract's type.
    #[error("unexpected answer from the tracker: {0}")]
    Decode(String),
}

fn status_message(status: u16, body: Option<&ErrorBody>) -> String {
    match body {
        Some(b) => b.error.message.clone(),
        None => format!("the tracker answered HTTP {status}"),
    }
}

impl TrackerApiError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            TrackerApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for TrackerApiError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            TrackerApiError::Timeout(CALL_TIMEOUT)
        } else {
            TrackerApiError::Transport(e)
        }
    }
}

impl From<BodyError> for TrackerApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge { max } => TrackerApiError::TooLarge(max),
            BodyError::Read(e) => e.into(),
        }
    }
}

/// The body of a request.
#[derive(Debug)]
enum Body<'a> {
    None,
    Json(Vec<u8>),
    Bytes(&'a [u8]),
}

/// A client of one tracker's API. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TrackerApi {
    http: reqwest::Client,
    /// `scheme://host[:port]`, no trailing slash.
    base: String,
}

impl TrackerApi {
    /// A client of the tracker at `tracker_url` (its announce URL or any URL
    /// on it: only the scheme, host and port are kept).
    pub fn new(http: reqwest::Client, tracker_url: &str) -> Result<TrackerApi, TrackerApiError> {
        let bad = || TrackerApiError::BadUrl(tracker_url.chars().take(200).collect());
        let url = reqwest::Url::parse(tracker_url).map_err(|_| bad())?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad());
        }
        Ok(TrackerApi {
            http,
            base: url.origin().ascii_serialization(),
        })
    }

    /// `scheme://host[:port]` of the tracker.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends one request and returns the body of a 2xx answer.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Body<'_>,
    ) -> Result<Vec<u8>, TrackerApiError> {
        let mut request = self
            .http
            .request(method, self.url(path))
            .timeout(CALL_TIMEOUT);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request = match body {
            Body::None => request,
            Body::Json(b) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b),
            Body::Bytes(b) => request
                .header(reqwest::header::CONTENT_TYPE, "application/x-bittorrent")
                .body(b.to_vec()),
        };
        let response = request.send().await?;
        let status = response.status();
        let bytes = http_client::read_capped(response, MAX_REPLY_BYTES).await?;
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(TrackerApiError::Status {
                status: status.as_u16(),
                body: serde_json::from_slice(&bytes).ok(),
            })
        }
    }

    /// A call whose answer is JSON of type `T`.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, TrackerApiError> {
        let body = match body {
            Some(b) => Body::Json(
                serde_json::to_vec(b).map_err(|e| TrackerApiError::Decode(e.to_string()))?,
            ),
            None => Body::None,
        };
        let bytes = self.send(method, path, token, body).await?;
        decode(&bytes)
    }

    /// A call with raw bytes in (a .torrent) and raw bytes out.
    async fn call_bytes(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<Vec<u8>, TrackerApiError> {
        let body = body.map_or(Body::None, Body::Bytes);
        self.send(method, path, token, body).await
    }

    /// Whether the tracker's host answers HTTP at all (any status counts:
    /// it is up, even if it refuses this request).
    pub async fn health(&self, timeout: Duration) -> Result<(), TrackerApiError> {
        let response = self
            .http
            .get(self.url("/health"))
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    TrackerApiError::Timeout(timeout)
                } else {
                    TrackerApiError::Transport(e)
                }
            })?;
        drop(response);
        Ok(())
    }
}

/// Reads an answer as the contract's type.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, TrackerApiError> {
    serde_json::from_slice(bytes).map_err(|e| TrackerApiError::Decode(e.to_string()))
}

/// Percent-encodes one path segment (a group or user name), so it cannot
/// add segments or a query.
fn segment(s: &str) -> String {
    p2p_proto::percent::percent_encode(s.as_bytes())
}

#[cfg(test)]
mod tests;
