//! Engines in one process over loopback: seeding, downloading from several
//! peers, bans of a peer that sends corrupt data, resume, rate limits.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use p2p_proto::create::{Control, CreateOptions, create_torrent};
use p2p_proto::metainfo::Metainfo;
use p2pd::engine::{AddMagnet, AddTorrent, Engine, EngineConfig, EngineEvent, TorrentState};
use sha1::{Digest, Sha1};
use tokio_util::sync::CancellationToken;

pub(crate) const WAIT: Duration = Duration::from_secs(20);

pub(crate) fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes files under `root/name` and makes a torrent of them.
pub(crate) fn make_torrent(
    root: &Path,
    name: &str,
    files: &[(&str, usize)],
    piece_length: u64,
) -> Metainfo {
    let base = root.join(name);
    for (i, (rel, len)) in files.iter().enumerate() {
        let p = if rel.is_empty() {
            base.clone()
        } else {
            base.join(rel)
        };
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, data(*len, i as u64 + 7)).unwrap();
    }
    let opts = CreateOptions {
        piece_length: Some(piece_length),
        ..CreateOptions::default()
    };
    create_torrent(&base, &opts, &Control::default())
        .unwrap()
        .metainfo
}

/// Adds a torrent whose data is in place and waits until it seeds.
pub(crate) async fn seed(e: &Engine, meta: &Metainfo, dir: &Path) {
    let ih = e.add(add(meta, dir, vec![])).await.unwrap();
    assert!(
        e.wait_complete(ih, WAIT).await,
        "seeder did not find its data"
    );
}

pub(crate) async fn engine(
    cancel: &CancellationToken,
    tweak: impl FnOnce(&mut EngineConfig),
) -> Engine {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut config = EngineConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        // Engines of other tests on this host could share a torrent: LSD
        // would join their swarms to this one's.
        lsd: false,
        ..EngineConfig::default()
    };
    tweak(&mut config);
    Engine::start(config, cancel.child_token()).await.unwrap()
}

pub(crate) fn add(meta: &Metainfo, dir: &Path, peers: Vec<SocketAddr>) -> AddTorrent {
    AddTorrent {
        metainfo: meta.clone(),
        download_dir: dir.to_path_buf(),
        resume_dir: dir.join(".progress"),
        download_rate_limit: None,
        upload_rate_limit: None,
        extra_peers: peers,
        use_trackers: false,
        assume_complete: false,
        folder_pin: None,
        file_priorities: None,
        sequential: false,
    }
}

fn magnet_add(dir: &Path) -> AddMagnet {
    AddMagnet {
        download_dir: dir.to_path_buf(),
        resume_dir: dir.join(".progress"),
        extra_peers: Vec::new(),
        use_trackers: false,
        folder_pin: None,
        use_dht: false,
        files: None,
        sequential: false,
    }
}

pub(crate) fn sha1_tree(root: &Path) -> Vec<(PathBuf, [u8; 20])> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == ".progress") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    Sha1::digest(fs::read(&p).unwrap()).into(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// The next engine event, within the test deadline.
pub(crate) async fn next_event(
    rx: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
) -> EngineEvent {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("an engine event in time")
        .expect("the event channel is open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leecher_downloads_a_single_file_from_a_seeder() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("seed"),
        "movie.bin",
        &[("", 3_000_000)],
        64 * 1024,
    );
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |_| {}).await;
    let leecher = engine(&cancel, |_| {}).await;
    let mut seeder_events = seeder.subscribe();
    let mut events = leecher.subscribe();
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let ih = leecher
        .add(add(
            &meta,
            &dir.path().join("leech"),
            vec![seeder.listen_addr()],
        ))
        .await
        .unwrap();
    assert!(
        leecher.wait_complete(ih, WAIT).await,
        "{:?}",
        leecher.stats(ih)
    );
    // The engine says it finished; a seeder that found its data complete
    // at start completed nothing.
    assert_eq!(
        next_event(&mut events).await,
        EngineEvent::Completed {
            info_hash: ih,
            name: "movie.bin".into()
        }
    );
    assert!(seeder_events.try_recv().is_err());
    assert_eq!(
        fs::read(dir.path().join("leech/movie.bin")).unwrap(),
        fs::read(dir.path().join("seed/movie.bin")).unwrap()
    );
    let s = leecher.stats(ih).unwrap();
    assert_eq!(s.state, TorrentState::Seeding);
    assert_eq!(s.pieces_have, meta.piece_count());
    cancel.cancel();
    assert!(seeder.shutdown(Duration::from_secs(10)).await);
    assert!(leecher.shutdown(Duration::from_secs(10)).await);
    assert_eq!(
        next_event(&mut events).await,
        EngineEvent::Stopped { info_hash: ih }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_file_torrent_with_unicode_and_nested_folders_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("a.txt", 10_000),
        ("empty", 0),
        ("日本/データ.bin", 300_001),
        ("ü/ö/ä ß.dat", 70_000),
        ("z/deep/er/still/file", 16_384),
    ];
    let meta = make_torrent(&dir.path().join("seed"), "pack", &files, 32 * 1024);
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |_| {}).await;
    let leecher = engine(&cancel, |_| {}).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let ih = leecher
        .add(add(
            &meta,
            &dir.path().join("leech"),
            vec![seeder.listen_addr()],
        ))
        .await
        .unwrap();
    assert!(leecher.wait_complete(ih, WAIT).await);
    assert_eq!(
        sha1_tree(&dir.path().join("leech")),
        sha1_tree(&dir.path().join("seed"))
    );
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leecher_gets_pieces_from_all_three_seeders() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("s0"),
        "big.bin",
        &[("", 8_000_000)],
        32 * 1024,
    );
    for i in 1..3 {
        let d = dir.path().join(format!("s{i}"));
        fs::create_dir_all(&d).unwrap();
        fs::copy(dir.path().join("s0/big.bin"), d.join("big.bin")).unwrap();
    }
    let cancel = CancellationToken::new();
    let mut seeds = Vec::new();
    for i in 0..3 {
        // Slow seeders, so that none of them can serve everything alone.
        let e = engine(&cancel, |c| c.upload_rate_limit = Some(2_000_000)).await;
        seed(&e, &meta, &dir.path().join(format!("s{i}"))).await;
        seeds.push(e);
    }
    let leecher = engine(&cancel, |_| {}).await;
    let ih = leecher
        .add(add(
            &meta,
            &dir.path().join("leech"),
            seeds.iter().map(Engine::listen_addr).collect(),
        ))
        .await
        .unwrap();
    assert!(leecher.wait_complete(ih, WAIT).await);
    for s in &seeds {
        let up = s.stats(ih).unwrap().uploaded;
        assert!(up > 0, "a seeder sent nothing");
    }
    assert_eq!(
        fs::read(dir.path().join("leech/big.bin")).unwrap(),
        fs::read(dir.path().join("s0/big.bin")).unwrap()
    );
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeder_sending_corrupt_data_is_banned_and_the_file_is_still_right() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("good"),
        "f.bin",
        &[("", 4_000_000)],
        32 * 1024,
    );
    let good = fs::read(dir.path().join("good/f.bin")).unwrap();
    let cancel = CancellationToken::new();
    let honest = engine(&cancel, |c| c.upload_rate_limit = Some(1_500_000)).await;
    seed(&honest, &meta, &dir.path().join("good")).await;
    // The liar checks good data, then the data under it is replaced: it
    // believes it has every piece and serves garbage.
    let liar = engine(&cancel, |_| {}).await;
    fs::create_dir_all(dir.path().join("bad")).unwrap();
    fs::write(dir.path().join("bad/f.bin"), &good).unwrap();
    seed(&liar, &meta, &dir.path().join("bad")).await;
    let ih = meta.info_hash;
    fs::write(dir.path().join("bad/f.bin"), data(good.len(), 99)).unwrap();

    let leecher = engine(&cancel, |_| {}).await;
    leecher
        .add(add(
            &meta,
            &dir.path().join("leech"),
            vec![liar.listen_addr(), honest.listen_addr()],
        ))
        .await
        .unwrap();
    assert!(
        leecher.wait_complete(ih, WAIT).await,
        "{:?}",
        leecher.stats(ih)
    );
    assert_eq!(fs::read(dir.path().join("leech/f.bin")).unwrap(), good);
    let s = leecher.stats(ih).unwrap();
    assert!(s.hash_failures >= 2, "{s:?}");
    assert_eq!(s.banned, 1, "{s:?}");
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_download_resumes_without_rehashing() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("seed"),
        "r.bin",
        &[("", 6_000_000)],
        32 * 1024,
    );
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |c| c.upload_rate_limit = Some(3_000_000)).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;

    let first = CancellationToken::new();
    let leecher = engine(&first, |_| {}).await;
    let ih = leecher
        .add(add(
            &meta,
            &dir.path().join("leech"),
            vec![seeder.listen_addr()],
        ))
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while leecher.stats(ih).unwrap().pieces_have < meta.piece_count() / 3 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.cancel();
    assert!(leecher.shutdown(Duration::from_secs(10)).await);
    let had = leecher.stats(ih).map(|s| s.pieces_have);

    let again = engine(&cancel, |_| {}).await;
    again
        .add(add(
            &meta,
            &dir.path().join("leech"),
            vec![seeder.listen_addr()],
        ))
        .await
        .unwrap();
    // Wait for the check to finish, then compare what it found.
    let deadline = Instant::now() + WAIT;
    loop {
        let s = again.stats(ih).unwrap();
        if s.state != TorrentState::Checking {
            assert_eq!(s.pieces_rechecked, 0, "the record matched, nothing to hash");
            assert!(s.pieces_have >= had.unwrap_or(0).min(meta.piece_count() / 3));
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(again.wait_complete(ih, WAIT).await);
    assert_eq!(
        fs::read(dir.path().join("leech/r.bin")).unwrap(),
        fs::read(dir.path().join("seed/r.bin")).unwrap()
    );
    cancel.cancel();
}

/// Thousands of seeds start and stop with the daemon: a seed writes
/// nothing, so its resume record is not written again and it runs without
/// a run marker; the record is still trusted at the next start.
#[cfg(unix)] // the record's inode tells a rewrite from the same file
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_seed_leaves_its_resume_record_alone_and_has_no_run_marker() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let seed_dir = dir.path().join("seed");
    let meta = make_torrent(&seed_dir, "s.bin", &[("", 300_000)], 32 * 1024);
    let hex = meta.info_hash.to_hex();
    let record = seed_dir.join(format!(".progress/{hex}.resume"));
    let marker = seed_dir.join(format!(".progress/{hex}.running"));
    let identity = |p: &Path| {
        let m = fs::metadata(p).unwrap();
        (m.ino(), m.modified().unwrap(), fs::read(p).unwrap())
    };
    let mut seen = None;
    for run in 0..3 {
        let cancel = CancellationToken::new();
        let e = engine(&cancel, |_| {}).await;
        seed(&e, &meta, &seed_dir).await;
        let rechecked = e.stats(meta.info_hash).unwrap().pieces_rechecked;
        if run == 0 {
            // No record yet: hashed once, and the record written.
            assert_eq!(rechecked, meta.piece_count());
        } else {
            assert_eq!(rechecked, 0, "run {run}: the record was trusted");
        }
        // The record follows the completion.
        let deadline = Instant::now() + WAIT;
        while !record.exists() {
            assert!(Instant::now() < deadline, "no resume record");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!marker.exists(), "run {run}: a seed runs without a marker");
        let now = identity(&record);
        if let Some(before) = &seen {
            assert_eq!(&now, before, "run {run}: the record was written again");
        }
        cancel.cancel();
        assert!(e.shutdown(Duration::from_secs(10)).await);
        assert_eq!(identity(&record), now, "run {run}: rewritten at stop");
        assert!(!marker.exists());
        seen = Some(now);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_limit_holds_the_transfer_to_its_rate() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("seed"),
        "slow.bin",
        &[("", 3_000_000)],
        32 * 1024,
    );
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |c| c.upload_rate_limit = Some(1_000_000)).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let leecher = engine(&cancel, |_| {}).await;
    let started = Instant::now();
    let ih = leecher
        .add(add(
            &meta,
            &dir.path().join("leech"),
            vec![seeder.listen_addr()],
        ))
        .await
        .unwrap();
    assert!(leecher.wait_complete(ih, WAIT).await);
    // 3 MB at 1 MB/s with a one-second burst cannot take less than 2 s.
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_magnet_link_fetches_the_metadata_from_a_peer_then_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("seed"),
        "m.bin",
        &[("", 1_000_000)],
        32 * 1024,
    );
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |_| {}).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let leecher = engine(&cancel, |_| {}).await;
    let mut magnet = meta.magnet();
    magnet.peers.push(seeder.listen_addr());
    let link = p2p_proto::magnet::Magnet::parse(&magnet.to_string()).unwrap();
    let mut events = leecher.subscribe();
    let ih = leecher
        .add_magnet(&link, magnet_add(&dir.path().join("leech")), WAIT)
        .await
        .unwrap();
    assert_eq!(ih, meta.info_hash);
    assert_eq!(
        next_event(&mut events).await,
        EngineEvent::MetadataReceived {
            info_hash: ih,
            name: "m.bin".into()
        }
    );
    assert!(leecher.wait_complete(ih, WAIT).await);
    assert!(matches!(
        next_event(&mut events).await,
        EngineEvent::Completed { info_hash, .. } if info_hash == ih
    ));
    assert_eq!(
        fs::read(dir.path().join("leech/m.bin")).unwrap(),
        fs::read(dir.path().join("seed/m.bin")).unwrap()
    );
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_magnet_link_with_no_reachable_peer_fails_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(&dir.path().join("seed"), "n.bin", &[("", 1000)], 32 * 1024);
    let cancel = CancellationToken::new();
    let leecher = engine(&cancel, |_| {}).await;
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut magnet = meta.magnet();
    magnet.peers.push(closed);
    let err = leecher
        .add_magnet(
            &magnet,
            magnet_add(&dir.path().join("leech")),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no peer sent the torrent's metadata"),
        "{err}"
    );
    cancel.cancel();
}
