//! Test support: a one-request HTTP server on 127.0.0.1:0 that records the
//! request it gets and answers with canned bytes, written piece by piece so
//! readers meet every kind of chunking. Compiled for unit tests only.

#![allow(clippy::unwrap_used)] // test support, like tests, may unwrap

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A server that answers one request.
#[derive(Debug)]
pub(crate) struct OneShot {
    /// Where it listens.
    pub addr: SocketAddr,
    request: oneshot::Receiver<Vec<u8>>,
}

impl OneShot {
    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request it got (head and body).
    pub async fn request(self) -> Vec<u8> {
        self.request.await.unwrap()
    }
}

/// Answers one request with `pieces`, each written on its own, then closes.
pub(crate) async fn serve_once(pieces: Vec<Vec<u8>>) -> OneShot {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = conn.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
            if n == 0 || complete(&got) {
                break;
            }
        }
        let _ = tx.send(got);
        for piece in pieces {
            if conn.write_all(&piece).await.is_err() {
                return;
            }
            let _ = conn.flush().await;
            tokio::task::yield_now().await;
        }
    });
    OneShot { addr, request: rx }
}

/// A whole response with a `Content-Length`.
pub(crate) fn response(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn complete(request: &[u8]) -> bool {
    let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    request.len() >= end + 4 + length
}
