//! Groups and the catalog through the real binaries: p2pctl asks p2pd, p2pd
//! asks trackerd with the user's session. A group owner accepts a member; a
//! file dropped into `shared/<group>/` is published in the group's catalog;
//! the member finds it and downloads it by name; a non-member is refused.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use common::{sha1_file, write_random_file};
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

/// Runs p2pctl, killing it if it has not finished within `secs`.
fn p2pctl_within(socket: &Path, args: &[&str], secs: u64) -> Output {
    let child = Command::new(bin("p2pctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("p2pctl {args:?} did not finish within {secs} s");
        }
    }
}

fn succeed(socket: &Path, args: &[&str]) -> String {
    let out = p2pctl(socket, args, None);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fail(socket: &Path, args: &[&str]) -> String {
    let out = p2pctl(socket, args, None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sign_up(socket: &Path, user: &str) {
    for cmd in ["register", "login"] {
        let out = p2pctl(
            socket,
            &[cmd, user, "--password-stdin"],
            Some("correct horse\n"),
        );
        assert!(
            out.status.success(),
            "{cmd} {user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn names(v: &Value, list: &str, key: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|e| e[key].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_member_finds_and_downloads_a_group_file_and_a_non_member_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, base) = start(
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
    let (_b, bob) = daemon(&tmp.path().join("bob"), &announce);
    let (_c, carol) = daemon(&tmp.path().join("carol"), &announce);

    // Without a login the daemon says what to do.
    let err = fail(&alice, &["groups", "list"]);
    assert!(err.contains("log in first"), "{err}");

    sign_up(&alice, "alice");
    sign_up(&bob, "bob");
    sign_up(&carol, "carol");

    // alice creates team; bob asks to join; alice sees the request and accepts.
    succeed(&alice, &["groups", "create", "team"]);
    let groups = ok_json(&bob, &["groups", "list"]);
    assert_eq!(names(&groups, "groups", "name"), ["team"], "{groups}");
    succeed(&bob, &["groups", "join", "team"]);
    let requests = ok_json(&alice, &["groups", "requests", "team"]);
    assert_eq!(names(&requests, "requests", "username"), ["bob"]);
    assert!(succeed(&alice, &["groups", "requests", "team"]).contains("bob"));
    succeed(&alice, &["groups", "accept", "team", "bob"]);
    let members = ok_json(&bob, &["groups", "members", "team"]);
    assert_eq!(
        names(&members, "members", "username"),
        ["alice", "bob"],
        "{members}"
    );
    let table = succeed(&alice, &["groups", "members", "team"]);
    assert!(table.contains("alice") && table.contains("bob"), "{table}");

    // A file dropped into alice's shared/team/ reaches the group's catalog.
    let original = tmp.path().join("original.bin");
    write_random_file(&original, 1_500_000, 42);
    let team_dir = tmp.path().join("alice/shared/team");
    std::fs::create_dir_all(&team_dir).unwrap();
    std::fs::copy(&original, team_dir.join("report.bin")).unwrap();
    let started = Instant::now();
    wait_until("the file in bob's catalog of team", 60, || {
        names(&ok_json(&bob, &["files", "team"]), "torrents", "name") == ["report.bin"]
    });
    eprintln!("published within {:?}", started.elapsed());
    let files = ok_json(&bob, &["files", "team"]);
    let ih = files["torrents"][0]["info_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(files["torrents"][0]["group"], "team");
    assert!(succeed(&bob, &["files", "team"]).contains("report.bin"));
    let found = ok_json(&bob, &["search", "report"]);
    assert_eq!(names(&found, "torrents", "info_hash"), [ih.as_str()]);

    // bob downloads it by name; the bytes are alice's.
    let out = p2pctl_within(&bob, &["--json", "download", "report.bin"], 120);
    assert!(
        out.status.success(),
        "download: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["info_hash"], ih.as_str(), "{done}");
    assert_eq!(
        sha1_file(&tmp.path().join("bob/downloads/report.bin")),
        sha1_file(&original)
    );

    // carol is not a member: no catalog, no torrent.
    let err = fail(&carol, &["files", "team"]);
    assert!(err.contains("team") || err.contains("member"), "{err}");
    let err = fail(&carol, &["download", &ih, "--detach"]);
    assert!(err.contains(&ih), "{err}");
    assert!(ok_json(&carol, &["list"]).as_array().unwrap().is_empty());

    // The tracker's events tell the story.
    let events = ok_json(&alice, &["events"]);
    let kinds = names(&events, "events", "kind");
    for kind in [
        "group_created",
        "join_requested",
        "join_accepted",
        "publish",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {events}");
    }
    // --follow prints them one JSON line each, then keeps waiting.
    let (mut follow, first) =
        start_stdout(&alice, &["--json", "events", "--follow"], "\"publish\"");
    assert!(
        first.contains("report.bin") || first.contains(&ih),
        "{first}"
    );
    assert!(follow.0.try_wait().unwrap().is_none(), "--follow ended");
}

/// Starts p2pctl and returns it with its first stdout line holding `marker`.
fn start_stdout(socket: &Path, args: &[&str], marker: &str) -> (Proc, String) {
    let mut child = Command::new(bin("p2pctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let proc = Proc(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no {marker:?} line from p2pctl {args:?}"));
        if line.contains(marker) {
            return (proc, line);
        }
    }
}
