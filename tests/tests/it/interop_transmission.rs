//! p2pd and transmission-daemon (at its default settings) find each other
//! through trackerd and exchange a file both ways; the bytes are checked by
//! the SHA-1 of the whole file. Transmission never dials a loopback peer,
//! so p2pd dials it in both directions: as a leecher because trackerd
//! listed the Transmission seeder before p2pd's first announce, as a
//! seeder because the Transmission leecher was listed before p2pd's.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::*;
use p2p_tests::e2e::{Proc as TrackerProc, http, trackerd};
use tempfile::TempDir;

/// 256 KiB pieces.
const PIECE_LOG2: u32 = 18;
/// Several pieces and a partial last one.
const FILE_BYTES: u64 = 12 * (1 << 20) + 4_321;
/// Transmission unchokes every 10 s and answers on 500 ms pulses.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// trackerd, and a torrent announcing to it with its data in `seed/`.
struct Swarm {
    tmp: TempDir,
    _tracker: TrackerProc,
    base: String,
    name: String,
    torrent: PathBuf,
    info_hash: [u8; 20],
}

impl Swarm {
    fn new(name: &str) -> Swarm {
        let tmp = TempDir::new().unwrap();
        for d in ["seed", "leech", "logs"] {
            fs::create_dir(tmp.path().join(d)).unwrap();
        }
        let (tracker, base) = trackerd(&tmp.path().join("tracker"));
        let src = tmp.path().join("seed").join(name);
        write_random_file(&src, FILE_BYTES, 0x7a11);
        let torrent = tmp.path().join(format!("{name}.torrent"));
        let meta = mktorrent(&src, &torrent, PIECE_LOG2, &format!("{base}/announce"));
        Swarm {
            tmp,
            _tracker: tracker,
            base,
            name: name.to_owned(),
            torrent,
            info_hash: meta.info_hash.0,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// (complete, incomplete) for our torrent from trackerd's scrape.
    fn scrape(&self) -> (u64, u64) {
        let q: String = self.info_hash.iter().map(|b| format!("%{b:02X}")).collect();
        let (status, body) = http(
            &self.base,
            "GET",
            &format!("/scrape?info_hash={q}"),
            None,
            None,
        );
        assert_eq!(status, 200);
        let num = |key: &str| {
            let k = format!("{}:{key}i", key.len());
            let at = body.windows(k.len()).position(|w| w == k.as_bytes())? + k.len();
            let end = at + body[at..].iter().position(|&b| b == b'e')?;
            std::str::from_utf8(&body[at..end]).ok()?.parse().ok()
        };
        (num("complete").unwrap_or(0), num("incomplete").unwrap_or(0))
    }

    fn wait_listed(&self, what: &str, pred: impl Fn((u64, u64)) -> bool) {
        wait_for(what, Duration::from_secs(30), || {
            pred(self.scrape()).then_some(())
        });
    }
}

#[test]
fn p2pd_downloads_from_a_transmission_seeder_it_found_through_trackerd() {
    let swarm = Swarm::new("from transmission via trackerd.bin");
    let mut transmission = Transmission::start(
        "transmission-seeder",
        &swarm.path("transmission"),
        &swarm.path("seed"),
        &swarm.path("logs"),
    );
    transmission.add(&swarm.torrent, &swarm.path("seed"));
    transmission.wait_complete("Transmission to seed", Duration::from_secs(30));
    swarm.wait_listed("trackerd to list the Transmission seeder", |(c, _)| c >= 1);
    let started = Instant::now();
    let mut leecher = Harness::start(
        "p2pd-leecher",
        &swarm.torrent,
        &swarm.path("leech"),
        &[],
        &swarm.path("logs"),
    );
    let last = leecher.wait_seeding(DOWNLOAD_TIMEOUT);
    eprintln!(
        "p2pd downloaded {FILE_BYTES} bytes from Transmission in {:?}",
        started.elapsed()
    );
    assert_eq!(last["hash_failures"], 0, "{last}");
    assert_same_file(
        &swarm.path("seed").join(&swarm.name),
        &swarm.path("leech").join(&swarm.name),
    );
}

#[test]
fn transmission_downloads_from_a_p2pd_seeder_it_was_found_by_through_trackerd() {
    let swarm = Swarm::new("to transmission via trackerd.bin");
    let mut transmission = Transmission::start(
        "transmission-leecher",
        &swarm.path("transmission"),
        &swarm.path("leech"),
        &swarm.path("logs"),
    );
    transmission.add(&swarm.torrent, &swarm.path("leech"));
    swarm.wait_listed("trackerd to list the Transmission leecher", |(_, i)| i >= 1);
    let started = Instant::now();
    let mut seeder = Harness::start(
        "p2pd-seeder",
        &swarm.torrent,
        &swarm.path("seed"),
        &[],
        &swarm.path("logs"),
    );
    seeder.wait_seeding(Duration::from_secs(30));
    transmission.wait_complete("Transmission to download the file", DOWNLOAD_TIMEOUT);
    eprintln!(
        "Transmission downloaded {FILE_BYTES} bytes from p2pd in {:?}",
        started.elapsed()
    );
    assert_same_file(
        &swarm.path("seed").join(&swarm.name),
        &swarm.path("leech").join(&swarm.name),
    );
    seeder.wait_until(
        "the seeder to count the whole file as uploaded",
        Duration::from_secs(5),
        |v| v["uploaded"].as_u64().unwrap_or(0) >= FILE_BYTES,
    );
}
