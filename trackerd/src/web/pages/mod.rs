//! One module per page: each extracts, asks the community layer or the
//! tracker, and renders with [`super::layout`].

pub mod account;
pub mod groups;
pub mod log;
pub mod online;
pub mod overview;
pub mod publish;
pub mod share;
pub mod torrents;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A 303 to `to` (after a form succeeded).
pub fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}
