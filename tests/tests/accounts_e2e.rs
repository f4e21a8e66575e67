//! Sessions through the real binaries: p2pctl asks p2pd, p2pd asks trackerd.
//! Login shares (announcing with the passkey), logout stops sharing, a second
//! login elsewhere is refused, and a tracker shutdown logs the daemon out.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let status = Command::new(env!("CARGO"))
            .args([
                "build", "--quiet", "-p", "p2pd", "-p", "p2pctl", "-p", "trackerd",
            ])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .unwrap();
        assert!(status.success(), "building the binaries failed");
    });
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().join(name)
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a program; returns it and the rest of its first stderr line holding `marker`.
fn start(cmd: &mut Command, marker: &str) -> (Proc, String) {
    let mut child = cmd
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let proc = Proc(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no {marker:?} line"));
        if let Some(i) = line.find(marker) {
            std::thread::spawn(move || while rx.recv().is_ok() {});
            return (proc, line[i + marker.len()..].trim().to_owned());
        }
    }
}

fn p2pctl(socket: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(bin("p2pctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn ok_json(socket: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = p2pctl(socket, &all, None);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// GET on the tracker's HTTP API, body as JSON.
fn tracker_get(base: &str, path: &str) -> Value {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    serde_json::from_str(body).unwrap_or(Value::Null)
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn daemon(home: &Path, announce: &str) -> (Proc, PathBuf) {
    let (p, socket) = start(
        Command::new(bin("p2pd")).args([
            "--home",
            home.to_str().unwrap(),
            "--listen-port",
            "0",
            "--tracker",
            announce,
        ]),
        "control socket at ",
    );
    (p, PathBuf::from(socket))
}

#[test]
fn login_shares_with_the_passkey_logout_stops_and_a_tracker_shutdown_logs_out() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut tracker, base) = start(
        Command::new(bin("trackerd")).args([
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            tmp.path().join("tracker").to_str().unwrap(),
        ]),
        "listening on ",
    );
    let announce = format!("{base}/announce");
    let (_a, alice) = daemon(&tmp.path().join("alice"), &announce);
    let (_b, other) = daemon(&tmp.path().join("other"), &announce);

    let reg = p2pctl(
        &alice,
        &["register", "alice", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert!(
        reg.status.success(),
        "{}",
        String::from_utf8_lossy(&reg.stderr)
    );
    let login = p2pctl(
        &alice,
        &["login", "alice", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    assert_eq!(ok_json(&alice, &["status"])["logged_in_as"], "alice");

    // A second login as alice while she is online is refused.
    let twice = p2pctl(
        &other,
        &["login", "alice", "--password-stdin"],
        Some("correct horse\n"),
    );
    assert_eq!(twice.status.code(), Some(1));
    let err = String::from_utf8_lossy(&twice.stderr);
    assert!(err.contains("already logged in"), "{err}");

    // A shared file is announced with alice's passkey: the tracker sees a seeder.
    std::fs::write(tmp.path().join("alice/shared/song.ogg"), vec![7u8; 300_000]).unwrap();
    wait_until("the file to be seeded", 30, || {
        ok_json(&alice, &["list"])
            .as_array()
            .is_some_and(|l| l.len() == 1 && l[0]["state"] == "seeding")
    });
    let ih = ok_json(&alice, &["list"])[0]["info_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let seeders = |base: &str| {
        tracker_get(base, &format!("/api/v1/torrents/{ih}"))["seeders"]
            .as_u64()
            .unwrap_or(0)
    };
    wait_until("the tracker to count the seeder", 30, || {
        seeders(&base) == 1
    });

    // Logout stops sharing: a stopped announce, nothing in the list.
    assert!(p2pctl(&alice, &["logout"], None).status.success());
    assert_eq!(ok_json(&alice, &["list"]), Value::Array(vec![]));
    wait_until("the stopped announce", 30, || seeders(&base) == 0);
    assert!(ok_json(&alice, &["status"])["logged_in_as"].is_null());

    // Login resumes it.
    assert!(
        p2pctl(
            &alice,
            &["login", "alice", "--password-stdin"],
            Some("correct horse\n")
        )
        .status
        .success()
    );
    wait_until("sharing to resume", 30, || seeders(&base) == 1);

    // trackerd stops: the daemon says it was logged out, and why, within two seconds.
    let pid = tracker.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stopped_at = Instant::now();
    wait_until("the daemon to notice the shutdown", 10, || {
        let s = ok_json(&alice, &["status"]);
        s["logged_in_as"].is_null()
            && s["logged_out_because"]
                .as_str()
                .is_some_and(|w| w.contains("shut down"))
    });
    assert!(
        stopped_at.elapsed() < Duration::from_secs(2),
        "took {:?}",
        stopped_at.elapsed()
    );
    let _ = tracker.0.wait();
}
