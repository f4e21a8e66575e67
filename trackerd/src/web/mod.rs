//! The web dashboard (issue 14): server-rendered pages on the tracker's
//! HTTP port, for operators and members who want to look rather than read
//! JSON. Handlers extract, call [`crate::community`] (the same rules as the
//! API: publishing, rate limits, who sees which group) and render with
//! maud, which escapes every value. One small stylesheet and one small
//! script are compiled in (`web/assets/`); no inline script or style, so the
//! Content-Security-Policy allows scripts from this origin only.
//!
//! Must not hold business rules: what a viewer may see or do is decided by
//! the community layer.

mod assets;
mod chart;
mod layout;
mod pages;
pub mod samples;
mod session;
mod sse;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::html;

use crate::app::Tracker;
use crate::community::CommunityError;

pub use session::{ANON_COOKIE, CSRF_FIELD, SESSION_COOKIE};

/// The dashboard's Content-Security-Policy: scripts, styles and
/// connections to this origin only, no plugins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The path of the publish form (its body may be a whole .torrent).
pub const PUBLISH_PATH: &str = "/publish";

/// The dashboard's routes, to be merged into [`crate::http::router`].
pub fn routes() -> Router<Arc<Tracker>> {
    Router::new()
        .route("/", get(pages::overview::show))
        .route("/torrents", get(pages::torrents::show))
        .route("/t/{info_hash}", get(pages::share::show))
        .route("/t/{info_hash}/torrent", get(pages::share::download))
        .route("/t/{info_hash}/remove", post(pages::share::remove))
        .route(
            PUBLISH_PATH,
            get(pages::publish::show)
                .post(pages::publish::submit)
                // The body limits middleware bounds this body already.
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/groups",
            get(pages::groups::show).post(pages::groups::create),
        )
        .route("/groups/join", post(pages::groups::join))
        .route("/groups/{g}/leave", post(pages::groups::leave))
        .route(
            "/groups/{g}/requests/{user}/{answer}",
            post(pages::groups::answer),
        )
        .route("/online", get(pages::online::show))
        .route("/online/{user}/end", post(pages::online::end_session))
        .route("/log", get(pages::log::show))
        .route("/log/stream", get(sse::stream))
        .route("/account", get(pages::account::show))
        .route("/login", post(pages::account::login))
        .route("/register", post(pages::account::register))
        .route("/logout", post(pages::account::logout))
        .route("/password", post(pages::account::password))
        .route("/assets/{name}", get(assets::serve))
        .layer(axum::middleware::map_response(security_headers))
}

/// Headers on every dashboard reply: the CSP, no sniffing, no framing,
/// no referrer (share pages carry info-hashes), and no caching of pages
/// (they show what a session may see; assets set their own).
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// An error shown as a page, with its status.
#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    message: String,
}

impl WebError {
    /// The 403 of a form without the right CSRF token.
    pub fn csrf() -> WebError {
        WebError {
            status: StatusCode::FORBIDDEN,
            message: "This form expired or did not come from this site. Reload the page and \
                      try again."
                .into(),
        }
    }

    /// A 404 that says no more than an unknown page would.
    pub fn not_found() -> WebError {
        WebError {
            status: StatusCode::NOT_FOUND,
            message: "Nothing here.".into(),
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message shown.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<CommunityError> for WebError {
    fn from(e: CommunityError) -> Self {
        let status = crate::http::community_api::status_of(&e);
        let message = match &e {
            CommunityError::Unauthenticated => "Log in to see this page.".to_owned(),
            // The server's own faults are logged, not shown.
            CommunityError::Store(_) | CommunityError::Internal(_) => {
                "The tracker could not do that just now; try again.".to_owned()
            }
            // What the API says (never naming a group the viewer cannot see).
            other => other.to_string(),
        };
        WebError { status, message }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = html! {
            h1 { (title) }
            p.notice.error role="alert" { (self.message) }
            @if self.status == StatusCode::UNAUTHORIZED {
                p { a href="/account" { "Log in or register" } }
            } @else {
                p { a href="/" { "Back to the overview" } }
            }
        };
        let page = layout::page(None, title, layout::Nav::None, body);
        (self.status, page).into_response()
    }
}
