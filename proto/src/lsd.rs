//! Local Service Discovery ([BEP 14](https://www.bittorrent.org/beps/bep_0014.html)):
//! the `BT-SEARCH` message a client multicasts on its LAN to say "I have
//! these torrents, on this port". Builds it and parses it from hostile
//! datagrams: size and info-hash count bounded, errors that say what was
//! wrong, never a panic.
//!
//! Sans-io: no sockets, no clock. Which torrents may be announced (never a
//! private one), how often, and what a peer's address is (the datagram's
//! source IP with the `Port` header) are the caller's business.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::infohash::InfoHash;

/// The UDP port of both multicast groups.
pub const LSD_PORT: u16 = 6771;
/// The IPv4 multicast group (organisation-local scope).
pub const LSD_GROUP_V4: Ipv4Addr = Ipv4Addr::new(239, 192, 152, 143);
/// The IPv6 multicast group (site-local scope).
pub const LSD_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff15, 0, 0, 0, 0, 0, 0xefc0, 0x988f);
/// Largest message read or written: fits one Ethernet frame with room for
/// the IP and UDP headers, so an announce is never fragmented.
pub const MAX_MESSAGE_BYTES: usize = 1400;
/// Most info-hashes in one message, read or written (20 make about 1,150
/// bytes with the other headers; BEP 14 lets several share a datagram).
pub const MAX_INFO_HASHES: usize = 20;
/// Longest cookie read or written.
pub const MAX_COOKIE_BYTES: usize = 64;

const REQUEST_LINE: &str = "BT-SEARCH * HTTP/1.1";

/// The group address of one IP family, as a socket address.
pub fn group(ipv6: bool) -> SocketAddr {
    if ipv6 {
        SocketAddr::V6(SocketAddrV6::new(LSD_GROUP_V6, LSD_PORT, 0, 0))
    } else {
        SocketAddr::V4(SocketAddrV4::new(LSD_GROUP_V4, LSD_PORT))
    }
}

/// One `BT-SEARCH` announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announce {
    /// The sender's BitTorrent port (its IP is the datagram's source).
    pub port: u16,
    /// The torrents it has, at most [`MAX_INFO_HASHES`].
    pub info_hashes: Vec<InfoHash>,
    /// An opaque token the sender puts in each of its messages, so that it
    /// can tell its own announces (the multicast loop sends them back) from
    /// others'.
    pub cookie: Option<String>,
}

/// Why a datagram is not a `BT-SEARCH` announce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LsdError {
    /// Longer than any announce we read.
    #[error("message of {0} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")]
    TooLong(usize),
    /// Not text.
    #[error("message is not UTF-8 text")]
    NotText,
    /// Another message (an SSDP `M-SEARCH`, say) on the same group.
    #[error("request line {0:?} is not `BT-SEARCH * HTTP/1.1`")]
    NotBtSearch(String),
    /// A header line without a colon.
    #[error("header line {0:?} has no colon")]
    BadHeader(String),
    /// No `Port` header.
    #[error("no Port header")]
    NoPort,
    /// `Port` twice.
    #[error("more than one Port header")]
    DuplicatePort,
    /// A `Port` that is not 1 to 65535.
    #[error("Port {0:?} is not a port number from 1 to 65535")]
    BadPort(String),
    /// No `Infohash` header.
    #[error("no Infohash header")]
    NoInfoHash,
    /// An `Infohash` that is not 40 hex digits.
    #[error("Infohash {0:?} is not 40 hex digits")]
    BadInfoHash(String),
    /// More `Infohash` headers than we read.
    #[error("more than {MAX_INFO_HASHES} Infohash headers")]
    TooManyInfoHashes,
    /// A cookie too long or with control characters.
    #[error("cookie {0:?} is longer than {MAX_COOKIE_BYTES} bytes or not printable")]
    BadCookie(String),
}

/// At most 64 characters of an offending value, for an error message.
fn cut(text: &str) -> String {
    text.chars().take(64).collect()
}

fn cookie_ok(cookie: &str) -> bool {
    cookie.len() <= MAX_COOKIE_BYTES && cookie.bytes().all(|b| b.is_ascii_graphic())
}

impl Announce {
    /// Parses a datagram. Header names are read in any case and unknown
    /// headers are skipped; lines may end in `\r\n` or `\n`.
    pub fn parse(datagram: &[u8]) -> Result<Announce, LsdError> {
        if datagram.len() > MAX_MESSAGE_BYTES {
            return Err(LsdError::TooLong(datagram.len()));
        }
        let text = std::str::from_utf8(datagram).map_err(|_| LsdError::NotText)?;
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next().unwrap_or_default();
        if first.trim() != REQUEST_LINE {
            return Err(LsdError::NotBtSearch(cut(first)));
        }
        let mut port = None;
        let mut info_hashes = Vec::new();
        let mut cookie = None;
        for line in lines {
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| LsdError::BadHeader(cut(line)))?;
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "port" => {
                    if port.is_some() {
                        return Err(LsdError::DuplicatePort);
                    }
                    let p = value
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p != 0)
                        .ok_or_else(|| LsdError::BadPort(cut(value)))?;
                    port = Some(p);
                }
                "infohash" => {
                    if info_hashes.len() == MAX_INFO_HASHES {
                        return Err(LsdError::TooManyInfoHashes);
                    }
                    // Only the hex form: BEP 14 names no other.
                    let ih = (value.len() == 40)
                        .then(|| InfoHash::parse(value).ok())
                        .flatten()
                        .ok_or_else(|| LsdError::BadInfoHash(cut(value)))?;
                    if !info_hashes.contains(&ih) {
                        info_hashes.push(ih);
                    }
                }
                "cookie" => {
                    if !cookie_ok(value) {
                        return Err(LsdError::BadCookie(cut(value)));
                    }
                    cookie = Some(value.to_owned());
                }
                _ => {}
            }
        }
        let port = port.ok_or(LsdError::NoPort)?;
        if info_hashes.is_empty() {
            return Err(LsdError::NoInfoHash);
        }
        Ok(Announce {
            port,
            info_hashes,
            cookie,
        })
    }

    /// Writes the message for the group `to` (its `Host` header) into
    /// `out`. The caller keeps to [`MAX_INFO_HASHES`] and a cookie of
    /// printable ASCII up to [`MAX_COOKIE_BYTES`] ([`Announce::batches`]
    /// does); then the message fits [`MAX_MESSAGE_BYTES`].
    pub fn encode(&self, to: SocketAddr, out: &mut Vec<u8>) {
        use std::fmt::Write as _;
        let mut text = String::with_capacity(128 + 52 * self.info_hashes.len());
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "{REQUEST_LINE}\r\nHost: {to}\r\nPort: {}\r\n",
            self.port
        );
        for ih in &self.info_hashes {
            let _ = write!(text, "Infohash: {}\r\n", ih.to_hex());
        }
        if let Some(c) = &self.cookie {
            let _ = write!(text, "cookie: {c}\r\n");
        }
        text.push_str("\r\n\r\n");
        out.extend_from_slice(text.as_bytes());
    }

    /// Announces of `info_hashes` in as few messages as [`MAX_INFO_HASHES`]
    /// allows, each with `port` and `cookie` (dropped if it is not a valid
    /// cookie).
    pub fn batches(port: u16, info_hashes: &[InfoHash], cookie: Option<&str>) -> Vec<Announce> {
        let cookie = cookie.filter(|c| cookie_ok(c)).map(str::to_owned);
        info_hashes
            .chunks(MAX_INFO_HASHES)
            .map(|chunk| Announce {
                port,
                info_hashes: chunk.to_vec(),
                cookie: cookie.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
