//! Helpers for trackerd's integration tests: start a real server on port 0
//! with a temp database, and speak raw HTTP/1.1 over TCP.
#![allow(dead_code, clippy::unwrap_used)]

pub mod api;
pub mod clients;
pub mod process;

use std::net::SocketAddr;
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::{AnnounceRequest, AnnounceResponse, Event, PeerId, percent_encode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
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

pub fn test_config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
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

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
    pub fn announce(&self) -> AnnounceResponse {
        assert_eq!(self.status, 200);
        AnnounceResponse::from_bytes(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
    /// The failure reason of a bencoded refusal.
    pub fn failure(&self) -> String {
        assert_eq!(self.status, 200, "failures are HTTP 200");
        let v = p2p_proto::bencode::decode(&self.body).unwrap();
        let r = v
            .get("failure reason")
            .unwrap_or_else(|| panic!("no failure: {}", self.text()));
        String::from_utf8(r.as_bytes().unwrap().to_vec()).unwrap()
    }
}

/// Sends raw bytes, reads until the server closes (bounded), parses.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .expect("server answered in time")
        .unwrap();
    parse_reply(&buf)
}

pub fn parse_reply(buf: &[u8]) -> Reply {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head[9..12].parse().unwrap();
    Reply {
        status,
        head,
        body: buf[split + 4..].to_vec(),
    }
}

/// `GET target` with `Connection: close` and extra header lines.
pub async fn get_with(addr: SocketAddr, target: &str, headers: &str) -> Reply {
    let req = format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}\r\n");
    raw(addr, req.as_bytes()).await
}

pub async fn get(addr: SocketAddr, target: &str) -> Reply {
    get_with(addr, target, "").await
}

pub async fn post(addr: SocketAddr, target: &str, body: &[u8]) -> Reply {
    let mut req = format!(
        "POST {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    raw(addr, &req).await
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
