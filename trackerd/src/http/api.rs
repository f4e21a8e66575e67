//! The JSON API (`/api/v1/...`), `/health` and `/metrics` (Prometheus text
//! format, written by hand). Registering a torrent needs the admin token,
//! or a loopback client when no token is configured (behind a trusted
//! proxy: a client the proxy names as loopback). Handlers only read
//! the tracker and store; no swarm rules here.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use p2p_proto::api::{Health, TorrentDetails, TorrentInfo, TorrentList, TrackerMode, TrackerStats};
use p2p_proto::infohash::InfoHash;

use super::{is_local_client, json_error};
use crate::app::{RegisterError, Tracker};
use crate::config::Mode;
use crate::store::TorrentRecord;

pub(super) async fn health() -> Response {
    Json(Health {
        status: "ok".into(),
    })
    .into_response()
}

fn tracker_stats(t: &Tracker) -> TrackerStats {
    let totals = t.totals();
    let s = &t.stats;
    TrackerStats {
        mode: match t.config.mode {
            Mode::Open => TrackerMode::Open,
            Mode::Catalog => TrackerMode::Catalog,
        },
        torrents: totals.torrents as u64,
        registered_torrents: t.registered_count() as u64,
        seeders: totals.seeders as u64,
        leechers: totals.leechers as u64,
        announces_per_second: s.announce_rate(),
        announces_total: s.announces.load(Ordering::Relaxed),
        scrapes_total: s.scrapes.load(Ordering::Relaxed),
        failures_total: s.failures.load(Ordering::Relaxed),
        completed_total: s.completed.load(Ordering::Relaxed),
        completed_pending: t.pending_completed(),
        connections_total: s.connections.load(Ordering::Relaxed),
        uptime_secs: s.started.elapsed().as_secs(),
    }
}

pub(super) async fn stats(State(t): State<Arc<Tracker>>) -> Response {
    Json(tracker_stats(&t)).into_response()
}

pub(super) async fn metrics(State(t): State<Arc<Tracker>>) -> Response {
    let totals = t.totals();
    let s = &t.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as f64;
    let rows: [(&str, &str, &str, f64); 11] = [
        (
            "trackerd_announces_total",
            "counter",
            "Announces answered.",
            load(&s.announces),
        ),
        (
            "trackerd_scrapes_total",
            "counter",
            "Scrapes answered.",
            load(&s.scrapes),
        ),
        (
            "trackerd_failures_total",
            "counter",
            "Requests refused with a failure reason.",
            load(&s.failures),
        ),
        (
            "trackerd_completed_total",
            "counter",
            "Completed downloads counted since start.",
            load(&s.completed),
        ),
        (
            "trackerd_connections_total",
            "counter",
            "HTTP connections accepted.",
            load(&s.connections),
        ),
        (
            "trackerd_torrents",
            "gauge",
            "Swarms in memory.",
            totals.torrents as f64,
        ),
        (
            "trackerd_registered_torrents",
            "gauge",
            "Torrents in the catalog.",
            t.registered_count() as f64,
        ),
        (
            "trackerd_seeders",
            "gauge",
            "Seeders over all swarms.",
            totals.seeders as f64,
        ),
        (
            "trackerd_leechers",
            "gauge",
            "Leechers over all swarms.",
            totals.leechers as f64,
        ),
        (
            "trackerd_announces_per_second",
            "gauge",
            "Announce rate over the last second.",
            s.announce_rate(),
        ),
        (
            "trackerd_uptime_seconds",
            "gauge",
            "Seconds since start.",
            s.started.elapsed().as_secs_f64(),
        ),
    ];
    let mut out = String::new();
    for (name, kind, help, value) in rows {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

fn torrent_info(t: &Tracker, rec: Option<&TorrentRecord>, h: &InfoHash) -> TorrentInfo {
    let s = t.torrent_stats(h);
    TorrentInfo {
        info_hash: *h,
        registered: rec.is_some(),
        seeders: u64::from(s.complete),
        leechers: u64::from(s.incomplete),
        completed: u64::from(s.downloaded),
        details: rec.map(|rec| TorrentDetails {
            name: rec.name.clone(),
            total_length: rec.total_length,
            piece_length: rec.piece_length,
            file_count: rec.file_count,
            private: rec.private,
            added_at: rec.added_at,
        }),
    }
}

pub(super) async fn list_torrents(State(t): State<Arc<Tracker>>) -> Response {
    match t.store.torrents().await {
        Ok(list) => {
            // Group torrents are only for their members (see the catalog API).
            let torrents: Vec<TorrentInfo> = list
                .iter()
                .filter(|r| !t.community.access.is_group_only(&r.info_hash))
                .map(|r| torrent_info(&t, Some(r), &r.info_hash))
                .collect();
            Json(TorrentList { torrents }).into_response()
        }
        Err(e) => {
            tracing::error!("listing torrents: {e}");
            json_error(StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}

pub(super) async fn get_torrent(
    State(t): State<Arc<Tracker>>,
    Path(text): Path<String>,
    headers: HeaderMap,
) -> Response {
    let h = match InfoHash::parse(&text) {
        Ok(h) => h,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    // A group torrent is shown only to the members of the group that owns
    // it, not even its existence to anyone else: they see what an unknown
    // torrent shows, its outsiders' swarm in open mode (see crate::outsiders).
    if t.community.access.is_group_only(&h) && !member_sees(&t, &headers, &h).await {
        return match t.outsiders_stats(&h) {
            Some(s) => Json(TorrentInfo {
                info_hash: h,
                registered: false,
                seeders: u64::from(s.complete),
                leechers: u64::from(s.incomplete),
                completed: u64::from(s.downloaded),
                details: None,
            })
            .into_response(),
            None => json_error(StatusCode::NOT_FOUND, &format!("torrent {h} is not known")),
        };
    }
    match t.store.torrent(h).await {
        Ok(Some(rec)) => Json(torrent_info(&t, Some(&rec), &h)).into_response(),
        Ok(None) if t.swarms.scrape(&h).is_some() => {
            Json(torrent_info(&t, None, &h)).into_response()
        }
        Ok(None) => json_error(StatusCode::NOT_FOUND, &format!("torrent {h} is not known")),
        Err(e) => {
            tracing::error!("reading torrent {h}: {e}");
            json_error(StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}

/// Whether the request carries the session token of a member of the group
/// that owns `h`.
async fn member_sees(t: &Tracker, headers: &HeaderMap, h: &InfoHash) -> bool {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    match t.community.authenticate(token.trim()).await {
        Ok(session) => t.community.access.may_see(h, Some(session.user_id)),
        Err(_) => false,
    }
}

fn authorized(t: &Tracker, remote: SocketAddr, headers: &HeaderMap) -> bool {
    let token = &t.config.http.admin_token;
    if token.is_empty() {
        // Behind a proxy the socket is the proxy's: judge the client it
        // forwards for, never the proxy's own (often loopback) address.
        return is_local_client(&t.config.announce.trusted_proxies, remote.ip(), headers);
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes()))
}

/// Compares without stopping at the first difference, so response time
/// does not reveal how much of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(super) async fn register_torrent(
    State(t): State<Arc<Tracker>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&t, remote, &headers) {
        return json_error(
            StatusCode::FORBIDDEN,
            "registering torrents needs the admin token",
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    match t.register(body.to_vec(), now).await {
        Ok((rec, new)) => {
            let status = if new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            if new {
                tracing::info!(info_hash = %rec.info_hash, name = %rec.name, "torrent registered");
            }
            (status, Json(torrent_info(&t, Some(&rec), &rec.info_hash))).into_response()
        }
        Err(RegisterError::Invalid(e)) => json_error(
            StatusCode::BAD_REQUEST,
            &format!("not a valid .torrent: {e}"),
        ),
        Err(e @ (RegisterError::Store(_) | RegisterError::Internal(_))) => {
            tracing::error!("registering a torrent: {e}");
            json_error(StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}
