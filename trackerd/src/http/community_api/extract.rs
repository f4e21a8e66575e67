//! Shared pieces of the community API: the error body, the bearer-token
//! extractor (which renews the session), JSON bodies parsed by hand so
//! errors keep one shape, query parameters and the public base URL.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use p2p_proto::api::ErrorBody;
use serde::de::DeserializeOwned;

use crate::app::Tracker;
use crate::community::{CommunityError, Session};

/// An API error: `{"error": {"code", "message"}}` with its status.
#[derive(Debug)]
pub struct ApiError(pub CommunityError);

impl From<CommunityError> for ApiError {
    fn from(e: CommunityError) -> Self {
        ApiError(e)
    }
}

/// The HTTP status of a community error (logging the server's own faults).
pub fn status_of(e: &CommunityError) -> StatusCode {
    match e {
        CommunityError::Invalid(_) | CommunityError::NotAGroupTorrent(_) => StatusCode::BAD_REQUEST,
        CommunityError::OwnedElsewhere(_) | CommunityError::QuotaExceeded(_) => {
            StatusCode::FORBIDDEN
        }
        CommunityError::Unauthenticated | CommunityError::BadCredentials => {
            StatusCode::UNAUTHORIZED
        }
        CommunityError::Forbidden(_) => StatusCode::FORBIDDEN,
        CommunityError::NotFound(_) => StatusCode::NOT_FOUND,
        CommunityError::Conflict(_) => StatusCode::CONFLICT,
        CommunityError::RateLimited(_) | CommunityError::Throttled { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        CommunityError::Store(e) => {
            tracing::error!("community store: {e}");
            StatusCode::SERVICE_UNAVAILABLE
        }
        CommunityError::Internal(e) => {
            tracing::error!("community: {e}");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        let body = ErrorBody::new(self.0.code(), self.0.to_string());
        let mut response = (status, axum::Json(body)).into_response();
        if let CommunityError::Throttled {
            retry_after_secs, ..
        } = &self.0
        {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(*retry_after_secs),
            );
        }
        response
    }
}

/// The caller's live session (renewed by this request).
#[derive(Debug)]
pub struct Auth(pub Session);

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl FromRequestParts<Arc<Tracker>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, t: &Arc<Tracker>) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or(CommunityError::Unauthenticated)?;
        Ok(Auth(t.community.authenticate(token).await?))
    }
}

/// Parses a JSON body.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError(CommunityError::Invalid(format!("invalid JSON body: {e}"))))
}

/// The first value of `key` in a raw query string, percent-decoded (`+` is a space).
pub fn query_param(raw: Option<&str>, key: &str) -> Option<String> {
    raw?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k != key {
            return None;
        }
        let bytes = p2p_proto::percent::percent_decode_plus_as_space(v.as_bytes()).ok()?;
        String::from_utf8(bytes).ok()
    })
}

/// `http://HOST` from the request's Host header, else from the listen address.
pub fn base_url(t: &Tracker, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        });
    match host {
        Some(h) => format!("http://{h}"),
        None => format!("http://{}", t.config.listen),
    }
}
