//! The tests' one HTTP/1.1 client. [`Request`] builds a request (method,
//! target, headers, body) into the exact bytes sent; [`Request::send`]
//! sends it on a fresh connection and reads the reply (async), and
//! [`Request::send_blocking`] does the same from a plain thread (tests that
//! drive the binary). Tests that need bytes no client would send (hostile
//! input) hand them to [`send_raw`] or [`exchange`]. It checks nothing
//! about the server's answer beyond finding a head: assertions belong to
//! the tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use p2p_proto::tracker::AnnounceResponse;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest wait for a whole reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// A request to build and send. The head always has `Host` (the address
/// it is sent to) and, unless [`Request::keep_alive`], `Connection: close`;
/// `Content-Length` is added for a body or a method other than GET, unless
/// the test set one itself.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

impl Request {
    /// `method target` with no body.
    pub fn new(method: &str, target: &str) -> Request {
        Request {
            method: method.to_owned(),
            target: target.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            close: true,
        }
    }

    /// `GET target`.
    pub fn get(target: &str) -> Request {
        Request::new("GET", target)
    }

    /// `POST target` with `body`.
    pub fn post(target: &str, body: &[u8]) -> Request {
        Request::new("POST", target).body(body)
    }

    /// Adds a header line.
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds `Authorization: Bearer token` when there is a token.
    pub fn bearer(self, token: Option<&str>) -> Request {
        match token {
            Some(t) => self.header("Authorization", &format!("Bearer {t}")),
            None => self,
        }
    }

    /// Sets the body.
    pub fn body(mut self, body: &[u8]) -> Request {
        self.body = body.to_vec();
        self
    }

    /// Leaves out `Connection: close`: the connection stays open after the reply.
    pub fn keep_alive(mut self) -> Request {
        self.close = false;
        self
    }

    /// The bytes of the request as sent to `addr`.
    pub fn to_bytes(&self, addr: SocketAddr) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {addr}\r\n",
            self.method, self.target
        );
        if self.close {
            head.push_str("Connection: close\r\n");
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let has_length = self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
        if !has_length && (!self.body.is_empty() || self.method != "GET") {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Sends the request on a new connection and reads the reply until the
    /// server closes (see [`exchange`]).
    pub async fn send(&self, addr: SocketAddr) -> Reply {
        let reply = exchange(addr, &self.to_bytes(addr)).await;
        assert!(
            has_head(&reply),
            "{} {:.120}: no reply ({} bytes)",
            self.method,
            self.target,
            reply.len()
        );
        parse_reply(&reply)
    }

    /// [`Request::send`] from the loopback address `local` (any of
    /// 127.0.0.0/8 on Linux), so the server sees another client address.
    pub async fn send_from(&self, addr: SocketAddr, local: std::net::IpAddr) -> Reply {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(local, 0)).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let reply = exchange_on(stream, &self.to_bytes(addr)).await;
        assert!(
            has_head(&reply),
            "no reply from {local} ({} bytes)",
            reply.len()
        );
        parse_reply(&reply)
    }

    /// [`Request::send`] from a plain thread; `Err` when the connection
    /// fails or the reply is cut short (the server is gone).
    pub fn send_blocking(&self, addr: SocketAddr) -> std::io::Result<Reply> {
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(REPLY_TIMEOUT))?;
        s.write_all(&self.to_bytes(addr))?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)?;
        if !has_head(&buf) || buf.len() < 12 {
            return Err(std::io::Error::other("truncated reply"));
        }
        Ok(parse_reply(&buf))
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

    /// The value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn has_head(buf: &[u8]) -> bool {
    buf.windows(4).any(|w| w == b"\r\n\r\n")
}

/// Writes `request` on a new connection while reading everything the
/// server sends until it closes, resets or [`REPLY_TIMEOUT`] passes; returns
/// the bytes read. The writer runs apart, so a server that answers before
/// reading a whole body (413, 401) and closes is read, not a write error.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    exchange_on(TcpStream::connect(addr).await.unwrap(), request).await
}

/// [`exchange`] on a connected stream.
async fn exchange_on(s: TcpStream, request: &[u8]) -> Vec<u8> {
    let (mut rd, mut wr) = s.into_split();
    let request = request.to_vec();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&request).await;
        wr
    });
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let _ = tokio::time::timeout(REPLY_TIMEOUT, async {
        loop {
            match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    writer.abort();
    buf
}

/// Sends exact bytes (input no client would send) and parses the reply.
pub async fn send_raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let reply = exchange(addr, request).await;
    assert!(has_head(&reply), "no reply ({} bytes)", reply.len());
    parse_reply(&reply)
}

/// Reads one whole reply (head and `content-length` body) from a
/// keep-alive connection.
pub async fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let reply = parse_reply(&buf);
            let len: usize = reply
                .header("content-length")
                .map_or(0, |v| v.parse().unwrap());
            if buf.len() >= end + 4 + len {
                let mut reply = reply;
                reply.body.truncate(len);
                return reply;
            }
        }
        let n = tokio::time::timeout(REPLY_TIMEOUT, stream.read(&mut chunk))
            .await
            .expect("the server answered in time")
            .unwrap();
        assert!(n > 0, "connection closed mid-reply");
        buf.extend_from_slice(&chunk[..n]);
    }
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
