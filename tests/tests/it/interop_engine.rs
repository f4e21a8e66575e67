//! The p2pd engine against real BitTorrent clients on loopback: it
//! downloads from aria2c, libtorrent and Transmission seeders, and aria2c
//! and libtorrent download from it. Every download is checked by the SHA-1
//! of the whole file. See /work/shared/INTEROP.md for the clients' quirks
//! (Transmission never dials loopback; libtorrent wants several
//! connections per IP allowed; opentracker is a whitelist build).

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use tempfile::TempDir;

/// 256 KiB pieces.
const PIECE_LOG2: u32 = 18;
/// A few MB whose last piece is partial.
const FILE_BYTES: u64 = 5 * (1 << 20) + 54_321;
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// A temp dir with `seed/NAME` (the original), `leech/`, `logs/` and
/// `NAME.torrent` announcing to `announce`.
struct Swarm {
    tmp: TempDir,
    name: String,
    torrent: PathBuf,
    info_hash: String,
}

impl Swarm {
    fn new(name: &str, announce: Option<&str>) -> Swarm {
        let tmp = TempDir::new().unwrap();
        for d in ["seed", "leech", "logs"] {
            fs::create_dir(tmp.path().join(d)).unwrap();
        }
        let src = tmp.path().join("seed").join(name);
        write_random_file(&src, FILE_BYTES, 0x5eed);
        let torrent = tmp.path().join(format!("{name}.torrent"));
        let meta = mktorrent(&src, &torrent, PIECE_LOG2, announce.unwrap_or(NO_TRACKER));
        Swarm {
            tmp,
            name: name.to_owned(),
            torrent,
            info_hash: meta.info_hash.to_hex(),
        }
    }

    /// A swarm whose torrent announces to a fresh opentracker that lists it.
    fn with_tracker(name: &str) -> (Swarm, Proc) {
        // The info-hash does not depend on the announce URL: make the
        // torrent once to learn it, start the tracker, then make it again.
        let swarm = Swarm::new(name, None);
        let (tracker, url) = opentracker(
            std::slice::from_ref(&swarm.info_hash),
            &swarm.path("tracker"),
            &swarm.logs(),
        );
        let meta = mktorrent(&swarm.original(), &swarm.torrent, PIECE_LOG2, &url);
        assert_eq!(meta.info_hash.to_hex(), swarm.info_hash);
        (swarm, tracker)
    }

    /// A swarm whose torrent announces to a fresh opentracker over UDP
    /// only (BEP 15; opentracker serves UDP on the same port number).
    fn with_udp_tracker(name: &str) -> (Swarm, Proc) {
        let swarm = Swarm::new(name, None);
        let (tracker, url) = opentracker(
            std::slice::from_ref(&swarm.info_hash),
            &swarm.path("tracker"),
            &swarm.logs(),
        );
        let udp = url.replacen("http://", "udp://", 1);
        let meta = mktorrent(&swarm.original(), &swarm.torrent, PIECE_LOG2, &udp);
        assert_eq!(meta.info_hash.to_hex(), swarm.info_hash);
        (swarm, tracker)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }
    fn seed_dir(&self) -> PathBuf {
        self.path("seed")
    }
    fn leech_dir(&self) -> PathBuf {
        self.path("leech")
    }
    fn logs(&self) -> PathBuf {
        self.path("logs")
    }
    fn original(&self) -> PathBuf {
        self.seed_dir().join(&self.name)
    }
    fn downloaded(&self) -> PathBuf {
        self.leech_dir().join(&self.name)
    }

    /// The engine harness leeching from `peer` only, without trackers.
    fn engine_leecher(&self, peer: u16) -> Harness {
        Harness::start(
            "p2pd-leecher",
            &self.torrent,
            &self.leech_dir(),
            &[
                "--no-trackers".into(),
                "--peer".into(),
                format!("127.0.0.1:{peer}"),
            ],
            &self.logs(),
        )
    }

    /// Waits for the engine to finish and checks the file. (The seeder is
    /// its only peer; a fast download may end, and the seeder leave,
    /// between two status lines, so per-peer counters are not checked here.)
    fn assert_engine_downloaded(&self, leecher: &mut Harness, timeout: Duration) {
        let started = Instant::now();
        let last = leecher.wait_seeding(timeout);
        eprintln!(
            "p2pd downloaded {FILE_BYTES} bytes in {:?}",
            started.elapsed()
        );
        assert_eq!(last["hash_failures"], 0, "{last}");
        assert!(
            last["downloaded"].as_u64().unwrap() >= FILE_BYTES,
            "the leecher counted less than the file as downloaded: {last}"
        );
        assert_same_file(&self.original(), &self.downloaded());
    }
}

#[test]
fn p2pd_downloads_a_file_from_an_aria2c_seeder() {
    let swarm = Swarm::new("from aria2.bin", None);
    let (_aria2, port) = aria2_seeder(&swarm.torrent, &swarm.seed_dir(), &[], &swarm.logs());
    let mut leecher = swarm.engine_leecher(port);
    swarm.assert_engine_downloaded(&mut leecher, DOWNLOAD_TIMEOUT);
}

#[test]
fn p2pd_downloads_a_file_from_a_libtorrent_seeder() {
    let swarm = Swarm::new("from libtorrent.bin", None);
    let (mut seeder, out) = libtorrent(
        "libtorrent-seeder",
        LIBTORRENT_SEEDER,
        &[path_arg(&swarm.torrent), path_arg(&swarm.seed_dir())],
        &swarm.logs(),
    );
    let port: u16 = out
        .wait_line("ready", Duration::from_secs(30), &mut seeder)
        .parse()
        .unwrap();
    let mut leecher = swarm.engine_leecher(port);
    swarm.assert_engine_downloaded(&mut leecher, DOWNLOAD_TIMEOUT);
}

#[test]
fn p2pd_downloads_a_file_from_a_transmission_seeder_it_dials() {
    let swarm = Swarm::new("from transmission.bin", None);
    let mut transmission = Transmission::start(
        "transmission-daemon",
        &swarm.path("transmission"),
        &swarm.seed_dir(),
        &swarm.logs(),
    );
    transmission.add(&swarm.torrent, &swarm.seed_dir());
    transmission.wait_complete("Transmission to seed", Duration::from_secs(30));
    transmission.wait_peer_port();
    let peer_port = transmission.peer_port;
    let mut leecher = swarm.engine_leecher(peer_port);
    // Transmission unchokes every 10 s and caps one peer's rate: allow time.
    swarm.assert_engine_downloaded(&mut leecher, Duration::from_secs(90));
}

#[test]
fn aria2c_downloads_a_file_from_a_p2pd_seeder_found_through_opentracker() {
    let (swarm, _tracker) = Swarm::with_tracker("to aria2.bin");
    let mut seeder = Harness::start(
        "p2pd-seeder",
        &swarm.torrent,
        &swarm.seed_dir(),
        &[],
        &swarm.logs(),
    );
    seeder.wait_until("a successful announce", Duration::from_secs(30), |v| {
        v["state"] == "Seeding" && v["tracker"].as_str().is_some_and(|t| t.starts_with("ok"))
    });
    let mut cmd = Command::new(require_tool("aria2c"));
    cmd.args(aria2_common_flags(free_port()))
        .arg("--seed-time=0")
        .arg(format!("--dir={}", swarm.leech_dir().display()))
        .arg(&swarm.torrent);
    let started = Instant::now();
    let mut aria2 = Proc::spawn("aria2c-leecher", cmd, &swarm.logs(), false);
    // aria2 takes 2-4 s of timers for a few MB; 30 s is ample.
    let status = wait_for("aria2c to finish", Duration::from_secs(30), || {
        aria2.try_wait()
    });
    eprintln!(
        "aria2c downloaded {FILE_BYTES} bytes in {:?}",
        started.elapsed()
    );
    assert!(
        status.success(),
        "aria2c failed with {status}; log:\n{}",
        log_tail(&aria2.log)
    );
    assert_same_file(&swarm.original(), &swarm.downloaded());
    seeder.wait_until(
        "the seeder to count the whole file as uploaded",
        Duration::from_secs(5),
        |v| v["uploaded"].as_u64().unwrap_or(0) >= FILE_BYTES,
    );
}

/// The p2pd seeder of a torrent whose only tracker is a UDP one, once it
/// has announced there.
fn udp_announced_seeder(swarm: &Swarm) -> Harness {
    let mut seeder = Harness::start(
        "p2pd-seeder",
        &swarm.torrent,
        &swarm.seed_dir(),
        &[],
        &swarm.logs(),
    );
    seeder.wait_until("a successful UDP announce", Duration::from_secs(30), |v| {
        v["state"] == "Seeding" && v["tracker"].as_str().is_some_and(|t| t.starts_with("ok"))
    });
    seeder
}

#[test]
fn aria2c_downloads_from_a_p2pd_seeder_that_announced_over_udp_only() {
    let (swarm, _tracker) = Swarm::with_udp_tracker("udp to aria2.bin");
    let _seeder = udp_announced_seeder(&swarm);
    // aria2 speaks UDP to trackers only through its DHT socket: DHT on, with
    // no node to start from and a table file of its own.
    let flags = aria2_common_flags(free_port())
        .into_iter()
        .filter(|f| f != "--enable-dht=false");
    let mut cmd = Command::new(require_tool("aria2c"));
    cmd.args(flags)
        .arg("--enable-dht=true")
        .arg(format!("--dht-listen-port={}", free_tcp_udp_port()))
        .arg(format!(
            "--dht-file-path={}",
            swarm.path("aria2-dht.dat").display()
        ))
        .arg("--seed-time=0")
        .arg(format!("--dir={}", swarm.leech_dir().display()))
        .arg(&swarm.torrent);
    let mut aria2 = Proc::spawn("aria2c-leecher", cmd, &swarm.logs(), false);
    let status = wait_for("aria2c to finish", Duration::from_secs(60), || {
        aria2.try_wait()
    });
    assert!(
        status.success(),
        "aria2c failed with {status}; log:\n{}",
        log_tail(&aria2.log)
    );
    assert_same_file(&swarm.original(), &swarm.downloaded());
}

#[test]
fn a_p2pd_leecher_finds_a_p2pd_seeder_through_a_udp_tracker() {
    let (swarm, _tracker) = Swarm::with_udp_tracker("udp between p2pd.bin");
    let _seeder = udp_announced_seeder(&swarm);
    let mut leecher = Harness::start(
        "p2pd-leecher",
        &swarm.torrent,
        &swarm.leech_dir(),
        &[],
        &swarm.logs(),
    );
    swarm.assert_engine_downloaded(&mut leecher, DOWNLOAD_TIMEOUT);
}

#[test]
fn libtorrent_downloads_a_file_from_a_p2pd_seeder_it_dials() {
    let swarm = Swarm::new("to libtorrent.bin", None);
    let mut seeder = Harness::start(
        "p2pd-seeder",
        &swarm.torrent,
        &swarm.seed_dir(),
        &["--no-trackers".into()],
        &swarm.logs(),
    );
    seeder.wait_seeding(Duration::from_secs(30));
    let started = Instant::now();
    let (mut leecher, out) = libtorrent(
        "libtorrent-leecher",
        LIBTORRENT_LEECHER,
        &[
            path_arg(&swarm.torrent),
            path_arg(&swarm.leech_dir()),
            seeder.port.to_string(),
        ],
        &swarm.logs(),
    );
    out.wait_line("done", DOWNLOAD_TIMEOUT, &mut leecher);
    eprintln!(
        "libtorrent downloaded {FILE_BYTES} bytes in {:?}",
        started.elapsed()
    );
    assert_same_file(&swarm.original(), &swarm.downloaded());
    seeder.wait_until(
        "the seeder to count the whole file as uploaded",
        Duration::from_secs(5),
        |v| v["uploaded"].as_u64().unwrap_or(0) >= FILE_BYTES,
    );
}

fn path_arg(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}
