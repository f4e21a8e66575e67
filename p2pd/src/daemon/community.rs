//! Groups, the catalog and the tracker's events, proxied to trackerd with
//! the session's token; downloads by info-hash or catalog name; and the
//! publishing of watched-folder items into the catalog.
//!
//! Replies to `group_*`, `files`, `search` and `events` are the tracker's
//! JSON object passed through unchanged (see trackerd/README.md, "Accounts,
//! groups, catalog and events"); tracker errors become [`IpcError`]s as in
//! [`session::call`]. Every one of them needs a login: without a session
//! they answer `not_logged_in`. Publishing never fails anything: its
//! failures are logged.

use std::sync::Arc;

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{ErrorCode, IpcError, Request};
use p2p_proto::metainfo::{TorrentExtras, encode_torrent};
use serde_json::{Value, json};

use super::shared::SharedItem;
use super::{Daemon, session};

/// Entries listed in the error for an ambiguous catalog name.
const MAX_CANDIDATES_SHOWN: usize = 10;

/// The session's token, or `not_logged_in`.
fn token(d: &Daemon) -> Result<String, IpcError> {
    d.session()
        .token()
        .map(str::to_owned)
        .ok_or_else(|| IpcError::new(ErrorCode::NotLoggedIn, "log in first (p2pctl login USER)"))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so a name
/// cannot add path segments or query parameters.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The tracker call (method, path, JSON body) a proxied request makes;
/// `None` for requests that are not proxied.
fn route(request: &Request) -> Option<(&'static str, String, Option<Value>)> {
    let group = |g: &str| format!("/api/v1/groups/{}", enc(g));
    Some(match request {
        Request::GroupCreate { name } => {
            ("POST", "/api/v1/groups".into(), Some(json!({"name": name})))
        }
        Request::GroupList => ("GET", "/api/v1/groups".into(), None),
        Request::GroupJoin { name } => ("POST", format!("{}/join", group(name)), None),
        Request::GroupLeave { name } => ("POST", format!("{}/leave", group(name)), None),
        Request::GroupRequests { name } => ("GET", format!("{}/requests", group(name)), None),
        Request::GroupAccept { name, user } => (
            "POST",
            format!("{}/requests/{}/accept", group(name), enc(user)),
            None,
        ),
        Request::GroupReject { name, user } => (
            "POST",
            format!("{}/requests/{}/reject", group(name), enc(user)),
            None,
        ),
        Request::GroupMembers { name } => ("GET", format!("{}/members", group(name)), None),
        Request::GroupRemove { name, user } => (
            "DELETE",
            format!("{}/members/{}", group(name), enc(user)),
            None,
        ),
        Request::Files { group: Some(g) } => ("GET", format!("{}/torrents", group(g)), None),
        Request::Files { group: None } => ("GET", "/api/v1/public/torrents".into(), None),
        Request::Search { term } => ("GET", format!("/api/v1/search?q={}", enc(term)), None),
        Request::Events { after, limit } => {
            let mut q = Vec::new();
            if let Some(a) = after {
                q.push(format!("after={a}"));
            }
            if let Some(l) = limit {
                q.push(format!("limit={l}"));
            }
            let query = if q.is_empty() {
                String::new()
            } else {
                format!("?{}", q.join("&"))
            };
            ("GET", format!("/api/v1/events{query}"), None)
        }
        _ => return None,
    })
}

/// Answers a group, catalog or events request with the tracker's reply.
pub(crate) async fn proxy(d: &Daemon, request: &Request) -> Result<Value, IpcError> {
    let Some((method, path, body)) = route(request) else {
        return Err(IpcError::new(
            ErrorCode::Internal,
            format!("{} is not a tracker request", request.name()),
        ));
    };
    let token = token(d)?;
    let v = session::call(d, method, &path, Some(&token), body).await?;
    // Some answers have no body (200 with nothing): say what was done.
    Ok(if v.is_null() {
        json!({ "done": request.name() })
    } else {
        v
    })
}

/// Fetches the personalised .torrent for `source`: an info-hash (40 hex) or
/// the exact name of one catalog entry the user can see.
pub(crate) async fn fetch_torrent(d: &Daemon, source: &str) -> Result<Vec<u8>, IpcError> {
    let token = token(d)?;
    let ih = if source.len() == 40 && source.bytes().all(|b| b.is_ascii_hexdigit()) {
        source.to_ascii_lowercase()
    } else {
        find_by_name(d, &token, source).await?
    };
    session::call_raw(
        d,
        "GET",
        &format!("/api/v1/torrents/{ih}/torrent"),
        Some(&token),
        None,
    )
    .await
    .map_err(|e| match e.code {
        ErrorCode::NotFound => IpcError::new(
            ErrorCode::NotFound,
            format!("{source} is not in the public catalog nor in one of your groups"),
        ),
        _ => e,
    })
}

/// The info-hash of the one catalog entry named exactly `name`.
async fn find_by_name(d: &Daemon, token: &str, name: &str) -> Result<String, IpcError> {
    let path = format!("/api/v1/search?q={}", enc(name));
    let v = session::call(d, "GET", &path, Some(token), None).await?;
    let entries = v["torrents"].as_array().cloned().unwrap_or_default();
    let mut exact: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e["name"].as_str() == Some(name))
        .filter_map(|e| {
            let ih = e["info_hash"].as_str()?.to_owned();
            let place = e["group"].as_str().unwrap_or("public").to_owned();
            Some((ih, place))
        })
        .collect();
    exact.sort();
    exact.dedup_by(|a, b| a.0 == b.0);
    match exact.as_slice() {
        [(ih, _)] => Ok(ih.clone()),
        [] => {
            let similar: Vec<&str> = entries
                .iter()
                .filter_map(|e| e["name"].as_str())
                .take(MAX_CANDIDATES_SHOWN)
                .collect();
            let hint = if similar.is_empty() {
                String::new()
            } else {
                format!(" (similar: {})", similar.join(", "))
            };
            Err(IpcError::new(
                ErrorCode::NotFound,
                format!("no catalog entry is named {name:?}{hint}"),
            ))
        }
        many => {
            let list: Vec<String> = many
                .iter()
                .take(MAX_CANDIDATES_SHOWN)
                .map(|(ih, place)| format!("{} in {place}", &ih[..8]))
                .collect();
            Err(IpcError::new(
                ErrorCode::Ambiguous,
                format!(
                    "{} catalog entries are named {name:?}: {}; download one by its info-hash",
                    many.len(),
                    list.join(", ")
                ),
            ))
        }
    }
}

/// The catalog path of an item's group, or of the public catalog.
fn catalog_path(group: Option<&str>) -> String {
    match group {
        Some(g) => format!("/api/v1/groups/{}/torrents", enc(g)),
        None => "/api/v1/public/torrents".into(),
    }
}

/// Publishes one watched-folder item into its group's catalog (or the public
/// one) when logged in. Already there is fine; failures are logged.
pub(crate) async fn publish(d: &Daemon, item: &SharedItem) {
    let (Some(token), Some(tracker)) = (
        d.session().token().map(str::to_owned),
        d.settings.tracker.clone(),
    ) else {
        return;
    };
    let meta = &item.metainfo;
    let bytes = encode_torrent(
        &meta.raw_info,
        &TorrentExtras {
            trackers: vec![vec![tracker]],
            ..Default::default()
        },
    );
    let path = catalog_path(item.group.as_deref());
    let place = item.group.as_deref().unwrap_or("the public catalog");
    match session::call_raw(d, "POST", &path, Some(&token), Some(&bytes)).await {
        Ok(_) => {
            tracing::info!(torrent = %meta.info.name, info_hash = %meta.info_hash, "published in {place}")
        }
        Err(e) if e.code == ErrorCode::AlreadyExists => {}
        Err(e) => tracing::warn!(torrent = %meta.info.name, "cannot publish in {place}: {e}"),
    }
}

/// Withdraws an item from the catalog when logged in; failures are logged.
pub(crate) async fn withdraw(d: &Daemon, info_hash: InfoHash, group: Option<&str>) {
    let Some(token) = d.session().token().map(str::to_owned) else {
        return;
    };
    let path = format!("{}/{}", catalog_path(group), info_hash.to_hex());
    let place = group.unwrap_or("the public catalog");
    match session::call_raw(d, "DELETE", &path, Some(&token), None).await {
        Ok(_) => tracing::info!(%info_hash, "withdrawn from {place}"),
        Err(e) if e.code == ErrorCode::NotFound => {}
        Err(e) => tracing::warn!(%info_hash, "cannot withdraw from {place}: {e}"),
    }
}

/// Publishes every current watched-folder item (at login).
pub(crate) async fn publish_all(d: Arc<Daemon>) {
    for item in d.shared_snapshot() {
        publish(&d, &item).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_their_path_segment() {
        assert_eq!(enc("team"), "team");
        assert_eq!(enc("a/b?c=d&e"), "a%2Fb%3Fc%3Dd%26e");
        assert_eq!(enc("x y"), "x%20y");
    }

    #[test]
    fn requests_map_to_the_tracker_api() {
        let r = route(&Request::GroupAccept {
            name: "team".into(),
            user: "bob".into(),
        });
        assert_eq!(
            r.map(|(m, p, _)| (m, p)),
            Some(("POST", "/api/v1/groups/team/requests/bob/accept".into()))
        );
        let r = route(&Request::Files { group: None });
        assert_eq!(r.map(|(_, p, _)| p), Some("/api/v1/public/torrents".into()));
        let r = route(&Request::Events {
            after: Some(4),
            limit: Some(10),
        });
        assert_eq!(
            r.map(|(_, p, _)| p),
            Some("/api/v1/events?after=4&limit=10".into())
        );
        assert!(route(&Request::Status).is_none());
    }
}
