//! Which daemon a client means: the socket path and who must own it, from
//! flags, then the environment, then the protocol's defaults.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::connection::{Client, ClientError};
use crate::owner::Owners;

/// Where and how to reach the daemon.
#[derive(Debug, Clone)]
pub struct Target {
    /// The control socket.
    pub socket: PathBuf,
    /// Bound on each read and write once connected.
    pub timeout: Duration,
    /// Who the socket must belong to; what `--socket-owner` said when it
    /// names no user, reported when connecting.
    owner: Result<Owners, String>,
}

impl Target {
    /// The daemon named by `socket` (a `--socket` flag) and `owner` (a
    /// `--socket-owner` flag), falling back on `$P2PD_SOCKET`,
    /// `$P2PD_SOCKET_OWNER` and the defaults.
    pub fn resolve(socket: Option<&Path>, owner: Option<&str>, timeout: Duration) -> Target {
        Target::resolve_with(socket, owner, timeout, |k| std::env::var_os(k))
    }

    fn resolve_with(
        socket: Option<&Path>,
        owner: Option<&str>,
        timeout: Duration,
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Target {
        Target {
            socket: socket_path(socket, &env),
            timeout,
            owner: socket_owner(socket.is_some(), owner, &env),
        }
    }

    /// A new connection, past the hello.
    pub fn connect(&self) -> Result<Client, ClientError> {
        let owners = self
            .owner
            .as_ref()
            .map_err(|e| ClientError::SocketOwner(e.clone()))?;
        Client::connect(&self.socket, self.timeout, owners)
    }
}

/// `owner`, else `$P2PD_SOCKET_OWNER`, else this user for the default
/// socket and this user, root or the service user for one named.
fn socket_owner(
    socket_flag: bool,
    owner: Option<&str>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Owners, String> {
    let passwd = || std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let named = socket_flag || env("P2PD_SOCKET").is_some_and(|p| !p.is_empty());
    match owner
        .map(str::to_owned)
        .or_else(|| env("P2PD_SOCKET_OWNER").and_then(|v| v.into_string().ok()))
        .filter(|s| !s.trim().is_empty())
    {
        Some(spec) => Owners::named(&spec, &passwd()),
        None if named => Ok(Owners::trusted(&passwd())),
        None => Ok(Owners::this_user()),
    }
}

/// `flag`, else `$P2PD_SOCKET`, else the protocol's default path.
fn socket_path(flag: Option<&Path>, env: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = env("P2PD_SOCKET").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    p2p_proto::ipc::default_socket_path(false, |k| env(k).and_then(|v| v.into_string().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.into())
    }

    #[test]
    fn the_socket_flag_beats_the_environment_which_beats_the_default() {
        let vars = [
            ("P2PD_SOCKET", "/env/s.sock"),
            ("XDG_RUNTIME_DIR", "/run/u"),
        ];
        assert_eq!(
            socket_path(Some(Path::new("/flag.sock")), env(&vars)),
            PathBuf::from("/flag.sock")
        );
        assert_eq!(socket_path(None, env(&vars)), PathBuf::from("/env/s.sock"));
        let vars = [("P2PD_SOCKET", ""), ("XDG_RUNTIME_DIR", "/run/u")];
        assert_eq!(
            socket_path(None, env(&vars)),
            PathBuf::from("/run/u/p2pd/p2pd.sock")
        );
    }

    #[test]
    fn an_owner_that_names_nobody_is_reported_when_connecting() {
        let t = Target::resolve_with(
            None,
            Some("no-such-user-here"),
            Duration::from_secs(1),
            env(&[]),
        );
        let e = t.connect().unwrap_err().to_string();
        assert!(e.starts_with("--socket-owner: "), "{e}");
    }
}
