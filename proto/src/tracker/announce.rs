//! Announce requests (BEP 3): parsing from a raw query string, as a tracker
//! does, and building the query string, as a client does. Which `ip` to
//! trust is the tracker's policy and is not decided here.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::PeerId;
use super::query::{self, SplitError, printable};
use crate::infohash::InfoHash;
use crate::percent::percent_encode;

/// Longest announce query string accepted (real clients send about 300 bytes).
pub const MAX_ANNOUNCE_QUERY_BYTES: usize = 4096;

/// What happened to the peer since its last announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Event {
    /// A regular, periodic announce (`event` absent or empty; also BEP 21 `paused`).
    #[default]
    None,
    /// The first announce of a download.
    Started,
    /// The download just finished.
    Completed,
    /// The peer leaves the swarm.
    Stopped,
}

impl Event {
    /// The wire value of `event`, `None` for a regular announce.
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Event::None => None,
            Event::Started => Some("started"),
            Event::Completed => Some("completed"),
            Event::Stopped => Some("stopped"),
        }
    }
}

/// A parsed announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    /// The torrent.
    pub info_hash: InfoHash,
    /// The announcing peer.
    pub peer_id: PeerId,
    /// The peer's listening port (never 0).
    pub port: u16,
    /// Bytes uploaded since `started`.
    pub uploaded: u64,
    /// Bytes downloaded since `started`.
    pub downloaded: u64,
    /// Bytes still missing; 0 means a seeder.
    pub left: u64,
    /// What happened.
    pub event: Event,
    /// Whether the peer list should be compact (BEP 23); true unless `compact=0`.
    pub compact: bool,
    /// How many peers the client wants, as sent (the tracker caps it).
    pub numwant: Option<u32>,
    /// Leave peer ids out of a dictionary peer list.
    pub no_peer_id: bool,
    /// Opaque key identifying the client across IP changes.
    pub key: Option<Vec<u8>>,
    /// The `tracker id` a previous response handed out.
    pub tracker_id: Option<Vec<u8>>,
    /// The address the client claims (`ip`); trust it only from trusted proxies.
    pub ip: Option<IpAddr>,
}

/// Why an announce was refused. The message is the `failure reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnounceError {
    /// The query string is longer than [`MAX_ANNOUNCE_QUERY_BYTES`].
    #[error("query string of {len} bytes is longer than the limit of {max}")]
    QueryTooLong {
        /// Its length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// More `key=value` pairs than we read.
    #[error("too many parameters in the query string")]
    TooManyParameters,
    /// A malformed `%` escape.
    #[error("bad percent-encoding in {0}")]
    BadPercentEncoding(String),
    /// A value longer than any legitimate one.
    #[error("{key} is too long ({len} bytes)")]
    ValueTooLong {
        /// The key.
        key: String,
        /// Its decoded length.
        len: usize,
    },
    /// A required key is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A single-valued key given twice.
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    /// `info_hash` is not 20 bytes.
    #[error("info_hash must be 20 bytes, got {0}")]
    InfoHashLength(usize),
    /// `peer_id` is not 20 bytes.
    #[error("peer_id must be 20 bytes, got {0}")]
    PeerIdLength(usize),
    /// A number field that is not a non-negative integer.
    #[error("{key} is not a non-negative integer: {value:?}")]
    NotANumber {
        /// The key.
        key: &'static str,
        /// The value, printable and cut short.
        value: String,
    },
    /// `port` outside 1..=65535.
    #[error("port {0} is out of range (1-65535)")]
    PortOutOfRange(String),
    /// An `event` we do not know.
    #[error("unknown event {0:?} (expected started, completed, stopped or empty)")]
    UnknownEvent(String),
}

impl From<SplitError> for AnnounceError {
    fn from(e: SplitError) -> Self {
        match e {
            SplitError::TooManyPairs => AnnounceError::TooManyParameters,
            SplitError::BadPercent { key } => AnnounceError::BadPercentEncoding(key),
            SplitError::ValueTooLong { key, len } => AnnounceError::ValueTooLong { key, len },
        }
    }
}

/// Stores a single-valued key, refusing a second occurrence.
fn set_once(
    slot: &mut Option<Vec<u8>>,
    name: &'static str,
    value: Vec<u8>,
) -> Result<(), AnnounceError> {
    if slot.is_some() {
        return Err(AnnounceError::Duplicate(name));
    }
    *slot = Some(value);
    Ok(())
}

fn number(name: &'static str, value: &[u8]) -> Result<u64, AnnounceError> {
    query::parse_u64(value).ok_or_else(|| AnnounceError::NotANumber {
        key: name,
        value: printable(value),
    })
}

impl AnnounceRequest {
    /// Parses the raw query string of `/announce?...` (without the `?`).
    /// Unknown keys are ignored (not even decoded), as clients send many
    /// extensions.
    pub fn parse(query: &[u8]) -> Result<Self, AnnounceError> {
        if query.len() > MAX_ANNOUNCE_QUERY_BYTES {
            return Err(AnnounceError::QueryTooLong {
                len: query.len(),
                max: MAX_ANNOUNCE_QUERY_BYTES,
            });
        }
        const KEYS: [&str; 13] = [
            "info_hash",
            "peer_id",
            "port",
            "uploaded",
            "downloaded",
            "left",
            "event",
            "compact",
            "numwant",
            "no_peer_id",
            "key",
            "trackerid",
            "ip",
        ];
        let mut slots: [Option<Vec<u8>>; 13] = Default::default();
        for pair in query::raw_pairs(query) {
            let (raw_key, raw_value) = pair?;
            let key = query::decode_key(raw_key)?;
            if let Some(i) = KEYS.iter().position(|k| k.as_bytes() == &*key) {
                set_once(
                    &mut slots[i],
                    KEYS[i],
                    query::decode_value(&key, raw_value)?,
                )?;
            }
        }
        let [
            info_hash,
            peer_id,
            port,
            uploaded,
            downloaded,
            left,
            event,
            compact,
            numwant,
            no_peer_id,
            key,
            tracker_id,
            ip,
        ] = slots;

        let info_hash = info_hash.ok_or(AnnounceError::Missing("info_hash"))?;
        let info_hash = InfoHash(
            info_hash
                .as_slice()
                .try_into()
                .map_err(|_| AnnounceError::InfoHashLength(info_hash.len()))?,
        );
        let peer_id = peer_id.ok_or(AnnounceError::Missing("peer_id"))?;
        let peer_id = PeerId(
            peer_id
                .as_slice()
                .try_into()
                .map_err(|_| AnnounceError::PeerIdLength(peer_id.len()))?,
        );
        let port = port.ok_or(AnnounceError::Missing("port"))?;
        let port = match query::parse_u64(&port) {
            Some(p @ 1..=65535) => p as u16,
            Some(_) => return Err(AnnounceError::PortOutOfRange(printable(&port))),
            None => {
                return Err(AnnounceError::NotANumber {
                    key: "port",
                    value: printable(&port),
                });
            }
        };
        let uploaded = number(
            "uploaded",
            &uploaded.ok_or(AnnounceError::Missing("uploaded"))?,
        )?;
        let downloaded = number(
            "downloaded",
            &downloaded.ok_or(AnnounceError::Missing("downloaded"))?,
        )?;
        let left = number("left", &left.ok_or(AnnounceError::Missing("left"))?)?;
        let event = match event.as_deref() {
            None | Some(b"") | Some(b"paused") => Event::None,
            Some(b"started") => Event::Started,
            Some(b"completed") => Event::Completed,
            Some(b"stopped") => Event::Stopped,
            Some(other) => return Err(AnnounceError::UnknownEvent(printable(other))),
        };
        let compact = compact.as_deref() != Some(b"0");
        let numwant = match numwant {
            None => None,
            Some(v) if v.is_empty() => None,
            // Any number of digits is fine: the tracker caps it anyway.
            Some(v) if v.iter().all(u8::is_ascii_digit) => Some(
                query::parse_u64(&v)
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(u32::MAX),
            ),
            Some(v) => {
                return Err(AnnounceError::NotANumber {
                    key: "numwant",
                    value: printable(&v),
                });
            }
        };
        let no_peer_id = no_peer_id.is_some_and(|v| v.as_slice() != b"0");
        // `ip` is advisory (and may be a host name per BEP 3): keep it only if it parses.
        let ip = ip
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.parse().ok());
        Ok(AnnounceRequest {
            info_hash,
            peer_id,
            port,
            uploaded,
            downloaded,
            left,
            event,
            compact,
            numwant,
            no_peer_id,
            key,
            tracker_id,
            ip,
        })
    }

    /// Builds the query string a client appends to the announce URL (no `?`).
    pub fn to_query_string(&self) -> String {
        let mut q = format!(
            "info_hash={}&peer_id={}&port={}&uploaded={}&downloaded={}&left={}&compact={}",
            percent_encode(&self.info_hash.0),
            percent_encode(&self.peer_id.0),
            self.port,
            self.uploaded,
            self.downloaded,
            self.left,
            u8::from(self.compact),
        );
        if let Some(e) = self.event.as_str() {
            let _ = write!(q, "&event={e}");
        }
        if let Some(n) = self.numwant {
            let _ = write!(q, "&numwant={n}");
        }
        if self.no_peer_id {
            q.push_str("&no_peer_id=1");
        }
        if let Some(k) = &self.key {
            let _ = write!(q, "&key={}", percent_encode(k));
        }
        if let Some(t) = &self.tracker_id {
            let _ = write!(q, "&trackerid={}", percent_encode(t));
        }
        if let Some(ip) = self.ip {
            let _ = write!(q, "&ip={}", percent_encode(ip.to_string().as_bytes()));
        }
        q
    }
}
