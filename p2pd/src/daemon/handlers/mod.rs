//! One small handler per control command. Handlers only translate between
//! the control protocol and the engine; blocking file work goes to blocking
//! threads. Views (list, status, progress, peers) are in `views`, changes
//! to the set of downloads in `downloads`, a download's files in `files`,
//! a download's place in the queue and its seed goals in `queue`, moving
//! and verifying its data in `maintenance`, `share` in
//! `share`, and what
//! paths a client may name in `rights`; accounts and groups in `session`
//! and `community`.

mod downloads;
mod files;
mod maintenance;
mod queue;
pub(super) mod rights;
mod share;
mod views;

use std::sync::Arc;
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{
    ErrorCode, Event, EventFrame, IpcError, ReplyBody, ReplyFrame, Request, Response, SettingKey,
    Subscribed, TorrentSummary, encode_frame,
};
use tokio::io::AsyncWriteExt;

use super::{Daemon, community};
pub(crate) use downloads::add_dropped;
use downloads::{add, limits, pause, remove, resume};
use rights::Peer;
use share::share;
use views::{list, peers, progress, status};

/// How often subscribers get progress.
const PROGRESS_PERIOD: Duration = Duration::from_millis(500);

type Reply = Result<Response, IpcError>;

fn err(code: ErrorCode, message: impl Into<String>) -> IpcError {
    IpcError::new(code, message)
}

/// Answers one request from `peer` (whose rights bound the paths it names).
pub(crate) async fn handle(d: &Arc<Daemon>, peer: &Peer, request: Request) -> Reply {
    match request {
        Request::ConfigGet => Ok(Response::Config(d.runtime.get())),
        Request::ConfigSet { ref key, ref value } => {
            if key.trim() == SettingKey::Tracker.name() && !rights::is_daemon_user(peer) {
                return Err(err(
                    ErrorCode::Forbidden,
                    "only p2pd's own user or root may change the tracker (announces to it carry the logged-in user's passkey)",
                ));
            }
            d.runtime.set(key, value).await.map(Response::Config)
        }
        Request::TorrentLimits {
            ref id,
            download_rate_limit,
            upload_rate_limit,
        } => limits(d, resolve(d, id)?, download_rate_limit, upload_rate_limit)
            .map(Response::Torrent),
        Request::Sequential { ref id, on } => {
            files::sequential(d, resolve(d, id)?, on).map(Response::Torrent)
        }
        Request::Queue { ref id, to } => queue::move_in_queue(d, resolve(d, id)?, to)
            .await
            .map(Response::Torrent),
        Request::SeedGoal {
            ref id,
            ref ratio,
            ref time,
        } => queue::seed_goal(d, resolve(d, id)?, ratio.as_deref(), time.as_deref())
            .map(|info| Response::SeedGoal(Box::new(info))),
        Request::Move { ref id, ref to } => maintenance::move_data(d, peer, resolve(d, id)?, to)
            .await
            .map(Response::Torrent),
        Request::Verify { ref id } => maintenance::verify(d, resolve(d, id)?)
            .await
            .map(Response::Verified),
        Request::Status => Ok(Response::Status(status(d).await)),
        Request::List => Ok(Response::List(list(d))),
        Request::Add {
            ref source,
            ref to,
            paused,
            ref files,
            sequential,
        } => add(
            d,
            peer,
            source,
            to.as_deref(),
            paused,
            files.as_ref(),
            sequential,
        )
        .await
        .map(Response::Added),
        Request::TorrentFiles { ref id } => {
            files::list(d, resolve(d, id)?).map(Response::TorrentFiles)
        }
        Request::FilePriority {
            ref id,
            ref files,
            priority,
        } => files::set(d, resolve(d, id)?, files, priority)
            .await
            .map(Response::TorrentFiles),
        Request::Progress { ref id } => progress(d, resolve(d, id)?).map(Response::Progress),
        Request::Pause { ref id } => pause(d, resolve(d, id)?).await.map(Response::Torrent),
        Request::Resume { ref id } => resume(d, resolve(d, id)?).await.map(Response::Added),
        Request::Remove {
            ref id,
            delete_data,
        } => remove(d, resolve(d, id)?, delete_data)
            .await
            .map(Response::Torrent),
        Request::Peers { ref id } => peers(d, resolve(d, id)?).map(Response::Peers),
        Request::Share {
            ref path,
            ref group,
        } => share(d, peer, path, group.as_deref())
            .await
            .map(Response::Shared),
        Request::Subscribe { .. } => Err(err(
            ErrorCode::Internal,
            "subscribe is handled by the connection",
        )),
        Request::Register {
            ref user,
            ref password,
        } => d
            .session
            .register(user, password)
            .await
            .map(Response::Registered),
        Request::Login {
            ref user,
            ref password,
            force,
        } => d
            .session
            .login(user, password, force)
            .await
            .map(Response::Session),
        Request::Logout => d.session.logout().await.map(Response::Session),
        Request::Whoami => Ok(Response::Session(d.session.info())),
        Request::PasskeyRotate => d
            .session
            .rotate_passkey()
            .await
            .map(Response::PasskeyRotated),
        ref r @ (Request::GroupCreate { .. }
        | Request::GroupList
        | Request::GroupJoin { .. }
        | Request::GroupLeave { .. }
        | Request::GroupRequests { .. }
        | Request::GroupAccept { .. }
        | Request::GroupReject { .. }
        | Request::GroupMembers { .. }
        | Request::GroupRemove { .. }
        | Request::Files { .. }
        | Request::Search { .. }
        | Request::Events { .. }) => community::proxy(&d.session, r).await,
    }
}

/// Finds a torrent by info-hash, unique prefix, or exact name.
fn resolve(d: &Daemon, id: &str) -> Result<InfoHash, IpcError> {
    let id = id.trim();
    let mut known: Vec<(InfoHash, String)> = d
        .engine
        .all_stats()
        .into_iter()
        .map(|s| (s.info_hash, s.name))
        .collect();
    for e in d.registry().entries() {
        if !known.iter().any(|(k, _)| *k == e.info_hash) {
            known.push((e.info_hash, e.name.clone()));
        }
    }
    let lower = id.to_ascii_lowercase();
    let matches: Vec<InfoHash> = known
        .iter()
        .filter(|(ih, name)| (!lower.is_empty() && ih.to_hex().starts_with(&lower)) || name == id)
        .map(|(ih, _)| *ih)
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(err(
            ErrorCode::NotFound,
            format!("no torrent matches {id:?}"),
        )),
        _ => Err(err(
            ErrorCode::Ambiguous,
            format!(
                "{id:?} matches {} torrents; give more of the info-hash",
                matches.len()
            ),
        )),
    }
}

/// Answers ok, then streams progress every half second and events as they
/// happen, until the client goes away or the daemon stops.
pub(crate) async fn subscribe(
    d: &Daemon,
    req_id: u64,
    filter: Option<&str>,
    tx: &mut (impl AsyncWriteExt + Unpin),
) -> anyhow::Result<()> {
    let only = match filter {
        Some(id) => match resolve(d, id) {
            Ok(ih) => Some(ih),
            Err(e) => {
                tx.write_all(&encode_frame(&ReplyFrame {
                    id: req_id,
                    body: ReplyBody::Error(e),
                }))
                .await?;
                return Ok(());
            }
        },
        None => None,
    };
    let mut events = d.events.subscribe();
    tx.write_all(&encode_frame(&ReplyFrame {
        id: req_id,
        body: ReplyBody::Ok(Response::Subscribed(Subscribed { subscribed: true })),
    }))
    .await?;
    let mut tick = tokio::time::interval(PROGRESS_PERIOD);
    loop {
        let event = tokio::select! {
            _ = d.cancel.cancelled() => return Ok(()),
            _ = tick.tick() => {
                let torrents: Vec<TorrentSummary> = list(d)
                    .into_iter()
                    .filter(|t| only.is_none_or(|ih| t.info_hash == ih))
                    .collect();
                Event::Progress { torrents }
            }
            e = events.recv() => match e {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return Ok(()),
            },
        };
        tx.write_all(&encode_frame(&EventFrame { event })).await?;
    }
}
