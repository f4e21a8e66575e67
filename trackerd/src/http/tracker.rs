//! `/announce`, `/announce/<passkey>` and `/scrape` (BEP 3, 23, 48): read
//! the raw query string (never the typed `Query` extractor, which mangles
//! binary info-hashes), call the tracker, answer bencode with HTTP 200,
//! failures included. [`announce_reply`] and [`scrape_reply`] are the one
//! place replies are made and failures counted: the server's fast path and
//! these axum handlers both call them, so every path answers alike. No
//! tracker policy here beyond choosing the peer's address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use p2p_proto::tracker::{AnnounceRequest, ScrapeRequest, failure_response};

use super::{bencoded, peer_ip};
use crate::app::Tracker;

/// A bencoded failure reason, counted in the tracker's failures.
fn failure(t: &Tracker, reason: &str) -> Vec<u8> {
    t.stats.failures.fetch_add(1, Ordering::Relaxed);
    failure_response(reason)
}

/// The bencoded reply to an announce with this raw query from `remote`,
/// with the passkey of an `/announce/<passkey>` URL when it has one
/// (`headers` matter only when `remote` is a trusted proxy). Every
/// announce, on every path, is answered here.
pub fn announce_reply(
    t: &Tracker,
    passkey: Option<&str>,
    query: &[u8],
    remote: SocketAddr,
    headers: &HeaderMap,
) -> Vec<u8> {
    let req = match AnnounceRequest::parse(query) {
        Ok(r) => r,
        Err(e) => return failure(t, &e.to_string()),
    };
    // The announce's `ip` parameter is ignored (see `peer_addr`).
    let ip = peer_ip(&t.config.announce.trusted_proxies, remote.ip(), headers);
    let addr = SocketAddr::new(ip, req.port);
    match t.announce_as(&req, passkey, addr, Instant::now(), &mut rand::rng()) {
        Ok(body) => body,
        Err(refusal) => failure(t, &refusal.to_string()),
    }
}

/// The bencoded reply to a scrape with this raw query.
pub fn scrape_reply(t: &Tracker, query: &[u8]) -> Vec<u8> {
    let req = match ScrapeRequest::parse(query) {
        Ok(r) => r,
        Err(e) => return failure(t, &e.to_string()),
    };
    match t.scrape(&req) {
        Ok(body) => body,
        Err(refusal) => failure(t, &refusal.to_string()),
    }
}

/// `GET /announce` that the fast path left to hyper.
pub(super) async fn announce(
    State(t): State<Arc<Tracker>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    // The whole request, not a HeaderMap extractor: headers are read by
    // reference, and only for trusted proxies.
    let query = query.unwrap_or_default();
    bencoded(announce_reply(
        &t,
        None,
        query.as_bytes(),
        remote,
        request.headers(),
    ))
}

/// `GET /announce/<passkey>` that the fast path left to hyper (a passkey
/// of another shape, percent-encoding, a trusted proxy, an unusual head).
pub(super) async fn passkey_announce(
    State(t): State<Arc<Tracker>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Path(passkey): Path<String>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let query = query.unwrap_or_default();
    bencoded(announce_reply(
        &t,
        Some(&passkey),
        query.as_bytes(),
        remote,
        request.headers(),
    ))
}

pub(super) async fn scrape(State(t): State<Arc<Tracker>>, RawQuery(query): RawQuery) -> Response {
    bencoded(scrape_reply(&t, query.unwrap_or_default().as_bytes()))
}
