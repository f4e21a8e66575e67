//! Tracker client (BEP 3, BEP 12 tiers, BEP 23 compact peers) over http://
//! and https:// with the shared HTTP client, and over udp:// (BEP 15, in
//! [`udp`]): tries each tier in order and
//! each tracker of a tier in turn, moves a tracker that answered to the
//! front of its tier, and returns the peers it got.
//!
//! The query string is p2p-proto's, appended to the URL text as it is:
//! nothing here re-encodes the binary `info_hash`. Does not decide when to
//! announce (the torrent's manager does).

use std::fmt;
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::{AnnounceRequest, AnnounceResponse, Event, ResponseError};
use p2p_proto::wire::PeerId;

use crate::http_client::{self, BodyError, error_chain};

mod udp;

/// Time allowed for one announce, answer included.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest announce answer we read.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Peers we ask for.
const NUMWANT: u32 = 80;

/// Why one tracker's announce failed.
#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    /// Not an `http://`, `https://` or `udp://host:port` URL.
    #[error("unsupported tracker URL (http://, https:// and udp://host:port are supported)")]
    UnsupportedUrl,
    /// A UDP tracker's host name has no address.
    #[error("no address for {0}")]
    Resolve(String),
    /// Sending or receiving a UDP tracker's datagrams failed (e.g. the
    /// port is closed: connection refused).
    #[error("{0}")]
    Udp(std::io::Error),
    /// The tracker answered with a status other than 200.
    #[error("the tracker answered HTTP {0}")]
    Status(u16),
    /// No whole answer within [`ANNOUNCE_TIMEOUT`].
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Connecting, the TLS handshake, sending or receiving failed.
    #[error("{}", error_chain(.0))]
    Transport(reqwest::Error),
    /// The answer is larger than [`MAX_RESPONSE_BYTES`].
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    /// Not an announce response, or the tracker's `failure reason`.
    #[error(transparent)]
    Response(#[from] ResponseError),
}

impl From<reqwest::Error> for AnnounceError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            AnnounceError::Timeout(ANNOUNCE_TIMEOUT)
        } else {
            // The URL carries the whole query: the caller names the tracker.
            AnnounceError::Transport(e.without_url())
        }
    }
}

/// Every tracker failed; what each one said, in the order they were tried.
/// `Debug` shows what `Display` does: the URLs without their passkeys.
pub struct AnnounceFailed(pub Vec<(String, AnnounceError)>);

impl fmt::Debug for AnnounceFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AnnounceFailed({self})")
    }
}

impl fmt::Display for AnnounceFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no trackers");
        }
        for (i, (url, e)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {e}", without_passkey(url))?;
        }
        Ok(())
    }
}

/// A tracker URL fit for logs: the passkey of an `/announce/<passkey>` URL
/// (how a logged-in daemon announces) is a secret and is left out.
pub fn without_passkey(url: &str) -> String {
    const MARK: &str = "/announce/";
    let Some(at) = url.find(MARK) else {
        return url.to_owned();
    };
    let rest = &url[at + MARK.len()..];
    let end = rest.find(['?', '#', '/']).unwrap_or(rest.len());
    if end == 0 {
        return url.to_owned();
    }
    format!("{}{MARK}<passkey>{}", &url[..at], &rest[end..])
}

impl std::error::Error for AnnounceFailed {}

/// Progress figures sent with an announce.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
}

/// One torrent's trackers.
#[derive(Debug)]
pub struct Announcer {
    http: reqwest::Client,
    tiers: Vec<Vec<String>>,
    info_hash: InfoHash,
    peer_id: [u8; 20],
    port: u16,
    /// Sent as `key` (eight hex digits over HTTP, the number over UDP).
    key: u32,
    tracker_id: Option<Vec<u8>>,
    udp_ids: udp::ConnectionIds,
}

impl Announcer {
    /// Trackers in tiers; each tier is shuffled once, as BEP 12 asks.
    pub fn new(
        http: reqwest::Client,
        tiers: &[Vec<String>],
        info_hash: InfoHash,
        peer_id: [u8; 20],
        port: u16,
    ) -> Announcer {
        let mut tiers: Vec<Vec<String>> = tiers.iter().filter(|t| !t.is_empty()).cloned().collect();
        for tier in &mut tiers {
            for i in (1..tier.len()).rev() {
                let j = rand::random::<u64>() as usize % (i + 1);
                tier.swap(i, j);
            }
        }
        Announcer {
            http,
            tiers,
            info_hash,
            peer_id,
            port,
            key: rand::random(),
            tracker_id: None,
            udp_ids: udp::ConnectionIds::default(),
        }
    }

    /// Whether there is any tracker.
    pub fn is_empty(&self) -> bool {
        self.tiers.is_empty()
    }

    /// Announces to the first tracker that answers; the error lists what each said.
    pub async fn announce(
        &mut self,
        event: Event,
        progress: Progress,
    ) -> Result<AnnounceResponse, AnnounceFailed> {
        let request = AnnounceRequest {
            info_hash: self.info_hash,
            peer_id: PeerId(self.peer_id),
            port: self.port,
            uploaded: progress.uploaded,
            downloaded: progress.downloaded,
            left: progress.left,
            event,
            compact: true,
            numwant: Some(NUMWANT),
            no_peer_id: true,
            key: Some(format!("{:08x}", self.key).into_bytes()),
            tracker_id: self.tracker_id.clone(),
            ip: None,
        };
        let query = request.to_query_string();
        let mut errors = Vec::new();
        for t in 0..self.tiers.len() {
            for u in 0..self.tiers[t].len() {
                let url = self.tiers[t][u].clone();
                let answer = if is_udp(&url) {
                    udp::announce(&mut self.udp_ids, &url, &request, self.key).await
                } else {
                    announce_one(&self.http, &url, &query).await
                };
                match answer {
                    Ok(response) => {
                        // BEP 12: a tracker that answered moves to the front of its tier.
                        let tier = &mut self.tiers[t];
                        let winner = tier.remove(u);
                        tier.insert(0, winner);
                        if response.tracker_id.is_some() {
                            self.tracker_id = response.tracker_id.clone();
                        }
                        return Ok(response);
                    }
                    Err(e) => errors.push((url, e)),
                }
            }
        }
        Err(AnnounceFailed(errors))
    }
}

/// Whether `url` names a UDP tracker.
fn is_udp(url: &str) -> bool {
    url.get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("udp://"))
}

/// One announce to one tracker: `url` plus `query` appended as text.
async fn announce_one(
    http: &reqwest::Client,
    url: &str,
    query: &str,
) -> Result<AnnounceResponse, AnnounceError> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(AnnounceError::UnsupportedUrl);
    }
    // A fragment would swallow the query; trackers never need one.
    let base = url.split('#').next().unwrap_or(url);
    let sep = if base.contains('?') { '&' } else { '?' };
    let full = format!("{base}{sep}{query}");
    let response = http.get(full).timeout(ANNOUNCE_TIMEOUT).send().await?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(AnnounceError::Status(status));
    }
    let body = http_client::read_capped(response, MAX_RESPONSE_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { max } => AnnounceError::TooLarge(max),
            BodyError::Read(e) => e.into(),
        })?;
    Ok(AnnounceResponse::from_bytes(&body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_tracker_but_never_the_passkey() {
        assert_eq!(
            without_passkey("https://t:6969/announce/0123abcd?x=1"),
            "https://t:6969/announce/<passkey>?x=1"
        );
        assert_eq!(without_passkey("http://t/announce"), "http://t/announce");
        let failed = AnnounceFailed(vec![(
            "http://t/announce/s3cr3tpasskey".into(),
            AnnounceError::Status(500),
        )]);
        let shown = failed.to_string();
        assert!(
            shown.starts_with("http://t/announce/<passkey>: ") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        let debug = format!("{failed:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }
    use crate::test_http::{response, serve_once};
    use p2p_proto::tracker::{AnnounceResponse, Peer};

    fn announcer(url: &str, info_hash: [u8; 20]) -> Announcer {
        Announcer::new(
            crate::http_client::build(None).unwrap(),
            &[vec![url.to_owned()]],
            InfoHash(info_hash),
            [b'-'; 20],
            6881,
        )
    }

    fn progress() -> Progress {
        Progress {
            uploaded: 0,
            downloaded: 0,
            left: 10,
        }
    }

    #[tokio::test]
    async fn the_binary_info_hash_reaches_the_tracker_exactly_as_proto_encoded_it() {
        let reply = AnnounceResponse {
            interval: 900,
            peers: vec![Peer {
                id: None,
                addr: "10.0.0.1:6881".parse().unwrap(),
            }],
            ..AnnounceResponse::default()
        }
        .encode(true, true);
        let server = serve_once(vec![response("200 OK", "text/plain", &reply)]).await;
        // Bytes a URL library would like to re-encode or decode.
        let mut ih = [0u8; 20];
        ih[..8].copy_from_slice(b"%2F+ ?#/");
        ih[8] = 0xff;
        let mut a = announcer(&format!("{}/announce?k=v", server.base()), ih);
        let got = a.announce(Event::Started, progress()).await.unwrap();
        assert_eq!(got.peers.len(), 1);
        let request = String::from_utf8(server.request().await).unwrap();
        let target = request.split(' ').nth(1).unwrap();
        let query = target.strip_prefix("/announce?k=v&").unwrap();
        let parsed = AnnounceRequest::parse(query.as_bytes()).unwrap();
        assert_eq!(parsed.info_hash, InfoHash(ih));
        assert_eq!(parsed.to_query_string(), query);
        assert!(
            query.contains("info_hash=%252F%2B%20%3F%23%2F%FF%00"),
            "{query}"
        );
    }

    #[tokio::test]
    async fn a_refusal_is_a_status_error_with_its_code_as_a_number() {
        let server = serve_once(vec![response("404 Not Found", "text/plain", b"no")]).await;
        let mut a = announcer(&format!("{}/announce", server.base()), [1; 20]);
        let err = a.announce(Event::None, progress()).await.unwrap_err();
        assert!(
            matches!(err.0[..], [(_, AnnounceError::Status(404))]),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_answer_over_the_cap_is_refused_unread() {
        let big = vec![b'x'; MAX_RESPONSE_BYTES + 1];
        let server = serve_once(vec![response("200 OK", "text/plain", &big)]).await;
        let mut a = announcer(&format!("{}/announce", server.base()), [1; 20]);
        let err = a.announce(Event::None, progress()).await.unwrap_err();
        assert!(
            matches!(err.0[..], [(_, AnnounceError::TooLarge(_))]),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_failure_reason_and_an_unsupported_scheme_say_what_they_are() {
        let reply = p2p_proto::tracker::failure_response("unregistered torrent");
        let server = serve_once(vec![response("200 OK", "text/plain", &reply)]).await;
        let mut a = Announcer::new(
            crate::http_client::build(None).unwrap(),
            &[
                vec!["wss://127.0.0.1:1/announce".to_owned()],
                vec![format!("{}/announce", server.base())],
            ],
            InfoHash([1; 20]),
            [b'-'; 20],
            6881,
        );
        let err = a.announce(Event::None, progress()).await.unwrap_err();
        assert!(
            matches!(
                err.0[..],
                [
                    (_, AnnounceError::UnsupportedUrl),
                    (_, AnnounceError::Response(ResponseError::Failure(_)))
                ]
            ),
            "{err}"
        );
        assert!(err.to_string().contains("unregistered torrent"), "{err}");
    }
}
