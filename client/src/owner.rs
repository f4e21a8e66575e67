//! Whose socket this is, checked before p2pctl sends a byte (a password
//! included): the socket's folder and file must belong to the expected
//! user and the folder be writable by no one else, and the process
//! listening must run as that user (`SO_PEERCRED`). Another local user who
//! created the default folder under /tmp first cannot pose as p2pd.
//!
//! The rules are pure functions of uids and modes, so other users' sockets
//! are tested without being another user; this module reads only `stat`,
//! the peer's credentials and `/etc/passwd`.

use std::path::{Path, PathBuf};

/// The users a daemon's socket may belong to, each with a label for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owners {
    uids: Vec<(u32, String)>,
}

/// The system service's user (systemd/p2pd.sysusers).
const SERVICE_USER: &str = "p2pd";
/// Group and others may write (create, rename, delete entries).
const WRITABLE_BY_OTHERS: u32 = 0o022;

impl Owners {
    /// Exactly one user.
    pub fn only(uid: u32, label: impl Into<String>) -> Owners {
        Owners {
            uids: vec![(uid, label.into())],
        }
    }

    /// The per-user default socket: this user's daemon only.
    pub fn this_user() -> Owners {
        Owners::only(euid(), "this user")
    }

    /// A socket named with `--socket` or `P2PD_SOCKET`: this user's daemon,
    /// or the system service's (run by root or the `p2pd` user).
    pub fn trusted(passwd: &str) -> Owners {
        let mut o = Owners::this_user();
        o.add(0, "root");
        if let Some(uid) = lookup_user(passwd, SERVICE_USER) {
            o.add(uid, SERVICE_USER);
        }
        o
    }

    /// `--socket-owner`: a user name (looked up in `passwd`) or a uid.
    pub fn named(spec: &str, passwd: &str) -> Result<Owners, String> {
        let spec = spec.trim();
        if let Ok(uid) = spec.parse::<u32>() {
            return Ok(Owners::only(uid, format!("uid {uid}")));
        }
        lookup_user(passwd, spec)
            .map(|uid| Owners::only(uid, spec))
            .ok_or_else(|| format!("no user {spec:?} in /etc/passwd (give a uid instead)"))
    }

    fn add(&mut self, uid: u32, label: &str) {
        if !self.contains(uid) {
            self.uids.push((uid, label.to_owned()));
        }
    }

    /// Whether `uid` is one of them.
    pub fn contains(&self, uid: u32) -> bool {
        self.uids.iter().any(|(u, _)| *u == uid)
    }

    /// "uid 1000 (this user)", "uid 1000 (this user), uid 0 (root) or uid 998 (p2pd)".
    fn describe(&self) -> String {
        let names: Vec<String> = self
            .uids
            .iter()
            .map(|(uid, label)| {
                if label == &format!("uid {uid}") {
                    label.clone()
                } else {
                    format!("uid {uid} ({label})")
                }
            })
            .collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.concat(),
        }
    }
}

/// The uid of `name` in a passwd file's text.
fn lookup_user(passwd: &str, name: &str) -> Option<u32> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name)
            .then(|| fields.nth(1)?.parse().ok())
            .flatten()
    })
}

/// What `stat` says, as far as the rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Owner's uid.
    pub uid: u32,
    /// Permission bits.
    pub mode: u32,
}

/// Why p2pctl will not talk to a socket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    /// The folder is someone else's.
    #[error(
        "its folder {} belongs to uid {owner} (mode {mode:04o}), not to {expected}, so that user could have put their own socket there (if the daemon really runs as that user, say so with --socket-owner)",
        folder.display()
    )]
    FolderOwner {
        folder: PathBuf,
        owner: u32,
        mode: u32,
        expected: String,
    },
    /// Others may write in the folder.
    #[error(
        "its folder {} is writable by group or others (mode {mode:04o}, owner uid {owner}), so anyone could have put a socket there (run `chmod go-w {}` as its owner)",
        folder.display(), folder.display()
    )]
    FolderWritable {
        folder: PathBuf,
        owner: u32,
        mode: u32,
    },
    /// The socket file is someone else's.
    #[error("the socket belongs to uid {owner}, not to {expected}")]
    SocketOwner { owner: u32, expected: String },
    /// The listening process runs as someone else.
    #[error(
        "the process listening on it runs as uid {uid}, not as {expected} (another user may be posing as p2pd)"
    )]
    Peer { uid: u32, expected: String },
    /// Its credentials could not be read.
    #[error("cannot tell who listens on it: {0}")]
    PeerUnknown(String),
    /// The folder or socket could not be inspected.
    #[error("cannot inspect {}: {error}", path.display())]
    Stat { path: PathBuf, error: String },
}

/// The socket's folder: one of the owners', written by no one else.
pub fn judge_folder(folder: &Path, stat: Stat, owners: &Owners) -> Result<(), Untrusted> {
    if !owners.contains(stat.uid) {
        return Err(Untrusted::FolderOwner {
            folder: folder.to_path_buf(),
            owner: stat.uid,
            mode: stat.mode & 0o7777,
            expected: owners.describe(),
        });
    }
    if stat.mode & WRITABLE_BY_OTHERS != 0 {
        return Err(Untrusted::FolderWritable {
            folder: folder.to_path_buf(),
            owner: stat.uid,
            mode: stat.mode & 0o7777,
        });
    }
    Ok(())
}

/// The socket file: one of the owners'.
pub fn judge_socket(stat: Stat, owners: &Owners) -> Result<(), Untrusted> {
    if owners.contains(stat.uid) {
        return Ok(());
    }
    Err(Untrusted::SocketOwner {
        owner: stat.uid,
        expected: owners.describe(),
    })
}

/// The process at the other end: one of the owners.
pub fn judge_peer(uid: u32, owners: &Owners) -> Result<(), Untrusted> {
    if owners.contains(uid) {
        return Ok(());
    }
    Err(Untrusted::Peer {
        uid,
        expected: owners.describe(),
    })
}

/// Checks a connected socket: folder, file, then the peer.
#[cfg(unix)]
pub fn check(
    socket: &Path,
    stream: &std::os::unix::net::UnixStream,
    owners: &Owners,
) -> Result<(), Untrusted> {
    use std::os::unix::fs::MetadataExt;

    let stat = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| Stat {
                uid: m.uid(),
                mode: m.mode(),
            })
            .map_err(|e| Untrusted::Stat {
                path: p.to_path_buf(),
                error: e.to_string(),
            })
    };
    let folder = match socket.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    judge_folder(folder, stat(folder)?, owners)?;
    judge_socket(stat(socket)?, owners)?;
    judge_peer(peer_uid(stream)?, owners)
}

#[cfg(target_os = "linux")]
fn peer_uid(stream: &std::os::unix::net::UnixStream) -> Result<u32, Untrusted> {
    rustix::net::sockopt::socket_peercred(stream)
        .map(|c| c.uid.as_raw())
        .map_err(|e| Untrusted::PeerUnknown(e.to_string()))
}

/// No `SO_PEERCRED` here: the folder and file checks stand alone.
#[cfg(all(unix, not(target_os = "linux")))]
fn peer_uid(_stream: &std::os::unix::net::UnixStream) -> Result<u32, Untrusted> {
    Ok(euid())
}

#[cfg(unix)]
fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(not(unix))]
fn euid() -> u32 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                          p2pd:x:998:998:p2p daemon:/var/lib/p2pd:/usr/sbin/nologin\n\
                          alice:x:1000:1000::/home/alice:/bin/bash\n";
    const MALLORY: u32 = 1001;

    fn alice() -> Owners {
        Owners::only(1000, "this user")
    }

    #[test]
    fn users_are_found_by_name_in_passwd_and_uids_taken_as_given() {
        assert_eq!(lookup_user(PASSWD, "p2pd"), Some(998));
        assert_eq!(lookup_user(PASSWD, "p2p"), None);
        assert_eq!(
            Owners::named("alice", PASSWD),
            Ok(Owners::only(1000, "alice"))
        );
        assert_eq!(Owners::named("42", PASSWD), Ok(Owners::only(42, "uid 42")));
        assert!(
            Owners::named("bob", PASSWD)
                .unwrap_err()
                .contains("\"bob\"")
        );
    }

    #[test]
    fn an_explicit_socket_may_belong_to_us_root_or_the_service_user() {
        let o = Owners::trusted(PASSWD);
        assert!(o.contains(euid()) && o.contains(0) && o.contains(998));
        assert!(!o.contains(MALLORY) || euid() == MALLORY);
    }

    #[test]
    fn a_folder_another_user_created_is_refused_naming_it_its_owner_and_mode() {
        let e = judge_folder(
            Path::new("/tmp/p2pd-alice"),
            Stat {
                uid: MALLORY,
                mode: 0o40700,
            },
            &alice(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "its folder /tmp/p2pd-alice belongs to uid 1001 (mode 0700), not to uid 1000 (this user), so that user could have put their own socket there (if the daemon really runs as that user, say so with --socket-owner)"
        );
    }

    #[test]
    fn a_folder_of_ours_others_may_write_is_refused() {
        for mode in [0o40777, 0o41777, 0o40770, 0o40702] {
            let e = judge_folder(Path::new("/f"), Stat { uid: 1000, mode }, &alice());
            assert!(
                matches!(e, Err(Untrusted::FolderWritable { .. })),
                "{mode:o}"
            );
        }
        for mode in [0o40700, 0o40750, 0o40755] {
            let ok = judge_folder(Path::new("/f"), Stat { uid: 1000, mode }, &alice());
            assert_eq!(ok, Ok(()), "{mode:o}");
        }
    }

    #[test]
    fn a_socket_or_listener_of_another_user_is_refused_naming_both_users() {
        let e = judge_socket(
            Stat {
                uid: MALLORY,
                mode: 0o140600,
            },
            &alice(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the socket belongs to uid 1001, not to uid 1000 (this user)"
        );
        let mut system = Owners::only(0, "root");
        system.add(998, "p2pd");
        let e = judge_peer(MALLORY, &system).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the process listening on it runs as uid 1001, not as uid 0 (root) or uid 998 (p2pd) (another user may be posing as p2pd)"
        );
        assert_eq!(judge_peer(998, &system), Ok(()));
        assert_eq!(judge_peer(1000, &alice()), Ok(()));
    }
}
