//! Bounds on request bodies, applied before any handler runs: each route
//! gets the limit it needs (a .torrent for the upload routes, a few KiB
//! for the rest), a larger `Content-Length` is refused with 413 before a
//! byte of the body is read, every body reserves its size from one budget
//! of bytes buffered for requests in flight (503 when it stays spent), and
//! a body that arrives too slowly gets 408. Handlers still read the body
//! themselves, after their extractors (a request refused for its token is
//! answered without reading its body). Must not parse bodies or know users.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::json_error;
use crate::config::HttpConfig;

/// Room for the multipart framing and small fields of the dashboard's
/// publish form, on top of the .torrent itself.
pub const MULTIPART_FRAMING_BYTES: usize = 16 * 1024;

/// How long a request waits for the budget before it is refused.
const BUDGET_WAIT: Duration = Duration::from_secs(1);

/// The body limits and the shared budget.
#[derive(Debug)]
pub struct BodyLimits {
    torrent_bytes: usize,
    other_bytes: usize,
    budget: Arc<Semaphore>,
    read_timeout: Duration,
}

/// What went wrong while the handler read a body (told back to the
/// middleware, which answers for it).
const FINE: u8 = 0;
const TOO_LARGE: u8 = 1;
const TOO_SLOW: u8 = 2;

impl BodyLimits {
    /// Limits from the `[http]` configuration.
    pub fn new(c: &HttpConfig) -> BodyLimits {
        let torrent_bytes = c.max_torrent_bytes.max(1);
        // One upload at its limit must always fit, or it would wait for ever.
        let budget_bytes = c
            .max_buffered_body_bytes
            .max(torrent_bytes)
            .min(Semaphore::MAX_PERMITS);
        BodyLimits {
            torrent_bytes,
            other_bytes: c.max_body_bytes.max(1),
            budget: Arc::new(Semaphore::new(budget_bytes)),
            read_timeout: Duration::from_secs(c.body_read_timeout_secs.max(1)),
        }
    }

    /// The largest body `method path` may carry: uploads of a .torrent
    /// (`POST .../torrents`) get the torrent limit, everything else the
    /// small one.
    pub fn limit_for(&self, method: &Method, path: &str) -> usize {
        if method == Method::POST && path.starts_with("/api/v1/") && path.ends_with("/torrents") {
            self.torrent_bytes
        } else if method == Method::POST && path == crate::web::PUBLISH_PATH {
            // The dashboard's form: the .torrent and a little multipart framing.
            self.torrent_bytes.saturating_add(MULTIPART_FRAMING_BYTES)
        } else {
            self.other_bytes
        }
    }
}

/// The declared body length: `Some(0)` for none, `None` when chunked.
fn declared_length(req: &Request) -> Option<u64> {
    if req.headers().contains_key(header::TRANSFER_ENCODING) {
        return None;
    }
    // hyper has already refused a malformed or repeated Content-Length.
    Some(
        req.headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    )
}

/// The middleware: refuse, reserve, then pass a bounded body on.
pub async fn bound_bodies(
    State(limits): State<Arc<BodyLimits>>,
    req: Request,
    next: Next,
) -> Response {
    let limit = limits.limit_for(req.method(), req.uri().path());
    let declared = declared_length(&req);
    let reserve = match declared {
        Some(0) => return next.run(req).await,
        Some(n) if n > limit as u64 => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body of {n} bytes is over this route's limit of {limit}"),
            );
        }
        Some(n) => n as usize,
        None => limit,
    };
    let permits = u32::try_from(reserve).unwrap_or(u32::MAX);
    let permit = match tokio::time::timeout(
        BUDGET_WAIT,
        limits.budget.clone().acquire_many_owned(permits),
    )
    .await
    {
        Ok(Ok(p)) => p,
        _ => {
            let mut r = json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many request bodies in flight; try again shortly",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            return r;
        }
    };
    let outcome = Arc::new(AtomicU8::new(FINE));
    let (parts, body) = req.into_parts();
    let body = bounded(body, limit, limits.read_timeout, permit, outcome.clone());
    let response = next.run(Request::from_parts(parts, body)).await;
    match outcome.load(Ordering::Relaxed) {
        TOO_LARGE => json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body is over this route's limit of {limit} bytes"),
        ),
        TOO_SLOW => json_error(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "request body not received within {} s",
                limits.read_timeout.as_secs()
            ),
        ),
        _ => response.into_response(),
    }
}

/// State of a body being read.
struct Reading {
    inner: axum::body::BodyDataStream,
    read: usize,
    limit: usize,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    outcome: Arc<AtomicU8>,
    /// Held until the body is dropped: the reservation in the budget.
    _permit: OwnedSemaphorePermit,
}

/// `body`, failing past `limit` bytes or after `timeout`, holding `permit`.
fn bounded(
    body: Body,
    limit: usize,
    timeout: Duration,
    permit: OwnedSemaphorePermit,
    outcome: Arc<AtomicU8>,
) -> Body {
    let st = Reading {
        inner: body.into_data_stream(),
        read: 0,
        limit,
        deadline: Box::pin(tokio::time::sleep(timeout)),
        outcome,
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(Some(st), |st| async move {
        let mut st = st?;
        let chunk = tokio::select! {
            c = st.inner.next() => c?,
            _ = &mut st.deadline => {
                st.outcome.store(TOO_SLOW, Ordering::Relaxed);
                return Some((Err(BodyError("request body too slow")), None));
            }
        };
        let chunk: Bytes = match chunk {
            Ok(c) => c,
            Err(_) => return Some((Err(BodyError("request body cut short")), None)),
        };
        st.read += chunk.len();
        if st.read > st.limit {
            st.outcome.store(TOO_LARGE, Ordering::Relaxed);
            return Some((Err(BodyError("request body too large")), None));
        }
        Some((Ok(chunk), Some(st)))
    });
    Body::from_stream(stream)
}

/// Why a bounded body stopped.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BodyError(&'static str);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_get_the_torrent_limit_and_every_other_route_the_small_one() {
        let l = BodyLimits::new(&HttpConfig {
            max_torrent_bytes: 1000,
            max_body_bytes: 10,
            max_buffered_body_bytes: 5,
            ..HttpConfig::default()
        });
        assert_eq!(l.limit_for(&Method::POST, "/api/v1/torrents"), 1000);
        assert_eq!(
            l.limit_for(&Method::POST, "/api/v1/groups/g/torrents"),
            1000
        );
        assert_eq!(l.limit_for(&Method::POST, "/api/v1/public/torrents"), 1000);
        assert_eq!(l.limit_for(&Method::GET, "/api/v1/public/torrents"), 10);
        assert_eq!(l.limit_for(&Method::POST, "/api/v1/login"), 10);
        assert_eq!(l.limit_for(&Method::POST, "/api/v1/register"), 10);
        // The budget is raised to hold one upload.
        assert_eq!(l.budget.available_permits(), 1000);
    }
}
