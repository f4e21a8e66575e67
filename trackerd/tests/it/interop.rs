//! Interop with real BitTorrent clients over loopback: an aria2c or
//! python3-libtorrent seeder and leecher find each other through trackerd,
//! and the leecher's file has the right SHA-1. Missing tools are a failure
//! (run scripts/test, which installs them), never a skip.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::clients::{
    PYTHON, Proc, free_port, require_aria2, require_libtorrent, require_tool,
};
use crate::common::process::{Daemon, http, spawn, wait_until};
use p2p_proto::infohash::InfoHash;
use sha1::{Digest, Sha1};

const FILE_BYTES: usize = 3 << 20;

/// A torrent of pseudo-random content announcing to the tracker.
struct Fixture {
    _dir: tempfile::TempDir,
    seed_dir: PathBuf,
    leech_dir: PathBuf,
    torrent: PathBuf,
    info_hash: InfoHash,
    sha1: Vec<u8>,
    tracker: Daemon,
}

impl Fixture {
    fn log(&self, name: &str) -> PathBuf {
        self._dir.path().join(format!("{name}.log"))
    }

    /// The same torrent (same info dictionary, so the same swarm)
    /// announcing over `scheme` instead, written beside the fixture's.
    fn torrent_over(&self, scheme: &str) -> PathBuf {
        let meta =
            p2p_proto::metainfo::Metainfo::from_bytes(&std::fs::read(&self.torrent).unwrap())
                .unwrap();
        let extras = p2p_proto::metainfo::TorrentExtras {
            trackers: vec![vec![format!("{scheme}://{}/announce", self.tracker.addr)]],
            ..Default::default()
        };
        let path = self._dir.path().join(format!("payload-{scheme}.torrent"));
        std::fs::write(
            &path,
            p2p_proto::metainfo::encode_torrent(&meta.raw_info, &extras),
        )
        .unwrap();
        path
    }
}

fn fixture() -> Fixture {
    fixture_announcing_over("http")
}

/// The fixture's torrent announcing to trackerd over `scheme` (http, or
/// udp: BEP 15 on the same port number).
fn fixture_announcing_over(scheme: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let seed_dir = dir.path().join("seed");
    let leech_dir = dir.path().join("leech");
    std::fs::create_dir_all(&seed_dir).unwrap();
    std::fs::create_dir_all(&leech_dir).unwrap();
    let tracker = spawn(&["--data-dir", dir.path().join("db").to_str().unwrap()]);
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let data: Vec<u8> = (0..FILE_BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let file = seed_dir.join("payload.bin");
    std::fs::write(&file, &data).unwrap();
    let url = format!("{scheme}://{}/announce", tracker.addr);
    let opts = p2p_proto::create::CreateOptions {
        piece_length: Some(64 << 10),
        extras: p2p_proto::metainfo::TorrentExtras {
            trackers: vec![vec![url]],
            ..Default::default()
        },
        ..Default::default()
    };
    let created =
        p2p_proto::create::create_torrent(&file, &opts, &p2p_proto::create::Control::default())
            .unwrap();
    let torrent = dir.path().join("payload.torrent");
    std::fs::write(&torrent, &created.bytes).unwrap();
    Fixture {
        seed_dir,
        leech_dir,
        torrent,
        info_hash: created.metainfo.info_hash,
        sha1: Sha1::digest(&data).to_vec(),
        tracker,
        _dir: dir,
    }
}

fn swarm_counts(tracker: SocketAddr, h: &InfoHash) -> (u64, u64, u64) {
    let (status, body) = http(
        tracker,
        "GET",
        &format!("/api/v1/torrents/{}", h.to_hex()),
        b"",
    );
    if status != 200 {
        return (0, 0, 0);
    }
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    (n("seeders"), n("leechers"), n("completed"))
}

fn aria2(dir: &Path, torrent: &Path, port: u16) -> Command {
    let mut c = Command::new("aria2c");
    c.arg(format!("--dir={}", dir.display()))
        .args([
            "--enable-dht=false",
            "--enable-dht6=false",
            "--bt-enable-lpd=false",
            "--enable-peer-exchange=false",
            "--interface=127.0.0.1",
            "--disable-ipv6=true",
            "--file-allocation=none",
            "--summary-interval=0",
            "--console-log-level=warn",
            "--allow-overwrite=true",
        ])
        .arg(format!("--listen-port={port}"))
        .arg(torrent);
    c
}

fn aria2_seeder(f: &Fixture) -> Proc {
    let mut c = aria2(&f.seed_dir, &f.torrent, free_port());
    c.args(["-V", "--seed-ratio=0.0"]);
    Proc::start("aria2c seeder", f.log("aria2-seed"), &mut c)
}

fn aria2_leecher(f: &Fixture) -> Proc {
    let mut c = aria2(&f.leech_dir, &f.torrent, free_port());
    c.arg("--seed-time=0");
    Proc::start("aria2c leecher", f.log("aria2-leech"), &mut c)
}

fn lt_client(mode: &str, f: &Fixture) -> Proc {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/lt_client.py");
    let dir = if mode == "seed" {
        &f.seed_dir
    } else {
        &f.leech_dir
    };
    let mut c = Command::new(PYTHON);
    c.arg(script)
        .arg(mode)
        .arg(&f.torrent)
        .arg(dir)
        .arg(free_port().to_string())
        .arg("120");
    let name = if mode == "seed" {
        "libtorrent seeder"
    } else {
        "libtorrent leecher"
    };
    Proc::start(name, f.log(&format!("lt-{mode}")), &mut c)
}

/// A transmission-daemon seeding the fixture from a fresh config dir (it
/// never dials loopback peers, but accepts them: INTEROP.md).
fn transmission_seeder(f: &Fixture) -> Proc {
    let config = f._dir.path().join("transmission");
    std::fs::create_dir_all(&config).unwrap();
    let rpc_port = free_port();
    let settings = serde_json::json!({
        "dht-enabled": false,
        "lpd-enabled": false,
        "pex-enabled": false,
        "utp-enabled": false,
        "port-forwarding-enabled": false,
        "bind-address-ipv4": "127.0.0.1",
        "peer-port": free_port(),
        "peer-port-random-on-start": false,
        "rpc-port": rpc_port,
        "rpc-bind-address": "127.0.0.1",
        "rpc-authentication-required": false,
        "rpc-whitelist-enabled": false,
        "download-dir": f.seed_dir,
        "incomplete-dir-enabled": false,
        "message-level": 2,
    });
    std::fs::write(config.join("settings.json"), settings.to_string()).unwrap();
    let mut c = Command::new("transmission-daemon");
    c.arg("-f").arg("-g").arg(&config);
    let daemon = Proc::start("transmission-daemon", f.log("transmission"), &mut c);
    let rpc = format!("127.0.0.1:{rpc_port}");
    wait_until(Duration::from_secs(30), "transmission's RPC", || {
        Command::new("transmission-remote")
            .args([&rpc, "-a"])
            .arg(&f.torrent)
            .arg("-w")
            .arg(&f.seed_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    daemon
}

/// Starts the seeder, waits until the tracker knows it, runs the leecher to
/// completion and checks the downloaded file.
fn transfer(
    f: &Fixture,
    seeder: impl FnOnce(&Fixture) -> Proc,
    leecher: impl FnOnce(&Fixture) -> Proc,
) {
    let _seeder = seeder(f);
    wait_until(Duration::from_secs(60), "the seeder's announce", || {
        swarm_counts(f.tracker.addr, &f.info_hash).0 >= 1
    });
    let mut leecher = leecher(f);
    leecher.wait_success(Duration::from_secs(120));
    let got = std::fs::read(f.leech_dir.join("payload.bin")).unwrap();
    assert_eq!(got.len(), FILE_BYTES);
    assert_eq!(
        Sha1::digest(&got).to_vec(),
        f.sha1,
        "the leecher's file has the seeder's SHA-1"
    );
    wait_until(Duration::from_secs(20), "the completed announce", || {
        swarm_counts(f.tracker.addr, &f.info_hash).2 >= 1
    });
}

#[test]
fn an_aria2_seeder_and_an_aria2_leecher_find_each_other_through_trackerd() {
    require_aria2();
    let f = fixture();
    transfer(&f, aria2_seeder, aria2_leecher);
}

#[test]
fn a_libtorrent_leecher_downloads_from_an_aria2_seeder_through_trackerd() {
    require_aria2();
    require_libtorrent();
    let f = fixture();
    transfer(&f, aria2_seeder, |f| lt_client("leech", f));
}

#[test]
fn an_aria2_leecher_downloads_from_a_libtorrent_seeder_through_trackerd() {
    require_aria2();
    require_libtorrent();
    let f = fixture();
    transfer(&f, |f| lt_client("seed", f), aria2_leecher);
}

#[test]
fn an_aria2_leecher_downloads_from_a_transmission_seeder_through_trackerd() {
    require_aria2();
    require_tool("transmission-daemon", &["--version"], "transmission-daemon");
    require_tool("transmission-remote", &["--version"], "transmission-cli");
    let f = fixture();
    transfer(&f, transmission_seeder, aria2_leecher);
}

#[test]
fn a_libtorrent_leecher_downloads_from_a_libtorrent_seeder_through_trackerd() {
    require_libtorrent();
    let f = fixture();
    transfer(&f, |f| lt_client("seed", f), |f| lt_client("leech", f));
}

#[test]
fn a_libtorrent_seeder_and_leecher_find_each_other_through_trackerds_udp_port() {
    require_libtorrent();
    let f = fixture_announcing_over("udp");
    transfer(&f, |f| lt_client("seed", f), |f| lt_client("leech", f));
}

#[test]
fn a_libtorrent_seeder_over_udp_and_an_aria2_leecher_over_http_share_one_swarm() {
    require_aria2();
    require_libtorrent();
    let f = fixture_announcing_over("udp");
    let over_http = f.torrent_over("http");
    transfer(
        &f,
        |f| lt_client("seed", f),
        |f| {
            let mut c = aria2(&f.leech_dir, &over_http, free_port());
            c.arg("--seed-time=0");
            Proc::start("aria2c leecher over http", f.log("aria2-leech"), &mut c)
        },
    );
}
