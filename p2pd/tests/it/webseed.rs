//! Web seeds (BEP 19) against a small HTTP/1.1 server with range support
//! on 127.0.0.1 (python's http.server has no ranges): downloads from the
//! web seed alone, single- and multi-file; alongside a seeder, each
//! sending part; and a web seed sending corrupt data, given up while the
//! seeder completes, or with no seeder, leaving nothing written.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use p2p_proto::metainfo::Metainfo;
use p2p_proto::percent::percent_decode;
use p2pd::engine::{Engine, TorrentState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::engine::{WAIT, add, engine, make_torrent, seed, sha1_tree};

/// Longest request head the server reads.
const MAX_HEAD: usize = 16 * 1024;

/// How the test server answers.
#[derive(Clone, Copy, Default)]
struct Behaviour {
    /// Every body byte inverted (right length, wrong data).
    corrupt: bool,
    /// Wait before each answer.
    delay: Duration,
}

/// A file server on 127.0.0.1 that honours `Range: bytes=A-B`; counts the
/// body bytes it sends.
struct WebServer {
    addr: SocketAddr,
    served: Arc<AtomicU64>,
}

impl WebServer {
    async fn start(root: &Path, behaviour: Behaviour) -> WebServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = Arc::new(AtomicU64::new(0));
        let (root, counter) = (root.to_path_buf(), served.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, root.clone(), behaviour, counter.clone()));
            }
        });
        WebServer { addr, served }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

/// Answers the requests of one keep-alive connection.
async fn serve(mut s: TcpStream, root: PathBuf, b: Behaviour, served: Arc<AtomicU64>) {
    let mut buf = Vec::new();
    loop {
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > MAX_HEAD {
                return;
            }
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let (status, headers, body) = answer(&head, &root, b);
        if !b.delay.is_zero() {
            tokio::time::sleep(b.delay).await;
        }
        // One write: a head and a body in two would meet Nagle and a
        // delayed ACK (40 ms a request).
        let mut out = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{headers}\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(&body);
        if s.write_all(&out).await.is_err() {
            return;
        }
        served.fetch_add(body.len() as u64, Ordering::Relaxed);
    }
}

/// Status line, extra headers and body for a request head.
fn answer(head: &str, root: &Path, b: Behaviour) -> (&'static str, String, Vec<u8>) {
    let not_found = ("404 Not Found", String::new(), b"no such file".to_vec());
    let mut lines = head.lines();
    let mut request = lines.next().unwrap_or("").split(' ');
    let (Some("GET"), Some(path)) = (request.next(), request.next()) else {
        return ("405 Method Not Allowed", String::new(), Vec::new());
    };
    let Ok(path) = percent_decode(path.as_bytes()).map(|p| String::from_utf8(p).unwrap()) else {
        return not_found;
    };
    if path.split('/').any(|c| c == "..") {
        return not_found;
    }
    let Ok(data) = fs::read(root.join(path.trim_start_matches('/'))) else {
        return not_found;
    };
    let range = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("range"))
        .and_then(|(_, v)| v.trim().strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, z)| Some((a.parse::<usize>().ok()?, z.parse::<usize>().ok()?)));
    let (status, headers, mut body) = match range {
        Some((a, z)) if a <= z && z < data.len() => (
            "206 Partial Content",
            format!("Content-Range: bytes {a}-{z}/{}\r\n", data.len()),
            data[a..=z].to_vec(),
        ),
        Some(_) => (
            "416 Range Not Satisfiable",
            format!("Content-Range: bytes */{}\r\n", data.len()),
            Vec::new(),
        ),
        None => ("200 OK", String::new(), data),
    };
    if b.corrupt {
        body.iter_mut().for_each(|x| *x = !*x);
    }
    (status, headers, body)
}

/// The torrent with web seeds added (outside the info dict: same info-hash).
fn with_web_seeds(meta: &Metainfo, urls: &[String]) -> Metainfo {
    let mut m = meta.clone();
    m.web_seeds = urls.to_vec();
    m
}

async fn leech(leecher: &Engine, meta: &Metainfo, dir: &Path, peers: Vec<SocketAddr>) -> bool {
    let ih = leecher.add(add(meta, dir, peers)).await.unwrap();
    leecher.wait_complete(ih, WAIT).await
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
    let web = WebServer::start(&dir.path().join("www"), Behaviour::default()).await;
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
    let web = WebServer::start(&dir.path().join("www"), Behaviour::default()).await;
    // BEP 19: base + '/' + name + path; the second URL answers 404.
    let meta = with_web_seeds(&meta, &[web.url("files"), web.url("missing/")]);
    let cancel = CancellationToken::new();
    let leecher = engine(&cancel, |_| {}).await;
    let done = leech(&leecher, &meta, &dir.path().join("leech"), vec![]).await;
    assert!(done, "{:?}", leecher.stats(meta.info_hash));
    assert_eq!(
        sha1_tree(&dir.path().join("leech")),
        sha1_tree(&dir.path().join("www/files"))
    );
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
    let web = WebServer::start(
        &dir.path().join("seed"),
        Behaviour {
            delay: Duration::from_millis(20),
            ..Behaviour::default()
        },
    )
    .await;
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
    let web = WebServer::start(
        &dir.path().join("seed"),
        Behaviour {
            corrupt: true,
            ..Behaviour::default()
        },
    )
    .await;
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
    let web = WebServer::start(
        &dir.path().join("www"),
        Behaviour {
            corrupt: true,
            ..Behaviour::default()
        },
    )
    .await;
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
