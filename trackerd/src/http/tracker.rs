//! `/announce` and `/scrape` (BEP 3, 23, 48): read the raw query string
//! (never the typed `Query` extractor, which mangles binary info-hashes),
//! call the tracker, answer bencode with HTTP 200, failures included.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::response::Response;
use p2p_proto::tracker::{AnnounceRequest, ScrapeRequest, failure_response};

use super::{bencoded, peer_ip};
use crate::app::Tracker;

fn failure(t: &Tracker, reason: &str) -> Response {
    t.stats.failures.fetch_add(1, Ordering::Relaxed);
    bencoded(failure_response(reason))
}

pub(super) async fn announce(
    State(t): State<Arc<Tracker>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    // The whole request, not a HeaderMap extractor: headers are read by
    // reference, and only for trusted proxies.
    let headers = request.headers();
    let req = match AnnounceRequest::parse(query.unwrap_or_default().as_bytes()) {
        Ok(r) => r,
        Err(e) => return failure(&t, &e.to_string()),
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
        Ok(body) => bencoded(body),
        Err(refusal) => bencoded(failure_response(&refusal.to_string())),
    }
}

pub(super) async fn scrape(State(t): State<Arc<Tracker>>, RawQuery(query): RawQuery) -> Response {
    let req = match ScrapeRequest::parse(query.unwrap_or_default().as_bytes()) {
        Ok(r) => r,
        Err(e) => return failure(&t, &e.to_string()),
    };
    match t.scrape(&req) {
        Ok(body) => bencoded(body),
        Err(refusal) => bencoded(failure_response(&refusal.to_string())),
    }
}
