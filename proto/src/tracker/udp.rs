//! UDP tracker protocol (BEP 15) with the URL data option of BEP 41 (how a
//! passkey travels over UDP): the packets of both sides, encoded and
//! decoded. Sans-io: no sockets, no clocks, no retransmission (the client
//! decides when to resend; the tracker decides which connection ids are
//! valid).
//!
//! Every packet is bounded: a request is at most [`MAX_REQUEST_BYTES`], and
//! decoding checks each length before reading, so hostile datagrams give an
//! error, never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{AnnounceResponse, Event, Peer, PeerId, ScrapeStats};
use crate::infohash::InfoHash;

/// The magic connection id of a connect request.
pub const PROTOCOL_ID: u64 = 0x0417_2710_1980;
/// Most info-hashes in one scrape request (what fits a 1500-byte datagram's
/// answer, as BEP 15 says).
pub const MAX_SCRAPE_HASHES: usize = 74;
/// Most bytes of URL data (BEP 41) a request may carry.
pub const MAX_URL_DATA_BYTES: usize = 1024;
/// Largest request: a full scrape, or an announce with the most URL data
/// (options of at most 255 bytes each, two header bytes per option).
pub const MAX_REQUEST_BYTES: usize = max(
    16 + 20 * MAX_SCRAPE_HASHES,
    ANNOUNCE_FIXED + MAX_URL_DATA_BYTES + 2 * MAX_URL_DATA_BYTES.div_ceil(255) + 1,
);
/// Most peers an announce answer carries (a datagram stays under 1500
/// bytes even with IPv6 peers).
pub const MAX_PEERS: usize = 74;
/// Longest error message sent or kept.
pub const MAX_ERROR_BYTES: usize = 512;

/// Bytes of an announce answer before its peers.
pub const ANNOUNCE_HEAD_BYTES: usize = 20;

/// The head of an announce answer (BEP 15), for a tracker that writes the
/// peers' compact bytes after it itself: action, transaction id,
/// interval, leechers, seeders.
pub fn announce_head(
    transaction_id: u32,
    interval: u32,
    incomplete: u32,
    complete: u32,
) -> [u8; ANNOUNCE_HEAD_BYTES] {
    let mut h = [0; ANNOUNCE_HEAD_BYTES];
    for (at, v) in [ANNOUNCE, transaction_id, interval, incomplete, complete]
        .into_iter()
        .enumerate()
    {
        h[4 * at..4 * at + 4].copy_from_slice(&v.to_be_bytes());
    }
    h
}

/// Bytes of an announce request before its options.
const ANNOUNCE_FIXED: usize = 98;

const CONNECT: u32 = 0;
const ANNOUNCE: u32 = 1;
const SCRAPE: u32 = 2;
const ERROR: u32 = 3;

/// BEP 41 option types.
const END_OF_OPTIONS: u8 = 0;
const NOP: u8 = 1;
const URL_DATA: u8 = 2;

/// A UDP announce: what an HTTP announce says, in BEP 15's fixed layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpAnnounce {
    /// The torrent.
    pub info_hash: InfoHash,
    /// The announcing peer.
    pub peer_id: PeerId,
    /// Bytes downloaded since `started`.
    pub downloaded: u64,
    /// Bytes still missing; 0 means a seeder.
    pub left: u64,
    /// Bytes uploaded since `started`.
    pub uploaded: u64,
    /// What happened.
    pub event: Event,
    /// Opaque key identifying the client across address changes.
    pub key: u32,
    /// How many peers the client wants (`None`: the tracker's default).
    pub num_want: Option<u32>,
    /// The peer's listening port.
    pub port: u16,
    /// The announce URL's path and query (BEP 41), e.g.
    /// `/announce/<passkey>`; empty when the URL has none.
    pub url_data: Vec<u8>,
}

/// A request, as the client sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpRequest {
    /// Asks for a connection id.
    Connect {
        /// Echoed in the answer.
        transaction_id: u32,
    },
    /// An announce under a connection id.
    Announce {
        /// From the connect answer.
        connection_id: u64,
        /// Echoed in the answer.
        transaction_id: u32,
        /// The announce.
        announce: UdpAnnounce,
    },
    /// A scrape of up to [`MAX_SCRAPE_HASHES`] torrents.
    Scrape {
        /// From the connect answer.
        connection_id: u64,
        /// Echoed in the answer.
        transaction_id: u32,
        /// The torrents.
        info_hashes: Vec<InfoHash>,
    },
}

/// An answer, as the tracker sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpResponse {
    /// A connection id, valid for a while (a minute for clients).
    Connect {
        /// The request's.
        transaction_id: u32,
        /// To put in the next requests.
        connection_id: u64,
    },
    /// The announce's answer: `interval`, the counts and the peers.
    /// `min_interval`, `tracker_id` and `warning` do not exist over UDP.
    Announce {
        /// The request's.
        transaction_id: u32,
        /// The answer; only peers of the datagram's address family go out.
        response: AnnounceResponse,
    },
    /// Counts per requested torrent, in request order.
    Scrape {
        /// The request's.
        transaction_id: u32,
        /// One per info-hash asked.
        stats: Vec<ScrapeStats>,
    },
    /// A refusal.
    Error {
        /// The request's (0 when the request could not be read).
        transaction_id: u32,
        /// Why.
        message: String,
    },
}

/// Why a datagram is not a packet of this protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UdpError {
    /// Shorter than its kind needs.
    #[error("a {kind} packet needs at least {need} bytes, got {got}")]
    TooShort {
        /// What it claimed to be.
        kind: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes there.
        got: usize,
    },
    /// Longer than anything this side accepts.
    #[error("a packet of {0} bytes is larger than any request")]
    TooLong(usize),
    /// A connect request without the protocol's magic number.
    #[error("not a UDP tracker connect request (wrong protocol id)")]
    BadProtocolId,
    /// An action this side does not know.
    #[error("unknown action {0}")]
    UnknownAction(u32),
    /// An announce `event` outside 0..=3.
    #[error("unknown announce event {0}")]
    UnknownEvent(u32),
    /// More info-hashes than [`MAX_SCRAPE_HASHES`], or a partial one.
    #[error("a scrape must carry 1 to {MAX_SCRAPE_HASHES} whole info-hashes")]
    BadScrape,
    /// URL data longer than [`MAX_URL_DATA_BYTES`], or an option cut short.
    #[error("bad BEP 41 options: {0}")]
    BadOptions(&'static str),
    /// A peer list whose length is not a whole number of peers.
    #[error("a peer list of {0} bytes is not whole peers")]
    BadPeers(usize),
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(a)
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

fn need(kind: &'static str, b: &[u8], n: usize) -> Result<(), UdpError> {
    if b.len() < n {
        return Err(UdpError::TooShort {
            kind,
            need: n,
            got: b.len(),
        });
    }
    Ok(())
}

fn event_code(e: Event) -> u32 {
    match e {
        Event::None => 0,
        Event::Completed => 1,
        Event::Started => 2,
        Event::Stopped => 3,
    }
}

impl UdpRequest {
    /// The request's transaction id.
    pub fn transaction_id(&self) -> u32 {
        match self {
            UdpRequest::Connect { transaction_id }
            | UdpRequest::Announce { transaction_id, .. }
            | UdpRequest::Scrape { transaction_id, .. } => *transaction_id,
        }
    }

    /// The datagram. URL data beyond [`MAX_URL_DATA_BYTES`] is cut (the
    /// client checks its URL before).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ANNOUNCE_FIXED + 16);
        match self {
            UdpRequest::Connect { transaction_id } => {
                out.extend_from_slice(&PROTOCOL_ID.to_be_bytes());
                out.extend_from_slice(&CONNECT.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
            }
            UdpRequest::Announce {
                connection_id,
                transaction_id,
                announce: a,
            } => {
                out.extend_from_slice(&connection_id.to_be_bytes());
                out.extend_from_slice(&ANNOUNCE.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                out.extend_from_slice(&a.info_hash.0);
                out.extend_from_slice(&a.peer_id.0);
                out.extend_from_slice(&a.downloaded.to_be_bytes());
                out.extend_from_slice(&a.left.to_be_bytes());
                out.extend_from_slice(&a.uploaded.to_be_bytes());
                out.extend_from_slice(&event_code(a.event).to_be_bytes());
                out.extend_from_slice(&0u32.to_be_bytes()); // ip: the sender's
                out.extend_from_slice(&a.key.to_be_bytes());
                let num_want = a.num_want.map_or(-1, |n| n.min(i32::MAX as u32) as i32);
                out.extend_from_slice(&num_want.to_be_bytes());
                out.extend_from_slice(&a.port.to_be_bytes());
                let data = &a.url_data[..a.url_data.len().min(MAX_URL_DATA_BYTES)];
                for chunk in data.chunks(255) {
                    out.push(URL_DATA);
                    out.push(chunk.len() as u8);
                    out.extend_from_slice(chunk);
                }
                if !data.is_empty() {
                    out.push(END_OF_OPTIONS);
                }
            }
            UdpRequest::Scrape {
                connection_id,
                transaction_id,
                info_hashes,
            } => {
                out.extend_from_slice(&connection_id.to_be_bytes());
                out.extend_from_slice(&SCRAPE.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                for h in info_hashes.iter().take(MAX_SCRAPE_HASHES) {
                    out.extend_from_slice(&h.0);
                }
            }
        }
        out
    }

    /// Reads a client's datagram (the tracker side). The connection id is
    /// returned as sent: whether it is valid is the tracker's business.
    pub fn decode(b: &[u8]) -> Result<UdpRequest, UdpError> {
        if b.len() > MAX_REQUEST_BYTES {
            return Err(UdpError::TooLong(b.len()));
        }
        need("request", b, 16)?;
        let connection_id = be_u64(b, 0);
        let action = be_u32(b, 8);
        let transaction_id = be_u32(b, 12);
        match action {
            CONNECT => {
                if connection_id != PROTOCOL_ID {
                    return Err(UdpError::BadProtocolId);
                }
                Ok(UdpRequest::Connect { transaction_id })
            }
            ANNOUNCE => {
                need("announce", b, ANNOUNCE_FIXED)?;
                let mut info_hash = [0; 20];
                info_hash.copy_from_slice(&b[16..36]);
                let mut peer_id = [0; 20];
                peer_id.copy_from_slice(&b[36..56]);
                let event = match be_u32(b, 80) {
                    0 => Event::None,
                    1 => Event::Completed,
                    2 => Event::Started,
                    3 => Event::Stopped,
                    other => return Err(UdpError::UnknownEvent(other)),
                };
                let num_want = be_u32(b, 92) as i32;
                Ok(UdpRequest::Announce {
                    connection_id,
                    transaction_id,
                    announce: UdpAnnounce {
                        info_hash: InfoHash(info_hash),
                        peer_id: PeerId(peer_id),
                        downloaded: be_u64(b, 56),
                        left: be_u64(b, 64),
                        uploaded: be_u64(b, 72),
                        event,
                        key: be_u32(b, 88),
                        num_want: u32::try_from(num_want).ok(),
                        port: u16::from_be_bytes([b[96], b[97]]),
                        url_data: url_data(&b[ANNOUNCE_FIXED..])?,
                    },
                })
            }
            SCRAPE => {
                let hashes = &b[16..];
                if hashes.is_empty()
                    || !hashes.len().is_multiple_of(20)
                    || hashes.len() / 20 > MAX_SCRAPE_HASHES
                {
                    return Err(UdpError::BadScrape);
                }
                let info_hashes = hashes
                    .chunks_exact(20)
                    .map(|c| {
                        let mut h = [0; 20];
                        h.copy_from_slice(c);
                        InfoHash(h)
                    })
                    .collect();
                Ok(UdpRequest::Scrape {
                    connection_id,
                    transaction_id,
                    info_hashes,
                })
            }
            other => Err(UdpError::UnknownAction(other)),
        }
    }
}

/// The URL data of BEP 41 options: the `URLData` options concatenated, up
/// to `EndOfOptions`, the end of the datagram, or an option type this side
/// does not know (whose length it cannot know either).
fn url_data(mut options: &[u8]) -> Result<Vec<u8>, UdpError> {
    let mut data = Vec::new();
    while let Some((&kind, rest)) = options.split_first() {
        match kind {
            END_OF_OPTIONS => break,
            NOP => options = rest,
            URL_DATA => {
                let (&len, rest) = rest
                    .split_first()
                    .ok_or(UdpError::BadOptions("a URL data option without its length"))?;
                let len = usize::from(len);
                if rest.len() < len {
                    return Err(UdpError::BadOptions("a URL data option cut short"));
                }
                if data.len() + len > MAX_URL_DATA_BYTES {
                    return Err(UdpError::BadOptions("more URL data than allowed"));
                }
                data.extend_from_slice(&rest[..len]);
                options = &rest[len..];
            }
            _ => break,
        }
    }
    Ok(data)
}

impl UdpResponse {
    /// The answer's transaction id.
    pub fn transaction_id(&self) -> u32 {
        match self {
            UdpResponse::Connect { transaction_id, .. }
            | UdpResponse::Announce { transaction_id, .. }
            | UdpResponse::Scrape { transaction_id, .. }
            | UdpResponse::Error { transaction_id, .. } => *transaction_id,
        }
    }

    /// The datagram. An announce answer carries the peers of the address
    /// family the request came over (`ipv6`: BEP 15 tells them apart by
    /// the socket, not by a field), at most [`MAX_PEERS`].
    pub fn encode(&self, ipv6: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.encode_into(ipv6, &mut out);
        out
    }

    /// [`UdpResponse::encode`] appended to `out` (a tracker reuses one
    /// buffer for every answer).
    pub fn encode_into(&self, ipv6: bool, out: &mut Vec<u8>) {
        match self {
            UdpResponse::Connect {
                transaction_id,
                connection_id,
            } => {
                out.extend_from_slice(&CONNECT.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                out.extend_from_slice(&connection_id.to_be_bytes());
            }
            UdpResponse::Announce {
                transaction_id,
                response: r,
            } => {
                out.extend_from_slice(&announce_head(
                    *transaction_id,
                    r.interval,
                    r.incomplete,
                    r.complete,
                ));
                let same_family = r.peers.iter().filter(|p| p.addr.is_ipv6() == ipv6);
                for p in same_family.take(MAX_PEERS) {
                    match p.addr.ip() {
                        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
                        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
                    }
                    out.extend_from_slice(&p.addr.port().to_be_bytes());
                }
            }
            UdpResponse::Scrape {
                transaction_id,
                stats,
            } => {
                out.extend_from_slice(&SCRAPE.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                for s in stats.iter().take(MAX_SCRAPE_HASHES) {
                    out.extend_from_slice(&s.complete.to_be_bytes());
                    out.extend_from_slice(&s.downloaded.to_be_bytes());
                    out.extend_from_slice(&s.incomplete.to_be_bytes());
                }
            }
            UdpResponse::Error {
                transaction_id,
                message,
            } => {
                out.extend_from_slice(&ERROR.to_be_bytes());
                out.extend_from_slice(&transaction_id.to_be_bytes());
                out.extend_from_slice(cut_text(message, MAX_ERROR_BYTES).as_bytes());
            }
        }
    }

    /// Reads a tracker's datagram (the client side); `ipv6` is the family
    /// of the socket it came over, which sets the size of its peers.
    pub fn decode(b: &[u8], ipv6: bool) -> Result<UdpResponse, UdpError> {
        need("response", b, 8)?;
        let action = be_u32(b, 0);
        let transaction_id = be_u32(b, 4);
        match action {
            CONNECT => {
                need("connect", b, 16)?;
                Ok(UdpResponse::Connect {
                    transaction_id,
                    connection_id: be_u64(b, 8),
                })
            }
            ANNOUNCE => {
                need("announce", b, 20)?;
                let list = &b[20..];
                let each = if ipv6 { 18 } else { 6 };
                if !list.len().is_multiple_of(each) {
                    return Err(UdpError::BadPeers(list.len()));
                }
                let peers = list
                    .chunks_exact(each)
                    .map(|c| {
                        let ip = if ipv6 {
                            let mut o = [0; 16];
                            o.copy_from_slice(&c[..16]);
                            IpAddr::V6(Ipv6Addr::from(o))
                        } else {
                            IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                        };
                        let port = u16::from_be_bytes([c[each - 2], c[each - 1]]);
                        Peer {
                            id: None,
                            addr: SocketAddr::new(ip, port),
                        }
                    })
                    .collect();
                Ok(UdpResponse::Announce {
                    transaction_id,
                    response: AnnounceResponse {
                        interval: be_u32(b, 8),
                        incomplete: be_u32(b, 12),
                        complete: be_u32(b, 16),
                        peers,
                        ..AnnounceResponse::default()
                    },
                })
            }
            SCRAPE => {
                let counts = &b[8..];
                if !counts.len().is_multiple_of(12) {
                    return Err(UdpError::BadScrape);
                }
                // No client asks for more than MAX_SCRAPE_HASHES, so
                // counts past them answer nothing asked: left unread, as
                // we never send them (found by the udp_tracker fuzz target).
                let stats = counts
                    .chunks_exact(12)
                    .take(MAX_SCRAPE_HASHES)
                    .map(|c| ScrapeStats {
                        complete: be_u32(c, 0),
                        downloaded: be_u32(c, 4),
                        incomplete: be_u32(c, 8),
                    })
                    .collect();
                Ok(UdpResponse::Scrape {
                    transaction_id,
                    stats,
                })
            }
            ERROR => Ok(UdpResponse::Error {
                transaction_id,
                // Cut again after the lossy conversion (each bad byte
                // becomes three), so that what we read is what we would
                // send (found by the udp_tracker fuzz target).
                message: cut_text(
                    &String::from_utf8_lossy(cut(&b[8..], MAX_ERROR_BYTES)),
                    MAX_ERROR_BYTES,
                )
                .to_owned(),
            }),
            other => Err(UdpError::UnknownAction(other)),
        }
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// The first `max` bytes at most.
fn cut(b: &[u8], max: usize) -> &[u8] {
    &b[..b.len().min(max)]
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn cut_text(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests;
