//! Helpers for the accounts, groups, catalog and events tests: JSON requests
//! with a bearer token (through [`super::http`]), users, private torrents, an
//! injected clock, and a server-sent-events reader.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use trackerd::accounts::clock::ManualClock;
use trackerd::community::Community;

use super::{Reply, Request, TestServer};

/// A Unix time far from the real clock, so tests never depend on it.
pub const T0: i64 = 1_900_000_000;

pub fn community(s: &TestServer) -> Arc<Community> {
    s.running.as_ref().unwrap().tracker.community.clone()
}

/// Replaces the server's clock with a manual one at [`T0`].
pub fn manual_clock(s: &TestServer) -> Arc<ManualClock> {
    let clock = Arc::new(ManualClock::new(T0));
    community(s).set_clock(clock.clone());
    clock
}

/// `method path` with a bearer token when given, and a body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> Reply {
    Request::new(method, path)
        .bearer(token)
        .body(body)
        .send(addr)
        .await
}

pub async fn post_json(addr: SocketAddr, path: &str, token: Option<&str>, body: Value) -> Reply {
    request(addr, "POST", path, token, body.to_string().as_bytes()).await
}

pub async fn get_auth(addr: SocketAddr, path: &str, token: &str) -> Reply {
    request(addr, "GET", path, Some(token), b"").await
}

/// The `{"error": {"code", "message"}}` of a refusal, checked for shape.
pub fn error(r: &Reply) -> (String, String) {
    let j = r.json();
    let code = j["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {j}"));
    let message = j["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {j}"));
    (code.to_owned(), message.to_owned())
}

pub const PASSWORD: &str = "correct horse battery";

pub async fn register(addr: SocketAddr, name: &str) {
    let r = post_json(
        addr,
        "/api/v1/register",
        None,
        json!({ "username": name, "password": PASSWORD }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Logs in; returns (token, passkey).
pub async fn login(addr: SocketAddr, name: &str) -> (String, String) {
    let r = post_json(
        addr,
        "/api/v1/login",
        None,
        json!({ "username": name, "password": PASSWORD }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    (
        j["token"].as_str().unwrap().to_owned(),
        j["passkey"].as_str().unwrap().to_owned(),
    )
}

/// Registers and logs in; returns (token, passkey).
pub async fn user(addr: SocketAddr, name: &str) -> (String, String) {
    register(addr, name).await;
    login(addr, name).await
}

/// Creates `group` owned by `owner` and brings each of `members` in.
pub async fn group_with(addr: SocketAddr, group: &str, owner: &str, members: &[&str]) {
    let r = post_json(
        addr,
        "/api/v1/groups",
        Some(owner),
        json!({ "name": group }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    for m in members {
        let r = post_json(
            addr,
            &format!("/api/v1/groups/{group}/join"),
            Some(m),
            json!({}),
        )
        .await;
        assert_eq!(r.status, 202, "{}", r.text());
        let name = username_of(addr, m).await;
        let r = post_json(
            addr,
            &format!("/api/v1/groups/{group}/requests/{name}/accept"),
            Some(owner),
            json!({}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

pub async fn username_of(addr: SocketAddr, token: &str) -> String {
    get_auth(addr, "/api/v1/whoami", token).await.json()["username"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A private torrent with `source` (as group torrents are made); (.torrent bytes, info-hash).
pub fn private_torrent(dir: &std::path::Path, name: &str, source: &str) -> (Vec<u8>, InfoHash) {
    use p2p_proto::create::{Control, CreateOptions, create_torrent};
    use p2p_proto::metainfo::TorrentExtras;
    let path = dir.join(name);
    let data: Vec<u8> = (0..30_000usize).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(&path, data).unwrap();
    let opts = CreateOptions {
        piece_length: Some(16384),
        private: true,
        source: Some(source.to_owned()),
        extras: TorrentExtras {
            trackers: vec![vec!["http://original.invalid/announce".to_owned()]],
            ..TorrentExtras::default()
        },
        ..CreateOptions::default()
    };
    let created = create_torrent(&path, &opts, &Control::default()).unwrap();
    (created.bytes, created.metainfo.info_hash)
}

/// A server-sent-events reader over a raw HTTP/1.1 connection (chunked body).
pub struct SseReader {
    stream: TcpStream,
    raw: Vec<u8>,
    body: Vec<u8>,
    head_done: bool,
    /// The last (zero-size) chunk came: the response is over, even if the
    /// server keeps the connection open.
    ended: bool,
    pub status: u16,
}

impl SseReader {
    pub async fn open(addr: SocketAddr, path: &str, token: &str) -> SseReader {
        let req = Request::get(path).bearer(Some(token));
        SseReader::open_request(addr, req).await
    }

    /// Opens a stream with a request of the caller's (cookies, `Last-Event-ID`).
    pub async fn open_request(addr: SocketAddr, req: Request) -> SseReader {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let req = req.header("Accept", "text/event-stream").keep_alive();
        stream.write_all(&req.to_bytes(addr)).await.unwrap();
        let mut r = SseReader {
            stream,
            raw: Vec::new(),
            body: Vec::new(),
            head_done: false,
            ended: false,
            status: 0,
        };
        while !r.head_done {
            assert!(r.fill().await, "connection closed before the head");
            r.parse();
        }
        r
    }

    /// Reads more bytes; false at end of stream.
    async fn fill(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut buf))
            .await
            .expect("stream produced data in time")
            .unwrap();
        self.raw.extend_from_slice(&buf[..n]);
        n > 0
    }

    /// Moves the head and whole chunks from `raw` to `body`.
    fn parse(&mut self) {
        if !self.head_done {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            self.status = String::from_utf8_lossy(&self.raw[9..12]).parse().unwrap();
            self.raw.drain(..end + 4);
            self.head_done = true;
        }
        loop {
            let Some(eol) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size =
                usize::from_str_radix(std::str::from_utf8(&self.raw[..eol]).unwrap().trim(), 16)
                    .unwrap();
            if self.raw.len() < eol + 2 + size + 2 {
                return;
            }
            if size == 0 {
                self.ended = true;
            }
            self.body
                .extend_from_slice(&self.raw[eol + 2..eol + 2 + size]);
            self.raw.drain(..eol + 2 + size + 2);
        }
    }

    /// The next event as (name, data), skipping comments; `None` at the end.
    pub async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.body.windows(2).position(|w| w == b"\n\n") {
                let block = String::from_utf8(self.body.drain(..end + 2).collect()).unwrap();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if block.lines().all(|l| l.starts_with(':') || l.is_empty()) {
                    continue;
                }
                return Some((name, data));
            }
            if self.ended || !self.fill().await {
                return None;
            }
            self.parse();
        }
    }

    /// The next event called `name`, skipping others.
    pub async fn next_named(&mut self, name: &str) -> Value {
        loop {
            let (n, data) = self
                .next()
                .await
                .unwrap_or_else(|| panic!("stream ended before {name}"));
            if n == name {
                return serde_json::from_str(&data).unwrap_or(Value::Null);
            }
        }
    }
}
