//! Announces over UDP (BEP 15): a connection id first (kept for a minute
//! per tracker address, as the BEP allows), then the announce, each request
//! sent again after 2, 4 and 8 s without an answer. BEP 15's own schedule
//! (15 s, then doubling up to an hour) would hold a tier's next tracker back
//! for minutes; a whole exchange here stays inside the 15 s an HTTP
//! announce gets. The URL's path and query travel as BEP 41 URL data, so a
//! passkey in `udp://host:port/announce/<passkey>` reaches the tracker.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use p2p_proto::tracker::udp::{MAX_URL_DATA_BYTES, UdpAnnounce, UdpRequest, UdpResponse};
use p2p_proto::tracker::{AnnounceRequest, AnnounceResponse, ResponseError};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::{ANNOUNCE_TIMEOUT, AnnounceError};

/// Wait for the first answer; doubled at each resend.
const FIRST_WAIT: Duration = Duration::from_secs(2);
/// How long a connection id is used (BEP 15: a client may for a minute).
const CONNECTION_ID_LIFE: Duration = Duration::from_secs(60);
/// Largest datagram read (an answer with 74 IPv6 peers is 1,352 bytes).
const MAX_DATAGRAM: usize = 2048;

/// Connection ids of the trackers one torrent announced to.
#[derive(Debug, Default)]
pub(super) struct ConnectionIds(HashMap<SocketAddr, (u64, Instant)>);

/// One announce to the UDP tracker at `url`.
pub(super) async fn announce(
    ids: &mut ConnectionIds,
    url: &str,
    request: &AnnounceRequest,
    key: u32,
) -> Result<AnnounceResponse, AnnounceError> {
    let deadline = Instant::now() + ANNOUNCE_TIMEOUT;
    let (host, port, url_data) = parse(url)?;
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(AnnounceError::Udp)?
        .next()
        .ok_or_else(|| AnnounceError::Resolve(host.clone()))?;
    let any: IpAddr = if addr.is_ipv6() {
        Ipv6Addr::UNSPECIFIED.into()
    } else {
        Ipv4Addr::UNSPECIFIED.into()
    };
    let local = SocketAddr::new(any, 0);
    let socket = UdpSocket::bind(local).await.map_err(AnnounceError::Udp)?;
    // Connected: the kernel drops datagrams from anyone else, and a closed
    // port shows as "connection refused" rather than as silence.
    socket.connect(addr).await.map_err(AnnounceError::Udp)?;
    let connection_id = match ids.0.get(&addr) {
        Some(&(id, at)) if at.elapsed() < CONNECTION_ID_LIFE => id,
        _ => {
            let connect = UdpRequest::Connect {
                transaction_id: rand::random(),
            };
            match exchange(&socket, &connect, addr.is_ipv6(), deadline).await? {
                UdpResponse::Connect { connection_id, .. } => {
                    ids.0.insert(addr, (connection_id, Instant::now()));
                    connection_id
                }
                other => return Err(refusal(other)),
            }
        }
    };
    let request = UdpRequest::Announce {
        connection_id,
        transaction_id: rand::random(),
        announce: UdpAnnounce {
            info_hash: request.info_hash,
            peer_id: request.peer_id,
            downloaded: request.downloaded,
            left: request.left,
            uploaded: request.uploaded,
            event: request.event,
            key,
            num_want: request.numwant,
            port: request.port,
            url_data,
        },
    };
    // Silence or an error may mean the id is no longer good (trackers may
    // drop requests under an expired one): the next announce asks for a
    // fresh one.
    match exchange(&socket, &request, addr.is_ipv6(), deadline).await {
        Ok(UdpResponse::Announce { response, .. }) => Ok(response),
        Ok(other) => {
            ids.0.remove(&addr);
            Err(refusal(other))
        }
        Err(e) => {
            ids.0.remove(&addr);
            Err(e)
        }
    }
}

/// Host, port and BEP 41 URL data (path and query) of a `udp://` URL.
fn parse(url: &str) -> Result<(String, u16, Vec<u8>), AnnounceError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| AnnounceError::UnsupportedUrl)?;
    let (Some(host), Some(port)) = (parsed.host_str(), parsed.port()) else {
        return Err(AnnounceError::UnsupportedUrl);
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let mut data = parsed.path().to_owned();
    if data == "/" {
        data.clear();
    }
    if let Some(q) = parsed.query() {
        data.push('?');
        data.push_str(q);
    }
    if data.len() > MAX_URL_DATA_BYTES {
        return Err(AnnounceError::UnsupportedUrl);
    }
    Ok((host, port, data.into_bytes()))
}

/// Sends `request` until its answer comes (resending after 2, 4, 8 s) or
/// `deadline` passes. Datagrams that are not its answer are ignored.
async fn exchange(
    socket: &UdpSocket,
    request: &UdpRequest,
    ipv6: bool,
    deadline: Instant,
) -> Result<UdpResponse, AnnounceError> {
    let bytes = request.encode();
    let mut wait = FIRST_WAIT;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        socket.send(&bytes).await.map_err(AnnounceError::Udp)?;
        let resend_at = (Instant::now() + wait).min(deadline);
        loop {
            let n = match tokio::time::timeout_at(resend_at, socket.recv(&mut buf)).await {
                Err(_) => break,
                Ok(read) => read.map_err(AnnounceError::Udp)?,
            };
            match UdpResponse::decode(&buf[..n], ipv6) {
                Ok(r) if r.transaction_id() == request.transaction_id() => return Ok(r),
                Ok(_) => {}
                Err(e) => tracing::debug!("ignoring a bad datagram from the tracker: {e}"),
            }
        }
        if Instant::now() >= deadline {
            return Err(AnnounceError::Timeout(ANNOUNCE_TIMEOUT));
        }
        wait *= 2;
    }
}

/// What an answer of the wrong kind means: the tracker's error message, or
/// a protocol error.
fn refusal(answer: UdpResponse) -> AnnounceError {
    match answer {
        UdpResponse::Error { message, .. } => ResponseError::Failure(message).into(),
        _ => ResponseError::Shape("an answer of another kind than the request".into()).into(),
    }
}

#[cfg(test)]
mod tests {
    use p2p_proto::infohash::InfoHash;
    use p2p_proto::tracker::{Event, PeerId};

    use super::*;

    fn request() -> AnnounceRequest {
        AnnounceRequest {
            info_hash: InfoHash([7; 20]),
            peer_id: PeerId([b'p'; 20]),
            port: 6881,
            uploaded: 1,
            downloaded: 2,
            left: 3,
            event: Event::Started,
            compact: true,
            numwant: Some(80),
            no_peer_id: true,
            key: None,
            tracker_id: None,
            ip: None,
        }
    }

    /// A UDP tracker on loopback that ignores the first connect request,
    /// answers the second, and refuses the announce with `why`; returns its
    /// port and, when done, the announce it got.
    async fn picky_tracker(why: &'static str) -> (u16, tokio::task::JoinHandle<UdpAnnounce>) {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let mut connects = 0;
            loop {
                let (n, from) = socket.recv_from(&mut buf).await.unwrap();
                let answer = match UdpRequest::decode(&buf[..n]).unwrap() {
                    UdpRequest::Connect { transaction_id } => {
                        connects += 1;
                        if connects == 1 {
                            continue;
                        }
                        UdpResponse::Connect {
                            transaction_id,
                            connection_id: 99,
                        }
                    }
                    UdpRequest::Announce {
                        connection_id,
                        transaction_id,
                        announce,
                    } => {
                        assert_eq!(connection_id, 99);
                        let refusal = UdpResponse::Error {
                            transaction_id,
                            message: why.into(),
                        };
                        // A stray answer first, which the client ignores.
                        let stray = UdpResponse::Error {
                            transaction_id: transaction_id.wrapping_add(1),
                            message: "not yours".into(),
                        };
                        socket.send_to(&stray.encode(false), from).await.unwrap();
                        socket.send_to(&refusal.encode(false), from).await.unwrap();
                        return announce;
                    }
                    other => panic!("unexpected {other:?}"),
                };
                socket.send_to(&answer.encode(false), from).await.unwrap();
            }
        });
        (port, task)
    }

    #[tokio::test]
    async fn a_lost_request_is_sent_again_and_the_trackers_refusal_is_its_message() {
        let (port, tracker) = picky_tracker("unknown passkey").await;
        let mut ids = ConnectionIds::default();
        let url = format!("udp://127.0.0.1:{port}/announce/0123?x=1");
        let err = announce(&mut ids, &url, &request(), 0xfeed)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "tracker failure: unknown passkey");
        let got = tracker.await.unwrap();
        assert_eq!(got.url_data, b"/announce/0123?x=1");
        assert_eq!((got.key, got.port, got.left), (0xfeed, 6881, 3));
        assert!(
            ids.0.is_empty(),
            "a refused announce forgets the connection id"
        );
    }

    #[tokio::test]
    async fn a_closed_port_fails_as_refused_not_as_a_timeout() {
        let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let url = format!("udp://127.0.0.1:{port}");
        let err = announce(&mut ConnectionIds::default(), &url, &request(), 1)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AnnounceError::Udp(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
            "{err:?}"
        );
    }

    #[test]
    fn the_path_and_query_of_the_url_are_the_url_data() {
        let (host, port, data) = parse("udp://t.example:6969/announce/abc?x=1").unwrap();
        assert_eq!(
            (host.as_str(), port, data.as_slice()),
            ("t.example", 6969, &b"/announce/abc?x=1"[..])
        );
        let (host, _, data) = parse("udp://[::1]:80").unwrap();
        assert_eq!((host.as_str(), data.len()), ("::1", 0));
        assert!(matches!(
            parse("udp://t.example/announce"),
            Err(AnnounceError::UnsupportedUrl)
        ));
    }
}
