//! trackerd with a stderr that refuses every write (`/dev/full`, like a full
//! disk under the log): it must go on answering, not panic on a log line.
#![cfg(target_os = "linux")]

use std::process::Stdio;
use std::time::Duration;

use crate::common::process::{Daemon, http, trackerd, wait_until};
use crate::common::{make_torrent, req};
use p2p_proto::tracker::{AnnounceResponse, Event};

/// The TCP port `pid` listens on, read from /proc (its stderr, where it
/// says so, is `/dev/full`).
fn listening_port(pid: u32) -> Option<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).ok()?;
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // Columns: sl local_address rem_address st ... inode (10th).
        let listening = f.get(3) == Some(&"0A");
        let ours = f.get(9).is_some_and(|i| inodes.iter().any(|x| x == i));
        let port = f.get(1)?.rsplit(':').next()?;
        (listening && ours)
            .then(|| u16::from_str_radix(port, 16).ok())
            .flatten()
    })
}

#[test]
fn a_tracker_whose_stderr_is_full_keeps_answering_and_logging_does_not_kill_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let child = trackerd()
        .args(["--listen", "127.0.0.1:0", "--mode", "catalog", "--data-dir"])
        .arg(&data)
        // Every request and announce is logged at this level.
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create("/dev/full").unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (_tx, stderr) = std::sync::mpsc::channel();
    let mut d = Daemon {
        child,
        addr: "127.0.0.1:0".parse().unwrap(),
        stderr,
    };
    let mut port = None;
    wait_until(Duration::from_secs(30), "trackerd listens", || {
        assert!(d.child.try_wait().unwrap().is_none(), "trackerd exited");
        port = listening_port(pid);
        port.is_some()
    });
    d.addr.set_port(port.unwrap());

    let (bytes, h) = make_torrent(dir.path(), "k.bin", 5000, "http://x/announce");
    assert_eq!(http(d.addr, "POST", "/api/v1/torrents", &bytes).0, 201);
    // Twelve peers: under the per-address cap of one swarm (16).
    for n in 1..=12 {
        let q = req(h, n, 1000 + n as u16, 5, Event::Started).to_query_string();
        let (status, body) = http(d.addr, "GET", &format!("/announce?{q}"), b"");
        assert_eq!(status, 200);
        let resp = AnnounceResponse::from_bytes(&body).unwrap();
        assert_eq!(resp.incomplete, n);
    }
    let (status, _) = http(d.addr, "GET", "/api/v1/nothing-here", b"");
    assert_eq!(status, 404);
    assert_eq!(http(d.addr, "GET", "/health", b"").0, 200);
    assert!(d.child.try_wait().unwrap().is_none(), "trackerd still runs");
    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(10)).code(), Some(0));
}
