//! The control protocol between p2pctl (or any script) and p2pd over a local
//! socket: newline-delimited JSON, one object per line, at most
//! [`MAX_FRAME_BYTES`] per request line and [`MAX_REPLY_BYTES`] per reply.
//!
//! A session opens with a version handshake:
//! ```text
//! -> {"hello":{"version":2,"client":"p2pctl 0.1.0"}}
//! <- {"hello":{"version":2,"server":"p2pd 0.1.0"}}
//! ```
//! then any number of requests, each answered by one reply with the same id:
//! ```text
//! -> {"id":1,"cmd":"status"}
//! <- {"id":1,"ok":{"version":"0.1.0","uptime_secs":5,...}}
//! -> {"id":2,"cmd":"pause","args":{"id":"3f2a"}}
//! <- {"id":2,"error":{"code":"not_found","message":"no torrent matches 3f2a"}}
//! ```
//! `subscribe` is answered by `ok` and then keeps the connection open,
//! streaming `{"event":{...}}` lines until the client hangs up.
//!
//! Every command has one typed reply (see [`Response`] and
//! [`Request::decode_reply`]) and every event one typed body ([`Event`]):
//! no untyped JSON crosses this boundary.
//!
//! Sans-io: types, framing and the default socket path; no sockets here.

mod files;
mod frame;
mod goals;
mod maintenance;
mod reply;
mod request;
mod settings;
mod views;

pub use files::*;
pub use frame::{FrameError, FrameReader, encode_frame};
pub use goals::*;
pub use maintenance::*;
pub use reply::*;
pub use request::*;
pub use settings::*;
pub use views::*;

/// Version of this protocol; a daemon refuses clients of another version.
/// 2: replies are typed per command; `add` and `resume` may carry a `note`;
/// `whoami`, `login` and `logout` all answer `{logged_in_as, ended_because}`.
pub const PROTOCOL_VERSION: u32 = 2;
/// Longest line the daemon accepts, and the default of [`FrameReader`].
pub const MAX_FRAME_BYTES: usize = 1 << 20;
/// Longest reply line a client accepts: `list` answers about 440 bytes a
/// torrent, so 10,000 torrents make a line of over 4 MiB; this leaves room
/// for about 150,000 and still bounds what a client holds.
pub const MAX_REPLY_BYTES: usize = 64 << 20;

/// Where a daemon's control socket is by default.
///
/// A daemon under systemd (`system` true) uses `/run/p2pd/p2pd.sock`; a user
/// daemon uses `$XDG_RUNTIME_DIR/p2pd/p2pd.sock`, or when that is unset
/// `/tmp/p2pd-<user>/p2pd.sock`. On Windows it is a named pipe
/// ([`windows_pipe_name`]). `env` looks variables up (the caller passes
/// `std::env::var`), so this module reads nothing itself.
pub fn default_socket_path(
    system: bool,
    env: impl Fn(&str) -> Option<String>,
) -> std::path::PathBuf {
    use std::path::PathBuf;
    if cfg!(windows) {
        return PathBuf::from(windows_pipe_name(system, &env));
    }
    if system {
        return PathBuf::from("/run/p2pd/p2pd.sock");
    }
    if let Some(dir) = env("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("p2pd").join("p2pd.sock");
    }
    let user = safe_user_name(env("USER").or_else(|| env("LOGNAME")));
    PathBuf::from("/tmp")
        .join(format!("p2pd-{user}"))
        .join("p2pd.sock")
}

/// The named pipe that stands for the socket on Windows: `\\.\pipe\p2pd`
/// for the service, `\\.\pipe\p2pd-<user>` (`%USERNAME%`) for a user's
/// daemon. The pipe's access list, not its name, keeps other users out.
pub fn windows_pipe_name(system: bool, env: impl Fn(&str) -> Option<String>) -> String {
    if system {
        return r"\\.\pipe\p2pd".to_owned();
    }
    format!(r"\\.\pipe\p2pd-{}", safe_user_name(env("USERNAME")))
}

/// A user name fit for a file or pipe name: ASCII letters, digits, `-` and
/// `_`, anything else as `_`; "user" when unknown.
fn safe_user_name(user: Option<String>) -> String {
    user.unwrap_or_else(|| "user".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
