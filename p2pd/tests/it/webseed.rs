//! Web seeds (BEP 19) against a small HTTP/1.1 server with range support
//! on 127.0.0.1 (tests/src/range_server.rs): downloads from the
//! web seed alone, single- and multi-file; alongside a seeder, each
//! sending part; and a web seed sending corrupt data, given up while the
//! seeder completes, or with no seeder, leaving nothing written.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use p2p_proto::metainfo::Metainfo;
use p2pd::engine::{Engine, TorrentState};
use tokio_util::sync::CancellationToken;

use crate::engine::{WAIT, add, engine, make_torrent, seed, sha1_tree};
use crate::range_server::{Behaviour, RangeServer};

/// The torrent with web seeds added (outside the info dict: same info-hash).
fn with_web_seeds(meta: &Metainfo, urls: &[String]) -> Metainfo {
    let mut m = meta.clone();
    m.web_seeds = urls.to_vec();
    m
}

/// Adds the torrent, waits until it is complete and its web seeds have
/// seen it (they say `done`); whether it completed.
async fn leech(leecher: &Engine, meta: &Metainfo, dir: &Path, peers: Vec<SocketAddr>) -> bool {
    let ih = leecher.add(add(meta, dir, peers)).await.unwrap();
    if !leecher.wait_complete(ih, WAIT).await {
        return false;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        let s = leecher.stats(ih).unwrap();
        let busy = s
            .web_seeds
            .iter()
            .any(|w| !w.status.starts_with("done") && !w.status.starts_with("given up"));
        if !busy {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the web seeds did not see the end: {:?}", leecher.stats(ih));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_file_downloads_from_its_web_seed_with_no_peer_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("www"),
        "movie.bin",
        &[("", 1_000_003)],
        32 * 1024,
    );
    let web = RangeServer::start(&dir.path().join("www"), Behaviour::default())
        .await
        .unwrap();
    // BEP 19: a single-file URL not ending in '/' is the file itself.
    let meta = with_web_seeds(&meta, &[web.url("movie.bin")]);
    let cancel = CancellationToken::new();
    let leecher = engine(&cancel, |_| {}).await;
    let done = leech(&leecher, &meta, &dir.path().join("leech"), vec![]).await;
    let s = leecher.stats(meta.info_hash).unwrap();
    assert!(done, "{s:?}");
    assert_eq!(
        fs::read(dir.path().join("leech/movie.bin")).unwrap(),
        fs::read(dir.path().join("www/movie.bin")).unwrap()
    );
    assert_eq!(s.state, TorrentState::Seeding);
    assert!(s.peers.is_empty());
    assert_eq!(s.hash_failures, 0);
    assert!(web.served() >= meta.info.total_length, "{}", web.served());
    assert!(s.downloaded >= meta.info.total_length, "{s:?}");
    let [w] = &s.web_seeds[..] else {
        panic!("{:?}", s.web_seeds)
    };
    assert_eq!(w.downloaded, meta.info.total_length, "{w:?}");
    assert_eq!(w.status, "done: the torrent is complete");
    cancel.cancel();
    assert!(leecher.shutdown(Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_file_torrent_downloads_from_its_web_seed_past_a_dead_one() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("a.txt", 10_000),
        ("empty", 0),
        ("日本/データ.bin", 300_001),
        ("ü/ö/ä ß.dat", 70_000),
        ("z/deep/file", 16_384),
    ];
    let meta = make_torrent(&dir.path().join("www/files"), "pack", &files, 32 * 1024);
    let web = RangeServer::start(&dir.path().join("www"), Behaviour::default())
        .await
        .unwrap();
    // BEP 19: base + '/' + name + path; the second URL answers 404.
    let meta = with_web_seeds(&meta, &[web.url("files"), web.url("missing/")]);
    let cancel = CancellationToken::new();
    let leecher = engine(&cancel, |_| {}).await;
    let done = leech(&leecher, &meta, &dir.path().join("leech"), vec![]).await;
    let s = leecher.stats(meta.info_hash).unwrap();
    assert!(done, "{s:?}");
    assert_eq!(
        sha1_tree(&dir.path().join("leech")),
        sha1_tree(&dir.path().join("www/files"))
    );
    let sent: Vec<u64> = s.web_seeds.iter().map(|w| w.downloaded).collect();
    assert_eq!(sent, [meta.info.total_length, 0], "{:?}", s.web_seeds);
    cancel.cancel();
    assert!(leecher.shutdown(Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_takes_pieces_from_a_seeder_and_a_web_seed_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("seed"),
        "big.bin",
        &[("", 4_000_000)],
        64 * 1024,
    );
    // Neither can serve it all alone before the other starts: a slow
    // seeder, and a web server that waits before each answer.
    let web = RangeServer::start(
        &dir.path().join("seed"),
        Behaviour {
            delay: Duration::from_millis(20),
            ..Behaviour::default()
        },
    )
    .await
    .unwrap();
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |c| c.upload_rate_limit = Some(1_000_000)).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let leecher = engine(&cancel, |_| {}).await;
    let meta = with_web_seeds(&meta, &[web.url("")]);
    let done = leech(
        &leecher,
        &meta,
        &dir.path().join("leech"),
        vec![seeder.listen_addr()],
    )
    .await;
    let s = leecher.stats(meta.info_hash).unwrap();
    assert!(done, "{s:?}");
    assert_eq!(
        fs::read(dir.path().join("leech/big.bin")).unwrap(),
        fs::read(dir.path().join("seed/big.bin")).unwrap()
    );
    let piece = meta.info.piece_length;
    let from_seeder = seeder.stats(meta.info_hash).unwrap().uploaded;
    assert!(from_seeder >= piece, "the seeder sent {from_seeder} bytes");
    assert!(
        web.served() >= piece,
        "the web seed sent {} bytes",
        web.served()
    );
    assert_eq!(s.hash_failures, 0);
    cancel.cancel();
    assert!(seeder.shutdown(Duration::from_secs(10)).await);
    assert!(leecher.shutdown(Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_seed_sending_corrupt_data_is_given_up_and_the_seeder_completes() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("seed"),
        "big.bin",
        &[("", 2_000_000)],
        32 * 1024,
    );
    let web = RangeServer::start(
        &dir.path().join("seed"),
        Behaviour {
            corrupt: true,
            ..Behaviour::default()
        },
    )
    .await
    .unwrap();
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |c| c.upload_rate_limit = Some(1_000_000)).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let leecher = engine(&cancel, |c| c.ban_after_bad_pieces = 2).await;
    let meta = with_web_seeds(&meta, &[web.url("big.bin")]);
    let done = leech(
        &leecher,
        &meta,
        &dir.path().join("leech"),
        vec![seeder.listen_addr()],
    )
    .await;
    let s = leecher.stats(meta.info_hash).unwrap();
    assert!(done, "{s:?}");
    assert_eq!(
        fs::read(dir.path().join("leech/big.bin")).unwrap(),
        fs::read(dir.path().join("seed/big.bin")).unwrap()
    );
    // Two bad pieces (and one it fetched while they were checked), then
    // the web seed was asked for nothing more; the seeder was never blamed.
    assert!((2..=3).contains(&s.hash_failures), "{s:?}");
    assert!(
        web.served() <= 3 * meta.info.piece_length,
        "{}",
        web.served()
    );
    assert_eq!(s.banned, 0);
    let [w] = &s.web_seeds[..] else {
        panic!("{:?}", s.web_seeds)
    };
    assert!(w.status.starts_with("given up"), "{w:?}");
    cancel.cancel();
    assert!(seeder.shutdown(Duration::from_secs(10)).await);
    assert!(leecher.shutdown(Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_web_seed_alone_is_given_up_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("www"),
        "x.bin",
        &[("", 300_000)],
        32 * 1024,
    );
    let web = RangeServer::start(
        &dir.path().join("www"),
        Behaviour {
            corrupt: true,
            ..Behaviour::default()
        },
    )
    .await
    .unwrap();
    let cancel = CancellationToken::new();
    let leecher = engine(&cancel, |c| c.ban_after_bad_pieces = 2).await;
    let meta = with_web_seeds(&meta, &[web.url("x.bin")]);
    let ih = leecher
        .add(add(&meta, &dir.path().join("leech"), vec![]))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let status = loop {
        let s = leecher.stats(ih).unwrap();
        if let Some(w) = s.web_seeds.first()
            && w.status.starts_with("given up")
        {
            break s;
        }
        assert!(tokio::time::Instant::now() < deadline, "{s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.pieces_have, 0);
    assert!((2..=3).contains(&status.hash_failures), "{status:?}");
    assert!(
        web.served() <= 3 * meta.info.piece_length,
        "{}",
        web.served()
    );
    assert_eq!(status.state, TorrentState::Downloading);
    let on_disk = fs::read(dir.path().join("leech/x.bin")).unwrap_or_default();
    assert!(
        on_disk.iter().all(|&b| b == 0),
        "a corrupt byte was written"
    );
    cancel.cancel();
    assert!(leecher.shutdown(Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_ranges_is_not_read_and_the_seeder_completes() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("seed"),
        "big.bin",
        &[("", 1_000_000)],
        32 * 1024,
    );
    let web = RangeServer::start(
        &dir.path().join("seed"),
        Behaviour {
            ignore_range: true,
            ..Behaviour::default()
        },
    )
    .await
    .unwrap();
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |_| {}).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let leecher = engine(&cancel, |_| {}).await;
    let meta = with_web_seeds(&meta, &[web.url("big.bin")]);
    let done = leech(
        &leecher,
        &meta,
        &dir.path().join("leech"),
        vec![seeder.listen_addr()],
    )
    .await;
    let s = leecher.stats(meta.info_hash).unwrap();
    assert!(done, "{s:?}");
    assert_eq!(
        fs::read(dir.path().join("leech/big.bin")).unwrap(),
        fs::read(dir.path().join("seed/big.bin")).unwrap()
    );
    // A whole file where a piece was asked for: refused before a byte of
    // its body is taken, so nothing reached the hash check.
    assert_eq!(s.hash_failures, 0);
    let [w] = &s.web_seeds[..] else {
        panic!("{:?}", s.web_seeds)
    };
    assert_eq!(w.downloaded, 0, "{w:?}");
    cancel.cancel();
    assert!(seeder.shutdown(Duration::from_secs(10)).await);
    assert!(leecher.shutdown(Duration::from_secs(10)).await);
}
