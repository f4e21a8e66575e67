//! A minimal HTTP/1.1 GET client for tracker announces over plain `http://`.
//! Bounded: response size capped, whole exchange under a timeout. HTTPS
//! trackers are not supported yet and fail with a clear error.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response body we accept from a tracker.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Not an `http://host[:port]/path` URL.
    #[error("unsupported tracker URL {0:?} (only http:// is supported)")]
    BadUrl(String),
    /// Connecting, sending or receiving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Not a 200 answer, or not HTTP.
    #[error("bad HTTP response: {0}")]
    Response(String),
}

/// The parts of an `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80 by default).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path_and_query: String,
}

impl HttpUrl {
    /// Parses `http://host[:port][/path[?query]]`.
    pub fn parse(url: &str) -> Result<HttpUrl, HttpError> {
        let bad = || HttpError::BadUrl(url.chars().take(200).collect());
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad())?,
                None if after.is_empty() => 80,
                None => return Err(bad()),
            };
            (h.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad())?),
                None => (authority.to_owned(), 80),
            }
        };
        if host.is_empty() || authority.contains('@') {
            return Err(bad());
        }
        Ok(HttpUrl {
            host,
            port,
            path_and_query: path,
        })
    }
}

/// GETs `path_and_query` from `url`'s host and returns the body of a 200 answer.
pub async fn get(url: &HttpUrl, timeout: Duration) -> Result<Vec<u8>, HttpError> {
    match request(url, "GET", None, None, timeout).await? {
        (200, body) => Ok(body),
        (status, _) => Err(HttpError::Response(format!("status {status}"))),
    }
}

/// Sends one request (`Connection: close`) and returns the status and body,
/// whatever the status. `bearer` is sent as `Authorization: Bearer`, `body`
/// as JSON.
pub async fn request(
    url: &HttpUrl,
    method: &str,
    bearer: Option<&str>,
    body: Option<&[u8]>,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), HttpError> {
    let exchange = async {
        let mut stream = TcpStream::connect((url.host.as_str(), url.port)).await?;
        let mut head = request_head(url, method, bearer);
        if let Some(b) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("Connection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await?;
        if let Some(b) = body {
            stream.write_all(b).await?;
        }
        let mut raw = Vec::new();
        let mut limited = (&mut stream).take((MAX_RESPONSE_BYTES + 16 * 1024) as u64);
        limited.read_to_end(&mut raw).await?;
        parse_response_with_status(&raw)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
}

/// Opens a long-lived GET (a server-sent events stream) and returns the
/// connection once a 200 head has arrived, with any body bytes read past it.
pub async fn open_stream(
    url: &HttpUrl,
    bearer: Option<&str>,
    timeout: Duration,
) -> Result<(TcpStream, Vec<u8>, bool), HttpError> {
    let open = async {
        let mut stream = TcpStream::connect((url.host.as_str(), url.port)).await?;
        let mut head = request_head(url, "GET", bearer);
        head.push_str("Accept: text/event-stream\r\n\r\n");
        stream.write_all(head.as_bytes()).await?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        let end = loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Err(HttpError::Response(
                    "closed before the response head".into(),
                ));
            }
            raw.extend_from_slice(&buf[..n]);
            if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if raw.len() > 16 * 1024 {
                return Err(HttpError::Response("response head too long".into()));
            }
        };
        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
        let status = head
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        if status != "200" {
            return Err(HttpError::Response(format!("status {status}")));
        }
        let chunked = head.contains("transfer-encoding: chunked");
        Ok((stream, raw[end + 4..].to_vec(), chunked))
    };
    tokio::time::timeout(timeout, open)
        .await
        .map_err(|_| HttpError::Timeout(timeout))?
}

fn request_head(url: &HttpUrl, method: &str, bearer: Option<&str>) -> String {
    let host_header = if url.host.contains(':') {
        format!("[{}]:{}", url.host, url.port)
    } else {
        format!("{}:{}", url.host, url.port)
    };
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: p2p/{}\r\nAccept-Encoding: identity\r\n",
        url.path_and_query,
        env!("CARGO_PKG_VERSION")
    );
    if let Some(token) = bearer {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    head
}

/// Like [`parse_response_with_status`] but only a 200 answer is a success.
#[cfg(test)]
pub fn parse_response(raw: &[u8]) -> Result<Vec<u8>, HttpError> {
    match parse_response_with_status(raw)? {
        (200, body) => Ok(body),
        (status, _) => Err(HttpError::Response(format!("status {status}"))),
    }
}

/// Splits a whole HTTP/1.x response into status and body; handles
/// Content-Length, chunked and close-delimited bodies.
pub fn parse_response_with_status(raw: &[u8]) -> Result<(u16, Vec<u8>), HttpError> {
    let bad = |why: &str| HttpError::Response(why.to_owned());
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| bad("headers are not UTF-8"))?;
    let body = &raw[head_end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let mut parts = status.split_whitespace();
    let (version, code) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if !version.starts_with("HTTP/1.") {
        return Err(bad("not an HTTP/1 response"));
    }
    let code: u16 = code.parse().map_err(|_| bad("bad status code"))?;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                content_length = Some(v.parse::<usize>().map_err(|_| bad("bad Content-Length"))?);
            } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    if chunked {
        return dechunk(body).map(|b| (code, b));
    }
    let body = match content_length {
        Some(n) if n > MAX_RESPONSE_BYTES => return Err(bad("body too large")),
        Some(n) if body.len() < n => return Err(bad("body shorter than Content-Length")),
        Some(n) => body[..n].to_vec(),
        None if body.len() > MAX_RESPONSE_BYTES => return Err(bad("body too large")),
        None => body.to_vec(),
    };
    Ok((code, body))
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, HttpError> {
    let bad = |why: &str| HttpError::Response(why.to_owned());
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("truncated chunk"))?;
        let size_text =
            std::str::from_utf8(&body[..line_end]).map_err(|_| bad("bad chunk size"))?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if size > body.len() || out.len() + size > MAX_RESPONSE_BYTES {
            return Err(bad("truncated or oversized chunk"));
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).ok_or_else(|| bad("truncated chunk"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_ports_paths_queries_and_ipv6_parse() {
        let u = HttpUrl::parse("http://127.0.0.1:6969/announce/abc?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path_and_query.as_str()),
            ("127.0.0.1", 6969, "/announce/abc?x=1")
        );
        let u = HttpUrl::parse("http://[::1]:80").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path_and_query.as_str()),
            ("::1", 80, "/")
        );
        assert_eq!(
            HttpUrl::parse("http://t.example?k=v")
                .unwrap()
                .path_and_query,
            "/?k=v"
        );
        for bad in [
            "https://t/",
            "udp://t:1",
            "http://",
            "http://h:99999/",
            "http://u@h/",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bodies_by_length_chunks_and_close_are_read() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(parse_response(r).unwrap(), b"abc");
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(r).unwrap(), b"abcde");
        let r = b"HTTP/1.0 200 OK\r\n\r\nall";
        assert_eq!(parse_response(r).unwrap(), b"all");
        assert!(
            matches!(parse_response(b"HTTP/1.1 404 Not Found\r\n\r\n"), Err(HttpError::Response(m)) if m.contains("404"))
        );
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").is_err());
        assert!(parse_response(b"garbage").is_err());
    }
}
