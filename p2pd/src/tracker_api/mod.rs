//! A typed client of trackerd's JSON API (`/api/v1/...`) over the shared
//! HTTP client: one method per endpoint p2pd uses, each returning the
//! contract's type, and the session stream (server-sent events).
//!
//! Knows nothing of the daemon: no login state, no IPC types. The one
//! retry is failover between the instances of one deployment (trackerd
//! instances sharing one PostgreSQL): a request no instance could have
//! received (the connection was refused) goes to the next one, and so does
//! a read that timed out; the instance that answers is used from then on.
//! The caller holds the token and decides what an error means to its user.

mod endpoints;
mod stream;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
#[derive(Debug, Clone, Copy)]
enum Body<'a> {
    None,
    Json(&'a [u8]),
    Bytes(&'a [u8]),
}

/// A client of one tracker's API, served by one instance or by several
/// that act as one. Cheap to clone; clones share the instance in use.
#[derive(Debug, Clone)]
pub struct TrackerApi {
    http: reqwest::Client,
    /// `scheme://host[:port]` of each instance, no trailing slash, in the
    /// order they are tried.
    bases: Arc<[String]>,
    /// Index in `bases` of the instance in use: the last one that answered.
    current: Arc<AtomicUsize>,
}

impl TrackerApi {
    /// A client of the tracker at `tracker_url` (its announce URL or any URL
    /// on it: only the scheme, host and port are kept).
    pub fn new(http: reqwest::Client, tracker_url: &str) -> Result<TrackerApi, TrackerApiError> {
        TrackerApi::with_instances(http, &[tracker_url])
    }

    /// A client of a tracker served by several instances, tried in the
    /// order given (the first is used until it stops answering).
    pub fn with_instances(
        http: reqwest::Client,
        urls: &[impl AsRef<str>],
    ) -> Result<TrackerApi, TrackerApiError> {
        let mut bases: Vec<String> = Vec::with_capacity(urls.len());
        for url in urls {
            let base = origin(url.as_ref())?;
            if !bases.contains(&base) {
                bases.push(base);
            }
        }
        if bases.is_empty() {
            return Err(TrackerApiError::BadUrl(String::new()));
        }
        Ok(TrackerApi {
            http,
            bases: bases.into(),
            current: Arc::default(),
        })
    }

    /// `scheme://host[:port]` of the instance in use.
    pub fn base(&self) -> &str {
        &self.bases[self.current.load(Ordering::Relaxed) % self.bases.len()]
    }

    /// How many instances serve this tracker.
    pub fn instances(&self) -> usize {
        self.bases.len()
    }

    /// Leaves the instance at `base` (it said it is shutting down) for the
    /// next one; returns the instance now in use, or `None` when there is
    /// no other. Several callers leaving the same instance move once.
    pub fn leave(&self, base: &str) -> Option<&str> {
        let n = self.bases.len();
        let from = self.bases.iter().position(|b| b == base)?;
        if n < 2 {
            return None;
        }
        let _ = self.current.compare_exchange(
            from,
            (from + 1) % n,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        Some(self.base())
    }

    /// Runs `attempt` against the instance in use, then, while the answer
    /// is an error the next instance may not share (see
    /// [`worth_another_instance`]), against the others in turn. The
    /// instance that answered becomes the one in use.
    async fn with_failover<T, F, Fut>(
        &self,
        idempotent: bool,
        attempt: F,
    ) -> Result<T, TrackerApiError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, TrackerApiError>>,
    {
        let n = self.bases.len();
        let start = self.current.load(Ordering::Relaxed) % n;
        let mut step = 0;
        loop {
            let i = (start + step) % n;
            let result = attempt(self.bases[i].clone()).await;
            step += 1;
            match result {
                Err(e) if step < n && worth_another_instance(&e, idempotent) => {
                    tracing::warn!(
                        "tracker instance {} did not answer ({e}); trying {}",
                        self.bases[i],
                        self.bases[(start + step) % n]
                    );
                }
                result => {
                    if step > 1
                        && !matches!(&result, Err(e) if worth_another_instance(e, idempotent))
                    {
                        self.current.store(i, Ordering::Relaxed);
                    }
                    return result;
                }
            }
        }
    }

    /// Sends one request and returns the body of a 2xx answer.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Body<'_>,
    ) -> Result<Vec<u8>, TrackerApiError> {
        let idempotent = method == Method::GET;
        self.with_failover(idempotent, |base| {
            self.send_to(base, method.clone(), path, token, body)
        })
        .await
    }

    /// Sends one request to the instance at `base`.
    async fn send_to(
        &self,
        base: String,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Body<'_>,
    ) -> Result<Vec<u8>, TrackerApiError> {
        let mut request = self
            .http
            .request(method, format!("{base}{path}"))
            .timeout(CALL_TIMEOUT);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request = match body {
            Body::None => request,
            Body::Json(b) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_vec()),
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
        let json = match body {
            Some(b) => {
                Some(serde_json::to_vec(b).map_err(|e| TrackerApiError::Decode(e.to_string()))?)
            }
            None => None,
        };
        let body = json.as_deref().map_or(Body::None, Body::Json);
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

    /// Whether one of the tracker's instances answers HTTP at all (any
    /// status counts: it is up, even if it refuses this request).
    pub async fn health(&self, timeout: Duration) -> Result<(), TrackerApiError> {
        self.with_failover(true, |base| self.health_of(base, timeout))
            .await
    }

    async fn health_of(&self, base: String, timeout: Duration) -> Result<(), TrackerApiError> {
        let response = self
            .http
            .get(format!("{base}/health"))
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

/// `scheme://host[:port]` of a tracker URL.
fn origin(tracker_url: &str) -> Result<String, TrackerApiError> {
    let bad = || TrackerApiError::BadUrl(tracker_url.chars().take(200).collect());
    let url = reqwest::Url::parse(tracker_url).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    Ok(url.origin().ascii_serialization())
}

/// Whether another instance may do better: the connection was refused (the
/// request never reached this one, so trying it elsewhere cannot apply it
/// twice), or, for a request that may be repeated, no answer came in time.
fn worth_another_instance(e: &TrackerApiError, idempotent: bool) -> bool {
    match e {
        TrackerApiError::Transport(e) => e.is_connect(),
        TrackerApiError::Timeout(_) => idempotent,
        _ => false,
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
