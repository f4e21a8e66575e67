//! The fast path's HTTP: recognises a complete, plain `GET /announce?...`,
//! `GET /announce/<passkey>?...` or `GET /scrape?...` HTTP/1.1 request head
//! at the start of a buffer, and writes the 200 response hyper would send
//! for it. Sans-io: no sockets, no clock, no tracker state.
//!
//! It only ever says "mine" or "not mine": anything unusual (another method,
//! path or HTTP version, a passkey that is not [`PASSKEY_LEN`] lowercase hex
//! digits, a body, an upgrade, a byte outside the plain URI and header
//! alphabets, too many headers, a head not complete yet) is left to hyper,
//! so malformed and hostile input keeps hyper's answers and limits. It must
//! not decide anything about the request beyond its shape: whether a
//! passkey is known is the tracker's question.

use crate::accounts::PASSKEY_LEN;

/// Longest head the fast path takes (hyper's limit is at least 8 KiB).
pub const MAX_FAST_HEAD_BYTES: usize = 4096;
/// Most header lines the fast path takes (hyper's limit is 64).
pub const MAX_FAST_HEADERS: usize = 32;

/// Which tracker endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// `GET /announce` (BEP 3), or `GET /announce/<passkey>` with the
    /// passkey of a user (its shape checked, not whether it is known).
    Announce {
        /// The passkey of the URL, if it has one.
        passkey: Option<&'a str>,
    },
    /// `GET /scrape` (BEP 48).
    Scrape,
}

/// A request the fast path answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastRequest<'a> {
    /// The endpoint.
    pub endpoint: Endpoint<'a>,
    /// The raw query string, without `?` (empty when there is none).
    pub query: &'a [u8],
    /// The client asked to close the connection after the reply.
    pub close: bool,
    /// The value of the last `X-Forwarded-For` header line, if any: what
    /// a trusted proxy says of the client (see `http::peer_addr`).
    pub forwarded_for: Option<&'a [u8]>,
    /// Bytes of the head, final blank line included.
    pub head_len: usize,
}

/// A 256-entry membership table: alphanumerics plus `extra`.
const fn alnum_and(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

/// RFC 3986 `pchar`, `/` and `?`: bytes that hyper (httparse and the `http`
/// URI parser) accept as they are in a query.
static PLAIN_QUERY: [bool; 256] = alnum_and(b"-._~%!$&'()*+,;=:@/?");
/// RFC 9110 `tchar`.
static TOKEN: [bool; 256] = alnum_and(b"!#$%&'*+-.^_`|~");

fn is_plain_query_byte(b: u8) -> bool {
    PLAIN_QUERY[usize::from(b)]
}

fn is_token_byte(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// Visible ASCII, space, tab and obs-text: what httparse accepts in a value.
fn is_value_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Whether a comma-separated header value holds `token` (any case).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token))
}

/// The passkey of a `/announce/<passkey>` path: exactly [`PASSKEY_LEN`]
/// lowercase hex digits, the shape every passkey is made with (anything
/// else, percent-encoded bytes included, is hyper's to decode).
fn passkey_of(path: &[u8]) -> Option<&str> {
    let key = path.strip_prefix(b"/announce/")?;
    if key.len() != PASSKEY_LEN || !key.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    std::str::from_utf8(key).ok()
}

/// The fast-path request at the start of `buf`, if there is one.
pub fn parse(buf: &[u8]) -> Option<FastRequest<'_>> {
    let buf = &buf[..buf.len().min(MAX_FAST_HEAD_BYTES)];
    let rest = buf.strip_prefix(b"GET ")?;
    let target_len = rest.iter().position(|&b| b == b' ')?;
    let (target, rest) = rest.split_at(target_len);
    let mut rest = rest.strip_prefix(b" HTTP/1.1\r\n")?;
    let (path, query) = match target.iter().position(|&b| b == b'?') {
        Some(q) => (&target[..q], &target[q + 1..]),
        None => (target, &target[target.len()..]),
    };
    let endpoint = match path {
        b"/announce" => Endpoint::Announce { passkey: None },
        b"/scrape" => Endpoint::Scrape,
        _ => Endpoint::Announce {
            passkey: Some(passkey_of(path)?),
        },
    };
    if !query.iter().all(|&b| is_plain_query_byte(b)) {
        return None;
    }
    let mut close = false;
    let mut forwarded_for = None;
    for _ in 0..=MAX_FAST_HEADERS {
        if let Some(after) = rest.strip_prefix(b"\r\n") {
            return Some(FastRequest {
                endpoint,
                query,
                close,
                forwarded_for,
                head_len: buf.len() - after.len(),
            });
        }
        let end = rest.iter().position(|&b| b == b'\n')?;
        // A bare `\n` ends the line here; a stray `\r` fails the byte checks.
        let line = rest[..end].strip_suffix(b"\r")?;
        rest = &rest[end + 1..];
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty()
            || !name.iter().all(|&b| is_token_byte(b))
            || !value.iter().all(|&b| is_value_byte(b))
        {
            return None;
        }
        if name.eq_ignore_ascii_case(b"connection") {
            if has_token(value, b"upgrade") {
                return None;
            }
            close |= has_token(value, b"close");
        } else if name.eq_ignore_ascii_case(b"x-forwarded-for") {
            forwarded_for = Some(value);
        } else if [
            &b"content-length"[..],
            b"transfer-encoding",
            b"upgrade",
            b"expect",
        ]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
        {
            return None;
        }
    }
    None
}

/// Appends the HTTP/1.1 200 response hyper and axum send for a bencoded
/// body (`date` is an IMF-fixdate, see [`super::date`]).
pub fn write_response(out: &mut Vec<u8>, body: &[u8], close: bool, date: &[u8]) {
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    if close {
        out.extend_from_slice(b"\r\nconnection: close");
    }
    out.extend_from_slice(b"\r\ndate: ");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANNOUNCE: &[u8] =
        b"GET /announce?info_hash=%01%02&port=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: x/1.0\r\n\r\n";
    const PASSKEY: &str = "0123456789abcdef0123456789abcdef";
    const PASSKEY_ANNOUNCE: &[u8] = b"GET /announce/0123456789abcdef0123456789abcdef?info_hash=%01%02&port=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: x/1.0\r\n\r\n";

    #[test]
    fn the_test_passkey_has_the_length_of_a_real_one() {
        assert_eq!(PASSKEY.len(), PASSKEY_LEN);
    }

    #[test]
    fn a_plain_announce_and_scrape_are_recognised_with_their_query_and_head_length() {
        let r = parse(ANNOUNCE).unwrap();
        assert_eq!(r.endpoint, Endpoint::Announce { passkey: None });
        assert_eq!(r.query, b"info_hash=%01%02&port=1");
        assert!(!r.close);
        assert_eq!(r.head_len, ANNOUNCE.len());
        let r = parse(b"GET /scrape HTTP/1.1\r\n\r\nGET /next").unwrap();
        assert_eq!(
            (r.endpoint, r.query, r.head_len),
            (Endpoint::Scrape, &b""[..], 24)
        );
        let r = parse(b"GET /scrape? HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(r.query, b"");
    }

    #[test]
    fn a_passkey_announce_is_recognised_with_its_passkey_query_and_head_length() {
        let r = parse(PASSKEY_ANNOUNCE).unwrap();
        assert_eq!(
            r.endpoint,
            Endpoint::Announce {
                passkey: Some(PASSKEY)
            }
        );
        assert_eq!(r.query, b"info_hash=%01%02&port=1");
        assert!(!r.close);
        assert_eq!(r.head_len, PASSKEY_ANNOUNCE.len());
        let head = format!("GET /announce/{PASSKEY} HTTP/1.1\r\nConnection: close\r\n\r\nGET /x");
        let r = parse(head.as_bytes()).unwrap();
        assert_eq!(r.query, b"");
        assert!(r.close);
        assert_eq!(r.head_len, head.len() - "GET /x".len());
    }

    #[test]
    fn every_prefix_of_a_request_is_left_to_hyper() {
        for request in [ANNOUNCE, PASSKEY_ANNOUNCE] {
            for n in 0..request.len() {
                assert_eq!(parse(&request[..n]), None, "{n} bytes");
            }
        }
    }

    #[test]
    fn a_complete_head_is_recognised_whatever_part_of_the_next_request_follows_it() {
        for request in [ANNOUNCE, PASSKEY_ANNOUNCE] {
            let whole = parse(request).unwrap();
            for n in 0..=request.len() {
                let mut two = request.to_vec();
                two.extend_from_slice(&request[..n]);
                assert_eq!(parse(&two), Some(whole), "{n} bytes of the next request");
                assert_eq!(parse(&two[whole.head_len..]).is_some(), n == request.len());
            }
        }
    }

    #[test]
    fn an_odd_passkey_is_left_to_hyper() {
        let upper = PASSKEY.to_ascii_uppercase();
        let encoded: String = PASSKEY.bytes().map(|b| format!("%{b:02x}")).collect();
        let odd = [
            String::new(),
            PASSKEY[1..].to_owned(),
            format!("{PASSKEY}0"),
            upper,
            format!("{}g", &PASSKEY[1..]),
            format!("%61{}", &PASSKEY[1..]),
            encoded,
            format!("{PASSKEY}/"),
            format!("/{PASSKEY}"),
            format!("{PASSKEY}/scrape"),
            format!("{}..", &PASSKEY[2..]),
            format!("{}\u{e9}", &PASSKEY[2..]),
            format!("{} ", &PASSKEY[1..]),
        ];
        for key in odd {
            let head = format!("GET /announce/{key}?port=1 HTTP/1.1\r\nHost: t\r\n\r\n");
            assert_eq!(parse(head.as_bytes()), None, "{key:?}");
        }
        assert_eq!(
            parse(format!("GET /scrape/{PASSKEY} HTTP/1.1\r\n\r\n").as_bytes()),
            None
        );
    }

    #[test]
    fn connection_close_is_honoured_in_any_case_and_list_position() {
        for v in ["close", "Close", " keep-alive, CLOSE "] {
            let head = format!("GET /announce HTTP/1.1\r\nConnection:{v}\r\n\r\n");
            assert!(parse(head.as_bytes()).unwrap().close, "{v}");
        }
        let head = b"GET /announce HTTP/1.1\r\nConnection: keep-alive\r\n\r\n";
        assert!(!parse(head).unwrap().close);
    }

    #[test]
    fn anything_unusual_is_left_to_hyper() {
        let odd: &[&[u8]] = &[
            b"HEAD /announce HTTP/1.1\r\n\r\n",
            b"get /announce HTTP/1.1\r\n\r\n",
            b"GET /announce HTTP/1.0\r\n\r\n",
            b"GET /announce/ HTTP/1.1\r\n\r\n",
            b"GET /health HTTP/1.1\r\n\r\n",
            b"GET http://t/announce HTTP/1.1\r\n\r\n",
            b"GET /announce?a=\xff HTTP/1.1\r\n\r\n",
            b"GET /announce?a=<b> HTTP/1.1\r\n\r\n",
            b"GET /announce?a#b HTTP/1.1\r\n\r\n",
            b"GET /announce  HTTP/1.1\r\n\r\n",
            b"GET /announce HTTP/1.1\n\n",
            b"GET /announce HTTP/1.1\r\nHost: t\n\r\n",
            b"GET /announce HTTP/1.1\r\nHost : t\r\n\r\n",
            b"GET /announce HTTP/1.1\r\n: t\r\n\r\n",
            b"GET /announce HTTP/1.1\r\nHost t\r\n\r\n",
            b"GET /announce HTTP/1.1\r\n folded\r\n\r\n",
            b"GET /announce HTTP/1.1\r\nX: a\x01b\r\n\r\n",
            b"GET /announce HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            b"GET /announce HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET /announce HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            b"GET /announce HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
        ];
        for head in odd {
            assert_eq!(parse(head), None, "{:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn too_many_headers_or_too_long_a_head_is_left_to_hyper() {
        let many: String = (0..=MAX_FAST_HEADERS)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect();
        let head = format!("GET /announce HTTP/1.1\r\n{many}\r\n");
        assert_eq!(parse(head.as_bytes()), None);
        let fewer: String = (0..MAX_FAST_HEADERS)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect();
        let head = format!("GET /announce HTTP/1.1\r\n{fewer}\r\n");
        assert!(parse(head.as_bytes()).is_some());
        let long = format!(
            "GET /announce?{} HTTP/1.1\r\n\r\n",
            "a".repeat(MAX_FAST_HEAD_BYTES)
        );
        assert_eq!(parse(long.as_bytes()), None);
    }

    #[test]
    fn obs_text_in_a_header_value_is_accepted_like_httparse_does() {
        assert!(parse(b"GET /scrape HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n").is_some());
    }

    #[test]
    fn responses_carry_hyper_and_axum_headers() {
        let mut out = Vec::new();
        let date = b"Sun, 06 Nov 1994 08:49:37 GMT";
        write_response(&mut out, b"de", false, date);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\nde"
        );
        out.clear();
        write_response(&mut out, b"de", true, date);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\nde"
        );
    }
}
