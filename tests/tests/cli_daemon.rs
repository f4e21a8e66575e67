//! The product as people use it: trackerd, two p2pd daemons and p2pctl, all
//! real binaries over loopback. `p2pctl download x.torrent` from a seeding
//! p2pd completes with the right bytes, and every command's `--json` parses.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha1::{Digest, Sha1};

/// The workspace binaries, built once (a no-op when `cargo test --workspace` built them).
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
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// A child process killed by PID when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a program and waits for a stderr line containing `marker`; returns
/// the text after it.
fn start(cmd: &mut Command, marker: &str) -> (Proc, String) {
    let mut child = cmd
        .env("RUST_LOG", "info")
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
        let clean: String = strip_ansi(&line);
        if let Some(i) = clean.find(marker) {
            std::thread::spawn(move || while rx.recv().is_ok() {});
            return (proc, clean[i + marker.len()..].trim().to_owned());
        }
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for c in s.chars() {
        match (skipping, c) {
            (false, '\u{1b}') => skipping = true,
            (true, 'm') => skipping = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}

fn p2pctl(socket: &Path, args: &[&str]) -> Output {
    Command::new(bin("p2pctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .unwrap()
}

fn json_of(socket: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = p2pctl(socket, &all);
    assert!(
        out.status.success(),
        "p2pctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "p2pctl {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn daemon(home: &Path, tracker: &str) -> (Proc, PathBuf) {
    let (p, socket) = start(
        Command::new(bin("p2pd")).args([
            "--home",
            home.to_str().unwrap(),
            "--listen-port",
            "0",
            "--tracker",
            tracker,
        ]),
        "control socket at ",
    );
    (p, PathBuf::from(socket))
}

#[test]
fn p2pctl_download_of_a_torrent_completes_from_a_seeding_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let (_tracker, url) = start(
        Command::new(bin("trackerd")).args([
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            tmp.path().join("tracker").to_str().unwrap(),
        ]),
        "listening on ",
    );
    let announce = format!("{url}/announce");
    let (_seed, seed_sock) = daemon(&tmp.path().join("seed"), &announce);
    let (_leech, leech_sock) = daemon(&tmp.path().join("leech"), &announce);

    // The seeder's data sits in its downloads folder; the torrent points there.
    let data: Vec<u8> = (0..5_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let file = tmp.path().join("seed/downloads/clip.bin");
    std::fs::write(&file, &data).unwrap();
    let torrent = tmp.path().join("clip.torrent");
    let created = json_of(
        &seed_sock,
        &[
            "create",
            file.to_str().unwrap(),
            "-o",
            torrent.to_str().unwrap(),
            "-t",
            &announce,
        ],
    );
    let info_hash = created["info_hash"].as_str().unwrap().to_owned();
    let added = json_of(
        &seed_sock,
        &["download", torrent.to_str().unwrap(), "--detach"],
    );
    assert_eq!(added["info_hash"], info_hash.as_str());

    // The leecher finds the seeder through the tracker; p2pctl waits for the end.
    let out = p2pctl(&leech_sock, &["download", torrent.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = std::fs::read(tmp.path().join("leech/downloads/clip.bin")).unwrap();
    assert_eq!(Sha1::digest(&got), Sha1::digest(&data));

    // Every command's --json parses and says what it should.
    let list = json_of(&leech_sock, &["list"]);
    let t = &list.as_array().unwrap()[0];
    for key in [
        "info_hash",
        "name",
        "state",
        "progress",
        "downloaded",
        "uploaded",
        "download_rate",
        "upload_rate",
        "peers",
    ] {
        assert!(t.get(key).is_some(), "list lacks {key}: {t}");
    }
    assert_eq!(t["state"], "seeding");
    assert_eq!(t["progress"], 1.0);
    let short = &info_hash[..8];
    let progress = json_of(&leech_sock, &["progress", short]);
    assert_eq!(progress["pieces_have"], progress["pieces_total"]);
    assert_eq!(progress["bytes_have"], data.len());
    let status = json_of(&leech_sock, &["status"]);
    assert!(status["logged_in_as"].is_null());
    assert!(status["tracker"]["state"].is_string());
    assert!(json_of(&leech_sock, &["peers", short]).is_array());
    assert_eq!(json_of(&leech_sock, &["pause", short])["state"], "paused");
    assert_eq!(
        json_of(&leech_sock, &["resume", short])["info_hash"],
        info_hash.as_str()
    );
    json_of(&leech_sock, &["remove", short]);
    assert_eq!(json_of(&leech_sock, &["list"]), Value::Array(vec![]));
    assert!(
        tmp.path().join("leech/downloads/clip.bin").exists(),
        "remove keeps the data"
    );
}
