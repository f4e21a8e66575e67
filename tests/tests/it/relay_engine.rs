//! p2pd to p2pd over a simulated distance: the leecher's only peer is a
//! latency relay (50 ms each way, 100 ms round trip) in front of the
//! seeder; the download completes with the right bytes. (How fast it goes
//! is bench/latency.sh's question, not a test's.)

#![allow(clippy::unwrap_used)]

use std::fs;
use std::time::{Duration, Instant};

use crate::common::*;
use p2p_tests::relay::{Relay, RelayConfig};

#[test]
fn p2pd_downloads_32_mib_through_a_relay_with_a_100_ms_round_trip() {
    const FILE_BYTES: u64 = 32 << 20;
    let tmp = tempfile::tempdir().unwrap();
    for d in ["seed", "leech", "logs"] {
        fs::create_dir(tmp.path().join(d)).unwrap();
    }
    let name = "far away.bin";
    let src = tmp.path().join("seed").join(name);
    write_random_file(&src, FILE_BYTES, 0xfa4);
    let torrent = tmp.path().join("far.torrent");
    mktorrent(&src, &torrent, 18, NO_TRACKER);
    let logs = tmp.path().join("logs");
    let mut seeder = Harness::start(
        "p2pd-seeder",
        &torrent,
        &tmp.path().join("seed"),
        &["--no-trackers".into()],
        &logs,
    );
    seeder.wait_seeding(Duration::from_secs(60));
    let relay = Relay::start(RelayConfig {
        target: seeder.addr().parse().unwrap(),
        delay: Duration::from_millis(50),
        rate_bytes_per_sec: None,
    })
    .unwrap();
    let started = Instant::now();
    let mut leecher = Harness::start(
        "p2pd-leecher",
        &torrent,
        &tmp.path().join("leech"),
        &[
            "--no-trackers".into(),
            "--peer".into(),
            relay.addr.to_string(),
        ],
        &logs,
    );
    let last = leecher.wait_seeding(Duration::from_secs(180));
    eprintln!("32 MiB through the relay in {:?}", started.elapsed());
    assert_eq!(last["hash_failures"], 0, "{last}");
    assert_same_file(&src, &tmp.path().join("leech").join(name));
    // Every byte came through the relay: the seeder's address is unknown to the leecher.
    let by_peer = leecher.downloaded_by_peer();
    assert!(
        by_peer.keys().all(|a| a == &relay.addr.to_string()),
        "{by_peer:?}"
    );
}
