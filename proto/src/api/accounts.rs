//! Accounts: register, login, logout, whoami, password change, who is
//! online and per-user traffic.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/register`. Request bodies refuse unknown fields. `Debug`
/// hides the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Wanted user name.
    pub username: String,
    /// Password (never logged).
    pub password: String,
}

/// 201 answer to [`RegisterRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    /// The user name as stored (lowercase).
    pub username: String,
}

/// `POST /api/v1/login`. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// User name.
    pub username: String,
    /// Password (never logged).
    pub password: String,
    /// End a session that is live elsewhere instead of refusing.
    #[serde(default)]
    pub takeover: bool,
}

/// Answer to [`LoginRequest`]. `Debug` hides the token and passkey.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginReply {
    /// Bearer token (shown once; the tracker keeps only its SHA-256).
    pub token: String,
    /// The user's passkey, for announce URLs.
    pub passkey: String,
    /// The (lowercase) user name.
    pub username: String,
    /// Seconds without a request before the session ends.
    pub session_ttl_secs: i64,
}

/// Answer to `POST /api/v1/logout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedOut {
    /// Whose session ended.
    pub logged_out: String,
}

/// Answer to `GET /api/v1/whoami`. `Debug` hides the passkey.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whoami {
    /// User name.
    pub username: String,
    /// The user's passkey.
    pub passkey: String,
    /// Unix seconds of the login.
    pub since: i64,
    /// The announce URL that carries the passkey.
    pub announce_url: String,
    /// Seconds without a request before the session ends.
    pub session_ttl_secs: i64,
}

/// `POST /api/v1/password`. `Debug` hides both passwords.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// Current password.
    pub old: String,
    /// New password.
    pub new: String,
}

/// Answer to [`PasswordChange`]. The change ended every session of the
/// user, the asking one included (a stolen token dies with the old
/// password); `token` is the caller's new session. `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChanged {
    /// Always true.
    pub changed: bool,
    /// Bearer token of the caller's new session.
    pub token: String,
}

/// Answer to `POST /api/v1/passkey`: the user's new passkey; the old one is
/// refused from now on. `Debug` hides both fields.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRotated {
    /// The new passkey.
    pub passkey: String,
    /// The announce URL that carries it.
    pub announce_url: String,
}

/// Answer to `GET /api/v1/users/online`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineUsers {
    /// Users with a live session.
    pub users: Vec<OnlineUser>,
}

/// A user with a live session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineUser {
    /// Name.
    pub username: String,
    /// Where they logged in from: shown to the user themself and to the
    /// tracker's admins only (absent for anyone else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Unix seconds of the login.
    pub since: i64,
    /// Unix seconds of the last request.
    pub last_seen: i64,
}

/// Answer to `GET /api/v1/users/{name}/stats`. The user themself and
/// admins see every figure; anyone else sees them without private-group
/// detail: traffic of public (and unpublished) torrents only, and only the
/// entries they could list themselves (public, or in a group they share).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserStats {
    /// Name.
    pub username: String,
    /// Bytes uploaded, from their announces.
    pub uploaded: u64,
    /// Bytes downloaded, from their announces.
    pub downloaded: u64,
    /// Catalog entries they published (that the viewer may see).
    pub torrents_shared: u64,
    /// Whether they have a live session.
    pub online: bool,
    /// Unix seconds of registration.
    pub registered_at: i64,
}

/// Writes a struct with some fields shown as `<redacted>`.
macro_rules! redacted_debug {
    ($ty:ident { $($shown:ident),* } hides { $($hidden:ident),* }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($shown), &self.$shown))*
                    $(.field(stringify!($hidden), &"<redacted>"))*
                    .finish()
            }
        }
    };
}

redacted_debug!(RegisterRequest { username } hides { password });
redacted_debug!(LoginRequest { username, takeover } hides { password });
redacted_debug!(LoginReply { username, session_ttl_secs } hides { token, passkey });
redacted_debug!(Whoami { username, since, session_ttl_secs } hides { passkey, announce_url });
redacted_debug!(PasswordChange {} hides { old, new });
redacted_debug!(PasswordChanged { changed } hides { token });
redacted_debug!(PasskeyRotated {} hides { passkey, announce_url });
