//! UDP announces and scrapes (BEP 15) on the port number of the HTTP
//! listener: the same tracker, swarms and group rules as over HTTP. A
//! passkey travels as BEP 41 URL data (`/announce/<passkey>`), so group
//! torrents work over UDP as they do over `/announce/<passkey>`.
//!
//! Connection ids cost no memory per client: an id is a keyed hash
//! (SipHash) of the client's address and a one-minute window, good in the window it was
//! made in and the next one (one to two minutes, where BEP 15 asks for at
//! least one). The key is made at start: a restart, or another instance,
//! makes clients connect again, which they do after one error.

use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use p2p_proto::tracker::PeerId;
use p2p_proto::tracker::udp::{
    ANNOUNCE_HEAD_BYTES, MAX_PEERS, UdpAnnounce, UdpRequest, UdpResponse, announce_head,
};
use p2p_proto::tracker::{AnnounceRequest, ScrapeRequest};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::app::Tracker;
use crate::swarm::PeerSink;

#[cfg(target_os = "linux")]
mod batch;

/// Seconds in one window of connection ids.
const WINDOW_SECS: u64 = 60;
/// Largest datagram read; longer ones are cut and then refused.
const MAX_DATAGRAM: usize = 2048;
/// The refusal of an unknown or old connection id (8 + 21 bytes on the wire).
const EXPIRED: &str = "connection id expired";
/// Most threads answering datagrams.
const MAX_WORKERS: usize = 8;
/// Longest a worker waits for a datagram before looking at the shutdown
/// token (or for room to send one).
const WAKE_EVERY: Duration = Duration::from_millis(100);

/// Makes and checks connection ids.
pub struct ConnectionIds {
    /// SipHash with 128 random key bits: a keyed hash that cannot be
    /// forged without the key, and costs tens of nanoseconds per datagram.
    key: RandomState,
}

impl std::fmt::Debug for ConnectionIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionIds(<key>)")
    }
}

impl ConnectionIds {
    /// With a fresh random key.
    pub fn new() -> ConnectionIds {
        ConnectionIds {
            key: RandomState::new(),
        }
    }

    fn id(&self, from: SocketAddr, window: u64) -> u64 {
        self.key.hash_one((from, window))
    }

    /// A connection id for `from`, at `now_secs` (Unix time).
    pub fn issue(&self, from: SocketAddr, now_secs: u64) -> u64 {
        self.id(from, now_secs / WINDOW_SECS)
    }

    /// Whether `id` was issued to `from` in this window or the last.
    pub fn valid(&self, id: u64, from: SocketAddr, now_secs: u64) -> bool {
        let window = now_secs / WINDOW_SECS;
        id == self.id(from, window) || id == self.id(from, window.saturating_sub(1))
    }
}

impl Default for ConnectionIds {
    fn default() -> Self {
        ConnectionIds::new()
    }
}

/// Writes into `out` (cleared first) the answer to one datagram from
/// `from`; false when it gets none: a datagram that is not a request,
/// unless it came under a valid connection id (only then is the address
/// known to be the sender's).
pub fn answer(
    t: &Tracker,
    ids: &ConnectionIds,
    datagram: &[u8],
    from: SocketAddr,
    now_secs: u64,
    out: &mut Vec<u8>,
) -> bool {
    out.clear();
    let from = SocketAddr::new(from.ip().to_canonical(), from.port());
    let ipv6 = from.is_ipv6();
    let refuse = |out: &mut Vec<u8>, transaction_id: u32, message: String| {
        t.stats.failures.fetch_add(1, Ordering::Relaxed);
        out.clear();
        UdpResponse::Error {
            transaction_id,
            message,
        }
        .encode_into(ipv6, out);
        true
    };
    let request = match UdpRequest::decode(datagram) {
        Ok(r) => r,
        // Only a client that connected (so its address is its own, not a
        // forged one) hears why its datagram was refused: an answer to a
        // forged address would send our bytes to someone who never asked.
        Err(e) if datagram.len() >= 16 => {
            let (Ok(id), Ok(tid)) = (datagram[..8].try_into(), datagram[12..16].try_into()) else {
                return false;
            };
            if !ids.valid(u64::from_be_bytes(id), from, now_secs) {
                return false;
            }
            return refuse(out, u32::from_be_bytes(tid), e.to_string());
        }
        Err(_) => return false,
    };
    let tid = request.transaction_id();
    let response = match request {
        UdpRequest::Connect { transaction_id } => UdpResponse::Connect {
            transaction_id,
            connection_id: ids.issue(from, now_secs),
        },
        UdpRequest::Announce { connection_id, .. } | UdpRequest::Scrape { connection_id, .. }
            if !ids.valid(connection_id, from, now_secs) =>
        {
            // Short enough that the answer is never larger than the
            // smallest request with an id (a one-hash scrape, 36 bytes):
            // a forged source gets nothing amplified.
            return refuse(out, tid, EXPIRED.into());
        }
        UdpRequest::Announce {
            transaction_id,
            announce,
            ..
        } => {
            let passkey = match passkey(&announce.url_data) {
                Ok(p) => p,
                Err(why) => return refuse(out, tid, why.into()),
            };
            if announce.port == 0 {
                return refuse(out, tid, "port 0 is not a listening port".into());
            }
            let req = announce_request(&announce);
            let addr = SocketAddr::new(from.ip(), announce.port);
            // The peers' compact bytes go straight after a head written
            // once the counts are known.
            out.resize(ANNOUNCE_HEAD_BYTES, 0);
            let mut sink = CompactPeers { out, ipv6 };
            let now = Instant::now();
            match t.announce_into(&req, passkey, addr, now, &mut rand::rng(), &mut sink) {
                Ok(c) => {
                    let interval = t.config.announce.interval_secs;
                    let head = announce_head(transaction_id, interval, c.incomplete, c.complete);
                    out[..ANNOUNCE_HEAD_BYTES].copy_from_slice(&head);
                    return true;
                }
                Err(refusal) => return refuse(out, tid, refusal.to_string()),
            }
        }
        UdpRequest::Scrape {
            transaction_id,
            info_hashes,
            ..
        } => {
            let req = ScrapeRequest {
                info_hashes: info_hashes.clone(),
            };
            let files = match t.scrape_answer(&req) {
                Ok(f) => f,
                Err(refusal) => return refuse(out, tid, refusal.to_string()),
            };
            // One count per hash asked, in order, duplicates included.
            let stats = info_hashes
                .iter()
                .map(|h| {
                    files
                        .iter()
                        .find(|(f, _)| f == h)
                        .map(|(_, s)| *s)
                        .unwrap_or_default()
                })
                .collect();
            UdpResponse::Scrape {
                transaction_id,
                stats,
            }
        }
    };
    response.encode_into(ipv6, out);
    true
}

/// An announce answer's peers: the compact bytes of the socket's family
/// (BEP 15 tells them apart by the socket), at most [`MAX_PEERS`].
struct CompactPeers<'a> {
    out: &'a mut Vec<u8>,
    ipv6: bool,
}

impl PeerSink for CompactPeers<'_> {
    fn wants(&self, v6: bool) -> bool {
        v6 == self.ipv6
    }

    fn room(&self) -> usize {
        MAX_PEERS
    }

    fn push(&mut self, compact: &[u8], _id: &PeerId) {
        self.out.extend_from_slice(compact);
    }
}

/// The passkey of BEP 41 URL data: `/announce/<passkey>` (a query after it
/// is ignored); none for `/announce` or no URL data.
fn passkey(url_data: &[u8]) -> Result<Option<&str>, &'static str> {
    let text = std::str::from_utf8(url_data).map_err(|_| "URL data is not UTF-8")?;
    let path = text.split('?').next().unwrap_or_default();
    match path {
        "" | "/" | "/announce" => Ok(None),
        _ => match path.strip_prefix("/announce/") {
            Some(pk) if !pk.is_empty() && !pk.contains('/') => Ok(Some(pk)),
            _ => Err("unknown announce path; expected /announce or /announce/<passkey>"),
        },
    }
}

/// What an HTTP announce with the same fields would say (but the key).
fn announce_request(a: &UdpAnnounce) -> AnnounceRequest {
    AnnounceRequest {
        info_hash: a.info_hash,
        peer_id: a.peer_id,
        port: a.port,
        uploaded: a.uploaded,
        downloaded: a.downloaded,
        left: a.left,
        event: a.event,
        compact: true,
        numwant: a.num_want,
        no_peer_id: true,
        // Nothing in the tracker reads the key (peers are told apart by
        // peer id), and its text would cost an allocation per datagram.
        key: None,
        tracker_id: None,
        ip: None,
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Answers datagrams on `socket` until `token` is cancelled. Threads of
/// their own, each in a blocking receive on the one socket (as
/// opentracker's UDP workers do): on Linux a batch of datagrams costs one
/// receive and one send call (elsewhere, each datagram does), with no
/// reactor, task wake-up or allocator shared between threads in between.
pub async fn serve(socket: UdpSocket, t: Arc<Tracker>, token: CancellationToken) {
    let socket = match blocking(socket) {
        Ok(s) => s,
        Err(e) => return tracing::error!("UDP socket: {e}"),
    };
    let ids = Arc::new(ConnectionIds::new());
    let workers = match t.config.announce.udp_workers {
        0 => default_workers(std::thread::available_parallelism().map_or(2, |n| n.get())),
        n => n.min(MAX_WORKERS),
    };
    let mut handles = Vec::with_capacity(workers);
    for _ in 0..workers {
        let socket = match socket.try_clone() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("UDP socket: {e}");
                break;
            }
        };
        let (t, ids, token) = (t.clone(), ids.clone(), token.clone());
        handles.push(tokio::task::spawn_blocking(move || {
            #[cfg(target_os = "linux")]
            batch::work(&socket, &t, &ids, &token);
            #[cfg(not(target_os = "linux"))]
            work(&socket, &t, &ids, &token);
        }));
    }
    for h in handles {
        if let Err(e) = h.await {
            tracing::error!("UDP worker failed: {e}");
        }
    }
}

/// UDP threads for `cores` cores: half of them (at least one). The kernel
/// spends about two thirds of a datagram's CPU (receiving, routing,
/// sending), and threads that outnumber the spare cores sleep and wake on
/// the socket instead of answering: on 2 cores, one thread answered 1.4x
/// as many announces per second as two, at 3.1 instead of 4.0 us of CPU
/// each (bench/udp_tracker.sh).
fn default_workers(cores: usize) -> usize {
    (cores / 2).clamp(1, MAX_WORKERS)
}

/// The socket out of the reactor, blocking, with timeouts so that workers
/// see the shutdown token.
fn blocking(socket: UdpSocket) -> std::io::Result<std::net::UdpSocket> {
    let socket = socket.into_std()?;
    socket.set_nonblocking(false)?;
    socket.set_read_timeout(Some(WAKE_EVERY))?;
    socket.set_write_timeout(Some(WAKE_EVERY))?;
    Ok(socket)
}

/// One worker: receive, answer, send, with one buffer each way (where
/// there is no `recvmmsg`).
#[cfg(not(target_os = "linux"))]
fn work(socket: &std::net::UdpSocket, t: &Tracker, ids: &ConnectionIds, token: &CancellationToken) {
    use std::io::ErrorKind;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut out = Vec::with_capacity(MAX_DATAGRAM);
    while !token.is_cancelled() {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            // An ICMP error for an earlier answer, a signal: nothing to do
            // for that datagram.
            Err(e) => {
                tracing::debug!("UDP receive: {e}");
                continue;
            }
        };
        if answer(t, ids, &buf[..n], from, unix_secs(), &mut out)
            && let Err(e) = socket.send_to(&out, from)
        {
            tracing::debug!("UDP answer to {from}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_id_is_good_for_its_address_in_its_window_and_the_next_only() {
        let ids = ConnectionIds::new();
        let a: SocketAddr = "10.0.0.1:6881".parse().unwrap();
        let b: SocketAddr = "10.0.0.1:6882".parse().unwrap();
        let t0 = 1_000_000 * WINDOW_SECS;
        let id = ids.issue(a, t0 + 5);
        assert!(ids.valid(id, a, t0 + 5));
        assert!(ids.valid(id, a, t0 + WINDOW_SECS + 59));
        assert!(!ids.valid(id, a, t0 + 2 * WINDOW_SECS));
        assert!(!ids.valid(id, b, t0 + 5), "another port");
        assert!(!ConnectionIds::new().valid(id, a, t0 + 5), "another key");
    }

    #[test]
    fn the_passkey_comes_from_the_announce_path_of_the_url_data() {
        let pk = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            passkey(format!("/announce/{pk}?x=1").as_bytes()),
            Ok(Some(pk))
        );
        assert_eq!(passkey(b""), Ok(None));
        assert_eq!(passkey(b"/announce"), Ok(None));
        assert!(passkey(b"/scrape").is_err());
        assert!(passkey(b"/announce/a/b").is_err());
        assert!(passkey(&[0xff, 0xfe]).is_err());
    }
}
