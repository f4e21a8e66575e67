//! The control socket's folder under attack by another local user: a
//! folder they created first (the default one under /tmp when
//! `XDG_RUNTIME_DIR` is unset) or one they may write in. p2pd must refuse
//! to start there, saying which folder, its owner and mode, and never put
//! its socket in it.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_p2pd");
/// An account that exists on Linux systems and is never the tester.
const NOBODY: u32 = 65534;

/// Runs p2pd with `configure`d flags and environment until it exits or
/// reports a control socket; returns its stderr if it exited, panics if it
/// started (a daemon that accepted the folder is killed first).
fn refused(configure: impl FnOnce(&mut Command)) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(["--listen-port", "0", "--tracker", ""])
        .env("RUST_LOG", "info")
        .env_remove("P2PD_SOCKET")
        .env_remove("P2PD_HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    configure(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut text = String::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.contains("control socket at") => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("p2pd started on an unsafe folder: {line}");
            }
            Ok(line) => {
                text.push_str(&line);
                text.push('\n');
            }
            // stderr closed: the process is exiting.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(e) => {
                let _ = child.kill();
                panic!("p2pd neither started nor exited: {e}; stderr: {text}");
            }
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "stderr: {text}");
    text
}

/// Removes a folder made outside a temp dir, even when the test fails.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn p2pd_refuses_the_default_tmp_socket_folder_when_another_user_made_it_writable() {
    let home = tempfile::tempdir().unwrap();
    // The default socket without XDG_RUNTIME_DIR is /tmp/p2pd-$USER/p2pd.sock:
    // a name of our own so parallel runs never meet.
    let user = format!("p2ptest-{}-{}", std::process::id(), line!());
    let planted = PathBuf::from(format!("/tmp/p2pd-{user}"));
    let _cleanup = RemoveOnDrop(planted.clone());
    std::fs::create_dir(&planted).unwrap();
    chmod(&planted, 0o777);

    let err = refused(|c| {
        c.env_remove("XDG_RUNTIME_DIR")
            .env("USER", &user)
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path());
    });
    assert!(
        err.contains(&format!(
            "refusing the control socket folder {}: it is writable by group or others (mode 0777",
            planted.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("chmod 700 {}", planted.display())),
        "{err}"
    );
    assert!(
        std::fs::read_dir(&planted).unwrap().next().is_none(),
        "nothing may be put in the planted folder"
    );
}

#[test]
fn p2pd_refuses_a_socket_folder_inside_a_folder_others_may_write() {
    let tmp = tempfile::tempdir().unwrap();
    let open = tmp.path().join("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    let socket = open.join("mine").join("p2pd.sock");
    let err = refused(|c| {
        c.arg("--home").arg(tmp.path()).arg("--socket").arg(&socket);
    });
    assert!(
        err.contains(&format!("is inside {} (", open.display())),
        "{err}"
    );
    assert!(err.contains("mode 0777"), "{err}");
}

#[test]
fn p2pd_refuses_a_socket_folder_another_user_owns() {
    let tmp = tempfile::tempdir().unwrap();
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    chmod(&theirs, 0o755);
    // Giving a folder away takes root; as another user the ownership rule
    // is covered by socket_dir's unit tests over stat results.
    if std::os::unix::fs::chown(&theirs, Some(NOBODY), Some(NOBODY)).is_err() {
        eprintln!("not root: cannot give a folder to uid {NOBODY}; unit tests cover this");
        return;
    }
    let err = refused(|c| {
        c.arg("--home")
            .arg(tmp.path())
            .arg("--socket")
            .arg(theirs.join("p2pd.sock"));
    });
    assert!(
        err.contains(&format!(
            "refusing the control socket folder {}: it belongs to uid {NOBODY} (mode 0755)",
            theirs.display()
        )),
        "{err}"
    );
}

#[test]
fn an_absent_socket_folder_is_created_owner_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run").join("p2pd");
    let socket = dir.join("p2pd.sock");
    let mut child = Command::new(BIN)
        .args(["--listen-port", "0", "--tracker", "", "--home"])
        .arg(tmp.path())
        .arg("--socket")
        .arg(&socket)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let started = stderr
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("control socket at"));
    let _ = child.kill();
    let _ = child.wait();
    assert!(started, "p2pd did not start");
    for d in [&dir, &tmp.path().join("run")] {
        let mode = std::fs::metadata(d).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700, "{} has mode {mode:o}", d.display());
    }
}
