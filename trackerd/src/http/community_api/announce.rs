//! `GET /announce/<passkey>`: the standard announce (BEP 3, 23) with the
//! user named by the passkey, so group torrents are served to members only.
//! Same parsing and replies as `/announce`; failures are a bencoded
//! `failure reason` with HTTP 200. [`passkey_announce_reply`] is a plain
//! function so a fast path can answer exactly alike.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use p2p_proto::tracker::{AnnounceRequest, failure_response};

use crate::app::Tracker;
use crate::http::tracker::failure;
use crate::http::{bencoded, peer_ip};

/// The bencoded reply to `/announce/<passkey>?<query>` from `remote`
/// (`headers` matter only when `remote` is a trusted proxy).
pub fn passkey_announce_reply(
    t: &Tracker,
    passkey: &str,
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
    let addr = SocketAddr::new(ip, req.port);
    match t.announce_as(&req, Some(passkey), addr, Instant::now(), &mut rand::rng()) {
        Ok(body) => body,
        Err(refusal) => failure_response(&refusal.to_string()),
    }
}

pub(super) async fn announce(
    State(t): State<Arc<Tracker>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Path(passkey): Path<String>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let query = query.unwrap_or_default();
    bencoded(passkey_announce_reply(
        &t,
        &passkey,
        query.as_bytes(),
        remote,
        request.headers(),
    ))
}
