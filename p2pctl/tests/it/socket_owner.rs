//! Another local user posing as p2pd: a socket in a folder they created or
//! may write in (the default one under /tmp when `XDG_RUNTIME_DIR` is
//! unset), a socket or listener of another user than expected. p2pctl must
//! refuse with one line naming the socket and why, and send nothing: the
//! fake daemon records every byte it gets.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use tempfile::TempDir;

/// An account that exists on Linux systems and is never the tester.
const NOBODY: u32 = 65534;

/// A fake daemon on `socket`: accepts one connection and reports how many
/// bytes the client sent before hanging up.
fn fake_daemon(socket: &Path) -> Receiver<usize> {
    let listener = UnixListener::bind(socket).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut got = Vec::new();
        let _ = conn.read_to_end(&mut got);
        let _ = tx.send(got.len());
    });
    rx
}

/// `p2pctl ARGS` logging in as alice with a password on stdin.
fn login(configure: impl FnOnce(&mut Command)) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_p2pctl"));
    cmd.env_remove("P2PD_SOCKET")
        .env_remove("P2PD_SOCKET_OWNER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    configure(&mut cmd);
    cmd.args(["login", "alice", "--password-stdin"]);
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // p2pctl may refuse before reading its stdin.
    let _ = stdin.write_all(b"hunter2\n");
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// Exit 1 with one `p2pctl: ...` line, which is returned.
fn refusal(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
    err
}

fn assert_nothing_sent(got: &Receiver<usize>) {
    let bytes = got.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(bytes, 0, "the fake daemon got {bytes} bytes");
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Removes a folder made outside a temp dir, even when the test fails.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_fake_daemon_in_a_planted_default_folder_under_tmp_gets_no_password() {
    let home = TempDir::new().unwrap();
    // Without XDG_RUNTIME_DIR the default is /tmp/p2pd-$USER/p2pd.sock:
    // another user creates that folder first, open to all, and listens there.
    let user = format!("p2ptest-{}-{}", std::process::id(), line!());
    let planted = PathBuf::from(format!("/tmp/p2pd-{user}"));
    let _cleanup = RemoveOnDrop(planted.clone());
    std::fs::create_dir(&planted).unwrap();
    chmod(&planted, 0o777);
    let socket = planted.join("p2pd.sock");
    let got = fake_daemon(&socket);

    let err = refusal(&login(|c| {
        c.env_remove("XDG_RUNTIME_DIR")
            .env("USER", &user)
            .env("HOME", home.path());
    }));
    assert!(
        err.starts_with(&format!(
            "p2pctl: refusing to talk to p2pd at {}: its folder {} is writable by group or others (mode 0777",
            socket.display(),
            planted.display()
        )),
        "{err}"
    );
    assert!(err.trim_end().ends_with("; nothing was sent"), "{err}");
    assert_nothing_sent(&got);
}

#[test]
fn a_socket_owned_by_another_user_than_the_expected_one_gets_no_password() {
    let tmp = TempDir::new().unwrap();
    let socket = tmp.path().join("p2pd.sock");
    let got = fake_daemon(&socket);
    let me = std::fs::metadata(tmp.path())
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap();
    // The daemon is said to run as nobody; this socket is the tester's.
    let err = refusal(&login(|c| {
        c.arg("--socket")
            .arg(&socket)
            .arg("--socket-owner")
            .arg(NOBODY.to_string());
    }));
    assert!(
        err.contains(&format!(
            "its folder {} belongs to uid {me} (mode ",
            tmp.path().display()
        )),
        "{err}"
    );
    assert!(err.contains(&format!("), not to uid {NOBODY}, ")), "{err}");
    assert_nothing_sent(&got);
}

#[test]
fn a_listener_running_as_another_user_than_the_socket_owner_is_refused_by_its_credentials() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("run");
    std::fs::create_dir(&dir).unwrap();
    let socket = dir.join("p2pd.sock");
    let got = fake_daemon(&socket);
    // Folder and socket look like nobody's daemon, but the process that
    // listens is the tester: only SO_PEERCRED can tell.
    if std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).is_err() {
        eprintln!("not root: cannot give files to uid {NOBODY}; the unit tests cover this rule");
        return;
    }
    std::os::unix::fs::chown(&socket, Some(NOBODY), Some(NOBODY)).unwrap();
    chmod(&dir, 0o755);
    let err = refusal(&login(|c| {
        c.arg("--socket")
            .arg(&socket)
            .env("P2PD_SOCKET_OWNER", NOBODY.to_string());
    }));
    assert!(
        err.contains(&format!(
            "the process listening on it runs as uid 0, not as uid {NOBODY} (another user may be posing as p2pd); nothing was sent"
        )),
        "{err}"
    );
    assert_nothing_sent(&got);
}

#[test]
fn a_socket_owner_that_names_no_user_is_a_one_line_error() {
    let tmp = TempDir::new().unwrap();
    let socket = tmp.path().join("p2pd.sock");
    let got = fake_daemon(&socket);
    let err = refusal(&login(|c| {
        c.arg("--socket")
            .arg(&socket)
            .arg("--socket-owner")
            .arg("no-such-user-here");
    }));
    assert!(
        err.contains("--socket-owner: no user \"no-such-user-here\" in /etc/passwd"),
        "{err}"
    );
    drop(got);
}
