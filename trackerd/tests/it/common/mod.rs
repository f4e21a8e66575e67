//! Helpers for trackerd's integration tests: start a real server on port 0
//! with a temp database (SQLite, or PostgreSQL: see [`store`]), the one HTTP client ([`http`]), announce requests
//! and small torrents. No assertions about the server's behaviour here.
#![allow(dead_code, clippy::unwrap_used)]

pub mod api;
pub mod attack;
pub mod clients;
pub mod http;
pub mod old_db;
pub mod process;
pub mod store;
pub mod web;

pub use http::{Reply, Request, send_raw};

use std::net::SocketAddr;

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::{AnnounceRequest, Event, PeerId, percent_encode};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use trackerd::config::Config;
use trackerd::server::{self, Running};

/// A server running in this process; cancelled on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub token: CancellationToken,
    pub running: Option<Running>,
    pub dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

impl TestServer {
    /// Stops the server and waits for its final flush.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.token.cancel();
        if let Some(r) = self.running.take() {
            r.wait().await;
        }
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }
}

/// A config with its data in `dir`, on the store under test ([`store`]).
pub fn test_config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        database: store::database_url(dir).unwrap_or_default(),
        ..Config::default()
    }
}

pub async fn start(edit: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    start_in(dir, "127.0.0.1:0", edit).await
}

pub async fn start_in(
    dir: tempfile::TempDir,
    bind: &str,
    edit: impl FnOnce(&mut Config),
) -> TestServer {
    let mut config = test_config(dir.path());
    edit(&mut config);
    let listener = TcpListener::bind(bind).await.unwrap();
    let token = CancellationToken::new();
    let running = server::start(config, listener, token.clone())
        .await
        .unwrap();
    TestServer {
        addr: running.addr,
        token,
        running: Some(running),
        dir,
    }
}

/// `GET target`.
pub async fn get(addr: SocketAddr, target: &str) -> Reply {
    Request::get(target).send(addr).await
}

/// `POST target` with `body`.
pub async fn post(addr: SocketAddr, target: &str, body: &[u8]) -> Reply {
    Request::post(target, body).send(addr).await
}

pub fn hash(n: u8) -> InfoHash {
    InfoHash([n; 20])
}

pub fn peer(n: u32) -> PeerId {
    let mut b = *b"-TT0001-............";
    b[8..12].copy_from_slice(&n.to_be_bytes());
    PeerId(b)
}

/// An announce request for torrent `h` from peer `n` on port `port`.
pub fn req(h: InfoHash, n: u32, port: u16, left: u64, event: Event) -> AnnounceRequest {
    AnnounceRequest {
        info_hash: h,
        peer_id: peer(n),
        port,
        uploaded: 0,
        downloaded: 0,
        left,
        event,
        compact: true,
        numwant: None,
        no_peer_id: false,
        key: None,
        tracker_id: None,
        ip: None,
    }
}

pub async fn announce(addr: SocketAddr, r: &AnnounceRequest) -> Reply {
    get(addr, &format!("/announce?{}", r.to_query_string())).await
}

/// An announce with a user's passkey (`/announce/<passkey>`).
pub async fn passkey_announce(addr: SocketAddr, passkey: &str, r: &AnnounceRequest) -> Reply {
    get(
        addr,
        &format!("/announce/{passkey}?{}", r.to_query_string()),
    )
    .await
}

pub fn scrape_target(hashes: &[InfoHash]) -> String {
    let q: Vec<String> = hashes
        .iter()
        .map(|h| format!("info_hash={}", percent_encode(&h.0)))
        .collect();
    format!("/scrape?{}", q.join("&"))
}

/// Makes a small torrent announcing to `url`; returns (.torrent bytes, info-hash).
pub fn make_torrent(
    dir: &std::path::Path,
    name: &str,
    size: usize,
    url: &str,
) -> (Vec<u8>, InfoHash) {
    use p2p_proto::create::{Control, CreateOptions, create_torrent};
    use p2p_proto::metainfo::TorrentExtras;
    let path = dir.join(name);
    let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, data).unwrap();
    let opts = CreateOptions {
        piece_length: Some(16384),
        extras: TorrentExtras {
            trackers: vec![vec![url.to_owned()]],
            ..TorrentExtras::default()
        },
        ..CreateOptions::default()
    };
    let created = create_torrent(&path, &opts, &Control::default()).unwrap();
    (created.bytes, created.metainfo.info_hash)
}
