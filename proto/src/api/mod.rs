//! The contract of trackerd's JSON API (`/api/v1/...`): the request and
//! response bodies of every endpoint, the error body, and the events of the
//! session and event streams (server-sent events). trackerd serialises
//! these types and p2pd deserialises them, so a renamed field fails the
//! build instead of reaching a user.
//!
//! Types only: no HTTP, no routes, no runtime. Times are Unix seconds;
//! info-hashes are 40 lowercase hex digits on the wire.

mod accounts;
mod catalog;
mod events;
mod groups;
mod stats;

pub use accounts::*;
pub use catalog::*;
pub use events::*;
pub use groups::*;
pub use stats::*;

use serde::{Deserialize, Serialize};

/// The body of every error answer: `{"error": {"code", "message"}}`, with
/// the HTTP status telling the kind as well.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

impl ErrorBody {
    /// An error body of a kind with a message.
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code,
                message: message.into(),
            },
        }
    }
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Machine-readable kind.
    pub code: ApiErrorCode,
    /// One line for people; safe to show.
    pub message: String,
}

/// Kinds of API errors. Codes this build does not know read as `Other`, so
/// a newer tracker does not break an older client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    /// Malformed request or a broken rule (400).
    Invalid,
    /// No live session token (401).
    Unauthenticated,
    /// Wrong username or password (401).
    BadCredentials,
    /// Not allowed for this user (403).
    Forbidden,
    /// No such user, group, torrent or endpoint (404).
    NotFound,
    /// Wrong method for the endpoint (405).
    MethodNotAllowed,
    /// The request took too long to arrive (408).
    Timeout,
    /// Clashes with the current state (409).
    Conflict,
    /// Body over the size limit (413).
    TooLarge,
    /// Too many attempts (429).
    RateLimited,
    /// The store cannot be reached (503).
    StoreUnavailable,
    /// A bug on the tracker (500).
    Internal,
    /// The info-hash belongs to another scope: a group that published it
    /// first (for good), or the public catalog (403).
    OwnedElsewhere,
    /// A torrent published into a group lacks the private flag or the
    /// group's name as `source`; the message names what is missing (400).
    NotAGroupTorrent,
    /// A per-user quota (groups owned, catalog entries, bytes of .torrent
    /// stored) is used up; the message names it and its limit (403).
    QuotaExceeded,
    /// A code this build does not know.
    #[serde(other)]
    Other,
}

impl ApiErrorCode {
    /// The code for a status that has no more specific one.
    pub fn for_status(status: u16) -> ApiErrorCode {
        match status {
            400 => ApiErrorCode::Invalid,
            401 => ApiErrorCode::Unauthenticated,
            403 => ApiErrorCode::Forbidden,
            404 => ApiErrorCode::NotFound,
            405 => ApiErrorCode::MethodNotAllowed,
            408 => ApiErrorCode::Timeout,
            409 => ApiErrorCode::Conflict,
            413 => ApiErrorCode::TooLarge,
            429 => ApiErrorCode::RateLimited,
            503 => ApiErrorCode::StoreUnavailable,
            s if s >= 500 => ApiErrorCode::Internal,
            _ => ApiErrorCode::Invalid,
        }
    }
}

#[cfg(test)]
mod tests;
