//! The stylesheet and the script, compiled into the binary and served with
//! a content hash in their URL, so browsers keep them for a year and a new
//! build is fetched at once. Both are small enough (a few KiB) that the
//! first paint of any page stays far under the 60 kB budget uncompressed.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

fn versioned(name: &str, body: &str) -> String {
    let hash = Sha256::digest(body.as_bytes());
    format!(
        "/assets/{name}?v={}",
        p2p_proto::infohash::hex_encode(&hash[..6])
    )
}

static CSS_URL: LazyLock<String> = LazyLock::new(|| versioned("app.css", CSS));
static JS_URL: LazyLock<String> = LazyLock::new(|| versioned("app.js", JS));

/// The stylesheet's URL.
pub fn css_url() -> &'static str {
    &CSS_URL
}

/// The script's URL.
pub fn js_url() -> &'static str {
    &JS_URL
}

pub(super) async fn serve(Path(name): Path<String>) -> Response {
    let (kind, body) = match name.as_str() {
        "app.css" => ("text/css; charset=utf-8", CSS),
        "app.js" => ("text/javascript; charset=utf-8", JS),
        _ => return super::WebError::not_found().into_response(),
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}
