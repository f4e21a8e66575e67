//! One small module per command (the torrent lifecycle and account commands
//! share one each; so do the group commands, and the catalog and events ones). Commands that need the daemon get a [`Daemon`] and
//! connect only once their local checks pass.

mod account;
mod catalog;
mod create;
mod download;
mod groups;
mod inspect;
mod lifecycle;
mod list;
mod peers;
mod progress;
mod share;
mod status;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::cli::{Cli, Command, PasskeyCommand};
use crate::client::{Client, ClientError};
use crate::owner::Owners;

/// Runs the chosen command.
pub fn dispatch(cli: &Cli) -> anyhow::Result<()> {
    let json = cli.json;
    let env = |k: &str| std::env::var_os(k);
    let daemon = Daemon {
        socket: socket_path(cli.socket.as_deref(), env),
        timeout: cli.timeout,
        owner: socket_owner(cli, env),
    };
    let d = &daemon;
    match &cli.command {
        Command::Create(args) => create::run(args, json),
        Command::Inspect(args) => inspect::run(args, json),
        Command::Status => status::run(d, json),
        Command::List => list::run(d, json),
        Command::Download(args) => download::run(d, args, json),
        Command::Progress(args) => progress::run(d, args.id.as_deref(), json),
        Command::Pause(t) => lifecycle::pause(d, &t.id, json),
        Command::Resume(t) => lifecycle::resume(d, &t.id, json),
        Command::Remove(args) => lifecycle::remove(d, args, json),
        Command::Peers(t) => peers::run(d, &t.id, json),
        Command::Share(args) => share::run(d, args, json),
        Command::Register(args) => account::register(d, args, json),
        Command::Login(args) => account::login(d, args, json),
        Command::Logout => account::logout(d, json),
        Command::Whoami => account::whoami(d, json),
        Command::Groups(cmd) => groups::run(d, cmd, json),
        Command::Passkey(PasskeyCommand::Rotate) => account::rotate_passkey(d, json),
        Command::Files(args) => catalog::files(d, args.group.as_deref(), json),
        Command::Search(args) => catalog::search(d, &args.term, json),
        Command::Events(args) => catalog::events(d, args, json),
    }
}

/// Where and how to reach the daemon.
#[derive(Debug)]
pub struct Daemon {
    socket: PathBuf,
    timeout: Duration,
    /// Who the socket must belong to; what `--socket-owner` said when it
    /// names no user, reported when connecting.
    owner: Result<Owners, String>,
}

impl Daemon {
    /// A new connection, past the hello.
    fn connect(&self) -> Result<Client, ClientError> {
        let owners = self
            .owner
            .as_ref()
            .map_err(|e| ClientError::SocketOwner(e.clone()))?;
        Client::connect(&self.socket, self.timeout, owners)
    }
}

/// `--socket-owner`, else `$P2PD_SOCKET_OWNER`, else this user for the
/// default socket and this user, root or the service user for one named.
fn socket_owner(
    cli: &Cli,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<Owners, String> {
    let passwd = || std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let named = cli.socket.is_some() || env("P2PD_SOCKET").is_some_and(|p| !p.is_empty());
    match cli
        .socket_owner
        .clone()
        .or_else(|| env("P2PD_SOCKET_OWNER").and_then(|v| v.into_string().ok()))
        .filter(|s| !s.trim().is_empty())
    {
        Some(spec) => Owners::named(&spec, &passwd()),
        None if named => Ok(Owners::trusted(&passwd())),
        None => Ok(Owners::this_user()),
    }
}

/// `--socket`, else `$P2PD_SOCKET`, else the protocol's default path.
fn socket_path(flag: Option<&Path>, env: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = env("P2PD_SOCKET").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    p2p_proto::ipc::default_socket_path(false, |k| env(k).and_then(|v| v.into_string().ok()))
}

/// Writes to stdout, so a closed pipe surfaces as an error we can recognise.
fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// A reply as one JSON document on one line.
fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    print(&format!("{}\n", serde_json::to_string(value)?))
}

/// An absolute, UTF-8 form of a local path for the daemon, whose working
/// folder is not ours. `canonical` also requires it to exist.
fn absolute_path(path: &Path, canonical: bool) -> anyhow::Result<String> {
    let abs = if canonical {
        std::fs::canonicalize(path).with_context(|| format!("cannot open {}", path.display()))?
    } else {
        std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))?
    };
    abs.into_os_string()
        .into_string()
        .map_err(|p| anyhow::anyhow!("{} is not UTF-8, which p2pd cannot take", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> + 'a {
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
}
