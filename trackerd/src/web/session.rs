//! Browser sessions: the session cookie (the token of an ordinary tracker
//! session, from the same login as the API), the anonymous cookie that
//! seeds the CSRF token before login, the CSRF token itself, and form
//! bodies. Every POST form carries the token; a POST without the right
//! one is refused with 403 before anything else happens.
//!
//! The CSRF token is SHA-256 of a fixed label and the session token (or,
//! before login, of the anonymous cookie): another site can neither read
//! the cookie nor compute the token, and a new login changes it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use rand::RngExt as _;
use sha2::{Digest, Sha256};

use super::WebError;
use crate::app::Tracker;
use crate::community::{CommunityError, Session};
use crate::http::peer_ip;

/// The cookie holding the session token.
pub const SESSION_COOKIE: &str = "p2p_session";
/// The cookie that seeds the CSRF token of anonymous forms (login, register).
pub const ANON_COOKIE: &str = "p2p_anon";
/// The form field of the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// Longest cookie value read.
const MAX_COOKIE_BYTES: usize = 128;

/// Who is asking, and what their pages need: the session (if logged in),
/// the CSRF token for forms, and the cookies to set on the reply.
#[derive(Debug)]
pub struct Viewer {
    /// The live session, renewed by this request.
    pub session: Option<Session>,
    /// Whether the viewer is an admin.
    pub admin: bool,
    /// The CSRF token of this viewer's forms.
    pub csrf: String,
    /// The client's address (behind a trusted proxy, the forwarded one).
    pub ip: IpAddr,
    /// Whether the browser reached us over HTTPS (cookies are then `Secure`).
    pub secure: bool,
    /// Cookies to set on the reply.
    set_cookies: Vec<String>,
}

/// The value of cookie `name` in the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty() && v.len() <= MAX_COOKIE_BYTES)
}

/// The CSRF token derived from a secret cookie value.
fn csrf_of(seed: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"p2p-dashboard-csrf\0");
    h.update(seed.as_bytes());
    p2p_proto::infohash::hex_encode(&h.finalize())
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether the browser's connection is HTTPS: the configured public URL
/// says so, or a trusted proxy forwarded an HTTPS request.
fn is_https(t: &Tracker, remote: IpAddr, headers: &HeaderMap) -> bool {
    if t.config.public_url.starts_with("https://") {
        return true;
    }
    crate::http::is_trusted_proxy(&t.config.announce.trusted_proxies, remote)
        && headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

impl FromRequestParts<Arc<Tracker>> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, t: &Arc<Tracker>) -> Result<Self, WebError> {
        let remote = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        let headers = &parts.headers;
        let secure = is_https(t, remote, headers);
        let ip = peer_ip(&t.config.announce.trusted_proxies, remote, headers);
        let mut v = Viewer {
            session: None,
            admin: false,
            csrf: String::new(),
            ip,
            secure,
            set_cookies: Vec::new(),
        };
        if let Some(token) = cookie(headers, SESSION_COOKIE) {
            match t.community.authenticate(token).await {
                Ok(s) => {
                    v.admin = t.community.is_admin(&s);
                    v.session = Some(s);
                    v.csrf = csrf_of(token);
                    return Ok(v);
                }
                // An ended or expired session: forget the cookie.
                Err(CommunityError::Unauthenticated) => v.set_cookies.push(v.clear(SESSION_COOKIE)),
                Err(e) => return Err(WebError::from(e)),
            }
        }
        let anon = match cookie(headers, ANON_COOKIE) {
            Some(a) => a.to_owned(),
            None => {
                let fresh = p2p_proto::infohash::hex_encode(&rand::rng().random::<[u8; 16]>());
                v.set_cookies.push(v.cookie(ANON_COOKIE, &fresh));
                fresh
            }
        };
        v.csrf = csrf_of(&anon);
        Ok(v)
    }
}

impl Viewer {
    /// A `Set-Cookie` value: HttpOnly, SameSite=Lax (a share link opened
    /// from another site still carries the session; a form posted from
    /// another site does not), Secure over HTTPS.
    pub fn cookie(&self, name: &str, value: &str) -> String {
        format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Lax{}",
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// A `Set-Cookie` value that removes the cookie.
    pub fn clear(&self, name: &str) -> String {
        format!(
            "{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// Sets the session cookie to `token` on the reply.
    pub fn log_in(&mut self, token: &str) {
        let c = self.cookie(SESSION_COOKIE, token);
        self.set_cookies.push(c);
    }

    /// Removes the session cookie on the reply.
    pub fn log_out(&mut self) {
        let c = self.clear(SESSION_COOKIE);
        self.set_cookies.push(c);
    }

    /// The session, or the 401 page that asks to log in.
    pub fn require(&self) -> Result<&Session, WebError> {
        self.session
            .as_ref()
            .ok_or_else(|| WebError::from(CommunityError::Unauthenticated))
    }

    /// Refuses (403) a form whose CSRF token is missing or wrong.
    pub fn check_csrf(&self, token: Option<&str>) -> Result<(), WebError> {
        match token {
            Some(t) if same(t, &self.csrf) => Ok(()),
            _ => Err(WebError::csrf()),
        }
    }

    /// Adds the cookies this request set to `response`.
    pub fn finish(&self, mut response: Response) -> Response {
        for c in &self.set_cookies {
            if let Ok(v) = HeaderValue::from_str(c) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        response
    }
}

/// A urlencoded form body.
#[derive(Debug)]
pub struct Form(String);

impl Form {
    /// Reads a form body (the body limits bound its size beforehand).
    pub fn parse(body: &[u8]) -> Result<Form, WebError> {
        String::from_utf8(body.to_vec())
            .map(Form)
            .map_err(|_| WebError::from(CommunityError::Invalid("form is not UTF-8".into())))
    }

    /// A field's value (`None` when absent).
    pub fn get(&self, key: &str) -> Option<String> {
        crate::http::community_api::query_param(Some(&self.0), key)
    }

    /// A field's value, empty when absent.
    pub fn text(&self, key: &str) -> String {
        self.get(key).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_among_others_and_oversized_values_are_ignored() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; p2p_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        let long = format!("p2p_session={}", "x".repeat(MAX_COOKIE_BYTES + 1));
        h.insert(header::COOKIE, HeaderValue::from_str(&long).unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), None);
    }

    #[test]
    fn csrf_tokens_differ_per_seed_and_compare_whole() {
        assert_ne!(csrf_of("a"), csrf_of("b"));
        assert!(same(&csrf_of("a"), &csrf_of("a")));
        assert!(!same(&csrf_of("a"), &csrf_of("a")[..10]));
    }
}
