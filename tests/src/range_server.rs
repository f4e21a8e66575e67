//! A static file server for web seed tests (BEP 19): HTTP/1.1 on
//! 127.0.0.1 with an OS-assigned port, keep-alive, `Range: bytes=A-B`
//! answered with 206 and `Content-Range` (python's http.server ignores
//! ranges), a count of the body bytes sent, and faults on demand:
//! corrupt bodies, a delay before each answer, ranges ignored. For tests only: it
//! reads whole files into memory and knows one range form.
//!
//! Shared by p2pd's own tests (included there by path) and the
//! end-to-end tests.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use p2p_proto::percent::percent_decode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Longest request head the server reads.
const MAX_HEAD: usize = 16 * 1024;

/// How the test server answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Behaviour {
    /// Every body byte inverted (right length, wrong data).
    pub corrupt: bool,
    /// Wait before each answer.
    pub delay: Duration,
    /// Answer every request with the whole file (200), as a server
    /// without range support does.
    pub ignore_range: bool,
}

/// A file server on 127.0.0.1 that honours `Range: bytes=A-B`; counts the
/// body bytes it sends. It stops with the runtime that started it.
#[derive(Debug)]
pub struct RangeServer {
    /// Where it listens.
    pub addr: SocketAddr,
    served: Arc<AtomicU64>,
}

impl RangeServer {
    /// Serves the files below `root` from a task of the current runtime.
    pub async fn start(root: &Path, behaviour: Behaviour) -> std::io::Result<RangeServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let served = Arc::new(AtomicU64::new(0));
        let (root, counter) = (root.to_path_buf(), served.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, root.clone(), behaviour, counter.clone()));
            }
        });
        Ok(RangeServer { addr, served })
    }

    /// The URL of `path` (below the root) on it.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    /// Body bytes sent so far.
    pub fn served(&self) -> u64 {
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
    let Some(path) = percent_decode(path.as_bytes())
        .ok()
        .and_then(|p| String::from_utf8(p).ok())
    else {
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
    let (status, headers, mut body) = match range.filter(|_| !b.ignore_range) {
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
