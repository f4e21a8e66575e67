//! Replies: one typed body per command, wrapped in a frame that carries the
//! request's id. On the wire the body is the bare object (no tag), as it
//! always was: `{"id":1,"ok":{...}}` or `{"id":1,"error":{...}}`. A client
//! knows which command it sent, so [`Request::decode_reply`] picks the one
//! type that command answers with; that mapping lives here and nowhere else.

use serde::{Deserialize, Serialize};

use super::request::Request;
use super::settings::RuntimeSettings;
use super::views::*;
use crate::api;

/// One reply line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplyFrame {
    /// The request's id (0 for errors about a line that had none).
    pub id: u64,
    /// The outcome.
    #[serde(flatten)]
    pub body: ReplyBody,
}

/// Success with the command's typed result, or an error.
// One lives per reply being written, never many at once: boxing the common
// `Ok` would only add an allocation to every reply.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyBody {
    /// The command's result.
    Ok(Response),
    /// Why it failed.
    Error(IpcError),
}

/// The result of each command (the variant a command answers with is in
/// [`Request::decode_reply`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// `status`.
    Status(StatusInfo),
    /// `list`.
    List(Vec<TorrentSummary>),
    /// `add`, `resume`: the torrent, with a note when it waits.
    Added(Added),
    /// `pause`, `remove`: the torrent as it was; `torrent_limits`,
    /// `queue`, `move`: as it is after the change.
    Torrent(TorrentSummary),
    /// `progress`.
    Progress(ProgressInfo),
    /// `peers`.
    Peers(Vec<PeerSummary>),
    /// `share`.
    Shared(ShareInfo),
    /// `subscribe` (events follow).
    Subscribed(Subscribed),
    /// `register`.
    Registered(RegisterInfo),
    /// `login`, `logout`, `whoami`.
    Session(SessionInfo),
    /// `group_create`.
    Group(api::Group),
    /// `group_list`.
    Groups(api::GroupList),
    /// `group_join`.
    JoinRequested(api::JoinRequested),
    /// `group_leave`.
    Left(api::Left),
    /// `group_requests`.
    JoinRequests(api::JoinRequests),
    /// `group_accept`.
    Accepted(api::Accepted),
    /// `group_reject`.
    Rejected(api::Rejected),
    /// `group_members`.
    Members(api::Members),
    /// `group_remove`.
    MemberRemoved(api::Removed),
    /// `files`, `search`.
    Catalog(api::CatalogList),
    /// `events`.
    Events(api::EventPage),
    /// `passkey_rotate`.
    PasskeyRotated(PasskeyRotatedInfo),
    /// `config_get`, `config_set`.
    Config(RuntimeSettings),
    /// `torrent_files`, `file_priority`.
    TorrentFiles(super::files::TorrentFiles),
    /// `seed_goal` (boxed: a summary and more, the largest reply).
    SeedGoal(Box<super::goals::SeedGoalInfo>),
    /// `verify`.
    Verified(super::maintenance::Verified),
}

/// Why a reply line cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplyDecodeError {
    /// Not a reply frame at all.
    #[error("not a reply: {0}")]
    NotAReply(serde_json::Error),
    /// A frame with neither `ok` nor `error`, or both.
    #[error("a reply must hold exactly one of `ok` and `error`")]
    Neither,
    /// The `ok` body does not have the shape of the command's reply.
    #[error("the reply to {command} has the wrong shape: {source}")]
    Shape {
        /// The command.
        command: &'static str,
        /// What serde said.
        source: serde_json::Error,
    },
}

/// The frame as read before its body is typed.
#[derive(Deserialize)]
struct RawReplyFrame<'a> {
    id: u64,
    #[serde(borrow, default)]
    ok: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    error: Option<IpcError>,
}

impl ReplyFrame {
    /// Reads a reply line to `request`: its id and its typed body.
    pub fn decode(line: &str, request: &Request) -> Result<ReplyFrame, ReplyDecodeError> {
        let raw: RawReplyFrame<'_> =
            serde_json::from_str(line).map_err(ReplyDecodeError::NotAReply)?;
        let body = match (raw.ok, raw.error) {
            (Some(ok), None) => ReplyBody::Ok(request.decode_reply(ok.get())?),
            (None, Some(e)) => ReplyBody::Error(e),
            _ => return Err(ReplyDecodeError::Neither),
        };
        Ok(ReplyFrame { id: raw.id, body })
    }

    /// Reads an error reply (e.g. a refused hello), whatever the request.
    pub fn decode_error(line: &str) -> Option<(u64, IpcError)> {
        let raw: RawReplyFrame<'_> = serde_json::from_str(line).ok()?;
        Some((raw.id, raw.error?))
    }
}

impl Request {
    /// Reads the JSON of a successful reply to this request as the one type
    /// this command answers with.
    pub fn decode_reply(&self, json: &str) -> Result<Response, ReplyDecodeError> {
        fn de<T: serde::de::DeserializeOwned>(
            command: &'static str,
            json: &str,
        ) -> Result<T, ReplyDecodeError> {
            serde_json::from_str(json).map_err(|source| ReplyDecodeError::Shape { command, source })
        }
        let c = self.name();
        Ok(match self {
            Request::Status => Response::Status(de(c, json)?),
            Request::List => Response::List(de(c, json)?),
            Request::Add { .. } | Request::Resume { .. } => Response::Added(de(c, json)?),
            Request::Pause { .. }
            | Request::Remove { .. }
            | Request::TorrentLimits { .. }
            | Request::Queue { .. }
            | Request::Sequential { .. }
            | Request::Move { .. } => Response::Torrent(de(c, json)?),
            Request::Verify { .. } => Response::Verified(de(c, json)?),
            Request::SeedGoal { .. } => Response::SeedGoal(de(c, json)?),
            Request::Progress { .. } => Response::Progress(de(c, json)?),
            Request::Peers { .. } => Response::Peers(de(c, json)?),
            Request::Share { .. } => Response::Shared(de(c, json)?),
            Request::Subscribe { .. } => Response::Subscribed(de(c, json)?),
            Request::Register { .. } => Response::Registered(de(c, json)?),
            Request::Login { .. } | Request::Logout | Request::Whoami => {
                Response::Session(de(c, json)?)
            }
            Request::GroupCreate { .. } => Response::Group(de(c, json)?),
            Request::GroupList => Response::Groups(de(c, json)?),
            Request::GroupJoin { .. } => Response::JoinRequested(de(c, json)?),
            Request::GroupLeave { .. } => Response::Left(de(c, json)?),
            Request::GroupRequests { .. } => Response::JoinRequests(de(c, json)?),
            Request::GroupAccept { .. } => Response::Accepted(de(c, json)?),
            Request::GroupReject { .. } => Response::Rejected(de(c, json)?),
            Request::GroupMembers { .. } => Response::Members(de(c, json)?),
            Request::GroupRemove { .. } => Response::MemberRemoved(de(c, json)?),
            Request::Files { .. } | Request::Search { .. } => Response::Catalog(de(c, json)?),
            Request::Events { .. } => Response::Events(de(c, json)?),
            Request::PasskeyRotate => Response::PasskeyRotated(de(c, json)?),
            Request::ConfigGet | Request::ConfigSet { .. } => Response::Config(de(c, json)?),
            Request::TorrentFiles { .. } | Request::FilePriority { .. } => {
                Response::TorrentFiles(de(c, json)?)
            }
        })
    }
}
