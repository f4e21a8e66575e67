//! Groups, the catalog and the tracker's events, asked of trackerd with the
//! session's token through [`crate::tracker_api`]; and the personalised
//! .torrent of a catalog entry, for downloads by info-hash or name.
//!
//! Replies to `group_*`, `files`, `search` and `events` are the tracker's
//! typed answers (`p2p_proto::api`) in their IPC [`Response`]; tracker errors
//! become [`IpcError`]s through [`session::ipc_error`]. Every one of them
//! needs a login: without a session they answer `not_logged_in`.

use p2p_proto::api::{CatalogEntry, EventQuery};
use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{ErrorCode, IpcError, Request, Response};

use super::session::{self, Session};
use crate::tracker_api::{TrackerApi, TrackerApiError};

/// Entries listed in the error for an ambiguous catalog name.
const MAX_CANDIDATES_SHOWN: usize = 10;

/// A tracker answer as the IPC response it becomes.
fn reply<T>(
    answer: Result<T, TrackerApiError>,
    wrap: fn(T) -> Response,
) -> Result<Response, IpcError> {
    answer.map(wrap).map_err(session::ipc_error)
}

/// Answers a group, catalog or events request with the tracker's reply.
pub(crate) async fn proxy(session: &Session, request: &Request) -> Result<Response, IpcError> {
    let token = session.token()?;
    let api = session.api()?;
    let t = token.as_str();
    match request {
        Request::GroupCreate { name } => reply(api.create_group(t, name).await, Response::Group),
        Request::GroupList => reply(api.groups(t).await, Response::Groups),
        Request::GroupJoin { name } => {
            reply(api.join_group(t, name).await, Response::JoinRequested)
        }
        Request::GroupLeave { name } => reply(api.leave_group(t, name).await, Response::Left),
        Request::GroupRequests { name } => {
            reply(api.join_requests(t, name).await, Response::JoinRequests)
        }
        Request::GroupAccept { name, user } => {
            reply(api.accept(t, name, user).await, Response::Accepted)
        }
        Request::GroupReject { name, user } => {
            reply(api.reject(t, name, user).await, Response::Rejected)
        }
        Request::GroupMembers { name } => reply(api.members(t, name).await, Response::Members),
        Request::GroupRemove { name, user } => reply(
            api.remove_member(t, name, user).await,
            Response::MemberRemoved,
        ),
        Request::Files { group } => {
            reply(api.catalog(t, group.as_deref()).await, Response::Catalog)
        }
        Request::Search { term } => reply(api.search(t, term).await, Response::Catalog),
        Request::Events { after, limit } => reply(
            api.events(
                t,
                EventQuery {
                    after: after.map(|a| i64::try_from(a).unwrap_or(i64::MAX)),
                    limit: *limit,
                },
            )
            .await,
            Response::Events,
        ),
        other => Err(IpcError::new(
            ErrorCode::Internal,
            format!("{} is not a tracker request", other.name()),
        )),
    }
}

/// Fetches the personalised .torrent for `source`: an info-hash (40 hex) or
/// the exact name of one catalog entry the user can see.
pub(crate) async fn fetch_torrent(session: &Session, source: &str) -> Result<Vec<u8>, IpcError> {
    let token = session.token()?;
    let api = session.api()?;
    let ih = match InfoHash::parse(source) {
        Ok(ih) if source.len() == 40 => ih,
        _ => find_by_name(api, &token, source).await?,
    };
    api.personal_torrent(&token, ih)
        .await
        .map_err(session::ipc_error)
        .map_err(|e| match e.code {
            ErrorCode::NotFound => IpcError::new(
                ErrorCode::NotFound,
                format!("{source} is not in the public catalog nor in one of your groups"),
            ),
            _ => e,
        })
}

/// The info-hash of the one catalog entry named exactly `name`.
async fn find_by_name(api: &TrackerApi, token: &str, name: &str) -> Result<InfoHash, IpcError> {
    let found = api
        .search(token, name)
        .await
        .map_err(session::ipc_error)?
        .torrents;
    let mut exact: Vec<&CatalogEntry> = found.iter().filter(|e| e.name == name).collect();
    exact.sort_by_key(|e| e.info_hash.to_hex());
    exact.dedup_by_key(|e| e.info_hash);
    match exact.as_slice() {
        [one] => Ok(one.info_hash),
        [] => {
            let similar: Vec<&str> = found
                .iter()
                .map(|e| e.name.as_str())
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
                .map(|e| {
                    let place = e.group.as_deref().unwrap_or("public");
                    format!("{} in {place}", e.info_hash.short_hex())
                })
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
