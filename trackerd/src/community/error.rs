//! Why a community operation was refused, with a stable machine-readable
//! code for each case. The HTTP layer maps each variant to a status.

use p2p_proto::api::ApiErrorCode;

use crate::store::StoreError;

/// A refused or failed operation; the message is safe to show the user.
#[derive(Debug, thiserror::Error)]
pub enum CommunityError {
    /// The request is malformed or breaks a rule (400).
    #[error("{0}")]
    Invalid(String),
    /// No valid session token (401).
    #[error("authentication required: send a live session token as 'Authorization: Bearer TOKEN'")]
    Unauthenticated,
    /// Wrong username or password (401).
    #[error("wrong username or password")]
    BadCredentials,
    /// Authenticated but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such user, group or torrent (404).
    #[error("{0}")]
    NotFound(String),
    /// Clashes with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// Another scope owns the info-hash (403).
    #[error("{0}")]
    OwnedElsewhere(String),
    /// A group torrent without the private flag or the group's source (400).
    #[error("{0}")]
    NotAGroupTorrent(String),
    /// A per-user quota is used up (403).
    #[error("{0}")]
    QuotaExceeded(String),
    /// Too many failed attempts (429).
    #[error("{0}")]
    RateLimited(String),
    /// Too many attempts, or too much work queued (429 with `Retry-After`).
    #[error("{message}")]
    Throttled {
        /// What is limited and when to try again.
        message: String,
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// The store failed (503).
    #[error("store unavailable: {0}")]
    Store(#[from] StoreError),
    /// A bug or a failed background task (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl CommunityError {
    /// A stable code for clients.
    pub fn code(&self) -> ApiErrorCode {
        match self {
            CommunityError::Invalid(_) => ApiErrorCode::Invalid,
            CommunityError::Unauthenticated => ApiErrorCode::Unauthenticated,
            CommunityError::BadCredentials => ApiErrorCode::BadCredentials,
            CommunityError::Forbidden(_) => ApiErrorCode::Forbidden,
            CommunityError::NotFound(_) => ApiErrorCode::NotFound,
            CommunityError::Conflict(_) => ApiErrorCode::Conflict,
            CommunityError::OwnedElsewhere(_) => ApiErrorCode::OwnedElsewhere,
            CommunityError::NotAGroupTorrent(_) => ApiErrorCode::NotAGroupTorrent,
            CommunityError::QuotaExceeded(_) => ApiErrorCode::QuotaExceeded,
            CommunityError::RateLimited(_) | CommunityError::Throttled { .. } => {
                ApiErrorCode::RateLimited
            }
            CommunityError::Store(_) => ApiErrorCode::StoreUnavailable,
            CommunityError::Internal(_) => ApiErrorCode::Internal,
        }
    }
}

impl From<crate::accounts::CredentialError> for CommunityError {
    fn from(e: crate::accounts::CredentialError) -> Self {
        match e {
            crate::accounts::CredentialError::Hash(m) => CommunityError::Internal(m),
            other => CommunityError::Invalid(other.to_string()),
        }
    }
}

impl From<crate::groups::GroupNameError> for CommunityError {
    fn from(e: crate::groups::GroupNameError) -> Self {
        CommunityError::Invalid(e.to_string())
    }
}
