//! `/announce` and `/scrape` (BEP 3, 23, 48): read the raw query string
//! (never the typed `Query` extractor, which mangles binary info-hashes),
//! call the tracker, answer bencode with HTTP 200, failures included. The
//! reply bodies are plain functions shared with the server's fast path, so
//! both paths answer alike.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use p2p_proto::tracker::{AnnounceRequest, ScrapeRequest, failure_response};

use super::{bencoded, peer_ip};
use crate::app::Tracker;

pub(crate) fn failure(t: &Tracker, reason: &str) -> Vec<u8> {
    t.stats.failures.fetch_add(1, Ordering::Relaxed);
    failure_response(reason)
}

/// The bencoded reply to an announce with this raw query, from `remote`
/// (`headers` matter only when `remote` is a trusted proxy).
pub fn announce_reply(
    t: &Tracker,
    query: &[u8],
    remote: SocketAddr,
    headers: &HeaderMap,
) -> Vec<u8> {
    let req = match AnnounceRequest::parse(query) {
        Ok(r) => r,
        Err(e) => return failure(t, &e.to_string()),
    };
    let ip = peer_ip(
        &t.config.announce.trusted_proxies,
        remote.ip(),
        headers,
        req.ip,
    );
    let result = t.announce(
        &req,
        SocketAddr::new(ip, req.port),
        Instant::now(),
        &mut rand::rng(),
    );
    match result {
        Ok(body) => body,
        Err(refusal) => failure_response(&refusal.to_string()),
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
        Err(refusal) => failure_response(&refusal.to_string()),
    }
}

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
        query.as_bytes(),
        remote,
        request.headers(),
    ))
}

pub(super) async fn scrape(State(t): State<Arc<Tracker>>, RawQuery(query): RawQuery) -> Response {
    bencoded(scrape_reply(&t, query.unwrap_or_default().as_bytes()))
}
