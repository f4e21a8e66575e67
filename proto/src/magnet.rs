//! Magnet links for BitTorrent v1 (BEP 9): `xt=urn:btih:` in hex or base32,
//! `dn`, any number of `tr`, `xl`, `x.pe` (peer addresses), `ws` (web seeds)
//! and `so` (BEP 53: the files to fetch, by index from 0).

use std::fmt;
use std::net::SocketAddr;

use crate::indexes::{IndexError, IndexRanges};
use crate::infohash::InfoHash;
use crate::percent::{percent_decode_plus_as_space, percent_encode};

/// Longest magnet URI we parse; real ones are well under 4 KiB.
pub const MAX_MAGNET_BYTES: usize = 64 * 1024;

/// A parsed magnet link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    /// The v1 info-hash from `xt=urn:btih:`.
    pub info_hash: InfoHash,
    /// `dn`: a name to show until the metadata arrives.
    pub display_name: Option<String>,
    /// `tr`: trackers, in order.
    pub trackers: Vec<String>,
    /// `xl`: total size in bytes.
    pub exact_length: Option<u64>,
    /// `x.pe`: peers to try directly.
    pub peers: Vec<SocketAddr>,
    /// `ws`: web seeds.
    pub web_seeds: Vec<String>,
    /// `so` (BEP 53): fetch only these files, by index from 0 in the info
    /// dictionary's order; `None` fetches every file. Indexes past the
    /// torrent's last file are ignored once the metadata is known.
    pub select_only: Option<IndexRanges>,
}

/// Why a text is not a usable magnet link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MagnetError {
    /// Does not start with `magnet:?`.
    #[error("not a magnet link: it must start with 'magnet:?'")]
    NotAMagnet,
    /// Longer than [`MAX_MAGNET_BYTES`].
    #[error("magnet link is {0} bytes long, more than the limit of {MAX_MAGNET_BYTES}")]
    TooLong(usize),
    /// No `xt=urn:btih:`.
    #[error("magnet link has no 'xt=urn:btih:' info-hash")]
    MissingInfoHash,
    /// Only a v2 (`urn:btmh:`) hash.
    #[error("BitTorrent v2 is not supported (magnet link has only a 'urn:btmh:' hash)")]
    V2NotSupported,
    /// A malformed `btih` value.
    #[error("bad info-hash in magnet link: {0:?} (expected 40 hex digits or 32 base32 characters)")]
    BadInfoHash(String),
    /// Two different `btih` values.
    #[error("magnet link names two different info-hashes")]
    ConflictingInfoHashes,
    /// `xl` is not a number.
    #[error("bad 'xl' (exact length) in magnet link: {0:?}")]
    BadLength(String),
    /// `x.pe` is not `host:port`.
    #[error("bad 'x.pe' peer address in magnet link: {0:?} (expected IP:PORT or [IPv6]:PORT)")]
    BadPeer(String),
    /// A `%` escape that is not two hex digits, or text that is not UTF-8.
    #[error("bad percent-encoding in magnet link parameter {0:?}")]
    BadEncoding(String),
    /// `so` is not a list of indexes and ranges.
    #[error("bad 'so' (select only) in magnet link: {0}")]
    BadSelectOnly(IndexError),
}

impl Magnet {
    /// Parses a magnet URI.
    pub fn parse(uri: &str) -> Result<Magnet, MagnetError> {
        if uri.len() > MAX_MAGNET_BYTES {
            return Err(MagnetError::TooLong(uri.len()));
        }
        let query = uri
            .strip_prefix("magnet:?")
            .or_else(|| {
                uri.get(..8)
                    .filter(|p| p.eq_ignore_ascii_case("magnet:?"))
                    .map(|_| &uri[8..])
            })
            .ok_or(MagnetError::NotAMagnet)?;
        let mut info_hash = None;
        let mut saw_v2 = false;
        let mut m = Magnet {
            info_hash: InfoHash([0; 20]),
            display_name: None,
            trackers: Vec::new(),
            exact_length: None,
            peers: Vec::new(),
            web_seeds: Vec::new(),
            select_only: None,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(raw).ok_or_else(|| MagnetError::BadEncoding(key.into()))?;
            // `tr.1`, `xt.1`... are the numbered forms of the same keys.
            let base = key.split_once('.').map_or(key, |(b, n)| {
                if n.bytes().all(|c| c.is_ascii_digit()) {
                    b
                } else {
                    key
                }
            });
            match base {
                "xt" => {
                    if let Some(h) = value.strip_prefix("urn:btih:") {
                        let parsed = InfoHash::parse(h)
                            .map_err(|_| MagnetError::BadInfoHash(h.chars().take(64).collect()))?;
                        if info_hash.is_some_and(|prev| prev != parsed) {
                            return Err(MagnetError::ConflictingInfoHashes);
                        }
                        info_hash = Some(parsed);
                    } else if value.starts_with("urn:btmh:") {
                        saw_v2 = true;
                    }
                }
                "dn" => m.display_name = Some(value).filter(|v| !v.is_empty()),
                "tr" if !value.is_empty() && !m.trackers.contains(&value) => m.trackers.push(value),
                // As in a .torrent's `url-list`: unusable or surplus
                // web seeds are dropped, the link still works.
                "ws" => {
                    if let Some(url) = crate::webseed::accept_url(&value)
                        && m.web_seeds.len() < crate::webseed::MAX_WEB_SEEDS
                        && !m.web_seeds.contains(&url)
                    {
                        m.web_seeds.push(url);
                    }
                }
                "xl" => {
                    let n = value
                        .parse()
                        .map_err(|_| MagnetError::BadLength(value.chars().take(64).collect()))?;
                    m.exact_length = Some(n);
                }
                // BEP 53: several `so` keys add up.
                "so" => {
                    let more = IndexRanges::parse(&value, 0).map_err(MagnetError::BadSelectOnly)?;
                    m.select_only = Some(match m.select_only.take() {
                        Some(before) => before.join(more).map_err(MagnetError::BadSelectOnly)?,
                        None => more,
                    });
                }
                "x.pe" => {
                    let addr = value
                        .parse()
                        .map_err(|_| MagnetError::BadPeer(value.chars().take(64).collect()))?;
                    m.peers.push(addr);
                }
                _ => {}
            }
        }
        m.info_hash = match (info_hash, saw_v2) {
            (Some(h), _) => h,
            (None, true) => return Err(MagnetError::V2NotSupported),
            (None, false) => return Err(MagnetError::MissingInfoHash),
        };
        Ok(m)
    }
}

impl fmt::Display for Magnet {
    /// The URI form: hex info-hash first, then name, length, trackers, seeds, peers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "magnet:?xt=urn:btih:{}", self.info_hash.to_hex())?;
        if let Some(dn) = &self.display_name {
            write!(f, "&dn={}", percent_encode(dn.as_bytes()))?;
        }
        if let Some(xl) = self.exact_length {
            write!(f, "&xl={xl}")?;
        }
        for tr in &self.trackers {
            write!(f, "&tr={}", percent_encode(tr.as_bytes()))?;
        }
        for ws in &self.web_seeds {
            write!(f, "&ws={}", percent_encode(ws.as_bytes()))?;
        }
        for pe in &self.peers {
            write!(f, "&x.pe={}", percent_encode(pe.to_string().as_bytes()))?;
        }
        if let Some(so) = &self.select_only {
            write!(f, "&so={}", so.display(0))?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Magnet {
    type Err = MagnetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Magnet::parse(s)
    }
}

/// Decodes `%XX` escapes and `+` (as space, the form encoding many sites use);
/// `None` on a bad escape or a result that is not UTF-8.
fn decode(s: &str) -> Option<String> {
    String::from_utf8(percent_decode_plus_as_space(s.as_bytes()).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

    #[test]
    fn parses_every_field() {
        let m = Magnet::parse(&format!(
            "magnet:?xt=urn:btih:{HEX}&dn=Big+Buck%20Bunny&tr=udp%3A%2F%2Fa.example%3A80&tr=http://b.example/announce&xl=276445467&x.pe=127.0.0.1:6881&x.pe=[::1]:51413&ws=https%3A%2F%2Fseed.example%2F"
        ))
        .unwrap();
        assert_eq!(m.info_hash.to_hex(), HEX);
        assert_eq!(m.display_name.as_deref(), Some("Big Buck Bunny"));
        assert_eq!(
            m.trackers,
            ["udp://a.example:80", "http://b.example/announce"]
        );
        assert_eq!(m.exact_length, Some(276_445_467));
        assert_eq!(
            m.peers,
            [
                "127.0.0.1:6881".parse().unwrap(),
                "[::1]:51413".parse().unwrap()
            ]
        );
        assert_eq!(m.web_seeds, ["https://seed.example/"]);
    }

    #[test]
    fn web_seeds_are_kept_when_usable_once_and_up_to_the_cap() {
        let mut uri =
            format!("magnet:?xt=urn:btih:{HEX}&ws=ftp%3A%2F%2Fx%2F&ws=&ws=http://a/&ws=http://a/");
        for i in 0..100 {
            uri.push_str(&format!("&ws=http://h{i}/"));
        }
        let m = Magnet::parse(&uri).unwrap();
        assert_eq!(m.web_seeds.len(), crate::webseed::MAX_WEB_SEEDS);
        assert_eq!(m.web_seeds[..2], ["http://a/", "http://h0/"]);
    }

    #[test]
    fn base32_hashes_and_numbered_keys_are_understood() {
        let m =
            Magnet::parse("magnet:?xt.1=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&tr.1=http://t/a")
                .unwrap();
        assert_eq!(m.info_hash.to_hex(), HEX);
        assert_eq!(m.trackers, ["http://t/a"]);
    }

    #[test]
    fn display_then_parse_round_trips() {
        let m = Magnet {
            info_hash: InfoHash::parse(HEX).unwrap(),
            display_name: Some("a & b = c/ü".into()),
            trackers: vec!["http://127.0.0.1:6969/announce?x=1&y=2".into()],
            exact_length: Some(42),
            peers: vec!["[::1]:6881".parse().unwrap()],
            web_seeds: vec!["http://w/".into()],
            select_only: Some(IndexRanges::parse("0,2,4-6", 0).unwrap()),
        };
        assert_eq!(Magnet::parse(&m.to_string()).unwrap(), m);
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(Magnet::parse("http://x"), Err(MagnetError::NotAMagnet));
        assert_eq!(
            Magnet::parse("magnet:?dn=x"),
            Err(MagnetError::MissingInfoHash)
        );
        assert_eq!(
            Magnet::parse("magnet:?xt=urn:btmh:1220abcd"),
            Err(MagnetError::V2NotSupported)
        );
        assert_eq!(
            Magnet::parse("magnet:?xt=urn:btih:1234"),
            Err(MagnetError::BadInfoHash("1234".into()))
        );
        assert_eq!(
            Magnet::parse(&format!(
                "magnet:?xt=urn:btih:{HEX}&xt=urn:btih:{}",
                "0".repeat(40)
            )),
            Err(MagnetError::ConflictingInfoHashes)
        );
        assert_eq!(
            Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&xl=-1")),
            Err(MagnetError::BadLength("-1".into()))
        );
        assert_eq!(
            Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&x.pe=nohost")),
            Err(MagnetError::BadPeer("nohost".into()))
        );
        assert_eq!(
            Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&dn=%zz")),
            Err(MagnetError::BadEncoding("dn".into()))
        );
        let long = format!(
            "magnet:?xt=urn:btih:{HEX}&dn={}",
            "a".repeat(MAX_MAGNET_BYTES)
        );
        assert_eq!(Magnet::parse(&long), Err(MagnetError::TooLong(long.len())));
    }

    #[test]
    fn an_escape_must_be_two_hex_digits_and_decode_to_utf8() {
        for bad in ["%+a", "%4", "%ff"] {
            assert_eq!(
                Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&dn={bad}")),
                Err(MagnetError::BadEncoding("dn".into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn select_only_lists_files_from_zero_and_adds_up() {
        let m = Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&so=0,2,4-6&so=9")).unwrap();
        let so = m.select_only.unwrap();
        assert_eq!(so.ranges(), [(0, 0), (2, 2), (4, 6), (9, 9)]);
        let none = Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}")).unwrap();
        assert_eq!(none.select_only, None);
        // Percent-encoded commas are the same list.
        let enc = Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&so=1%2C3")).unwrap();
        assert_eq!(enc.select_only.unwrap().ranges(), [(1, 1), (3, 3)]);
    }

    #[test]
    fn hostile_select_only_values_fail_with_a_reason() {
        for (so, want) in [
            ("", IndexError::Empty),
            ("6-4", IndexError::Reversed { from: 6, to: 4 }),
            ("x", IndexError::NotAnIndex("x".into())),
            ("-1", IndexError::NotAnIndex("-1".into())),
            ("4294967296", IndexError::TooLarge(4_294_967_296)),
            (
                "0-18446744073709551616",
                IndexError::NotAnIndex("0-18446744073709551616".into()),
            ),
        ] {
            assert_eq!(
                Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&so={so}")),
                Err(MagnetError::BadSelectOnly(want)),
                "{so}"
            );
        }
        let many = vec!["1"; crate::indexes::MAX_INDEX_RANGES + 1].join(",");
        assert_eq!(
            Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&so={many}")),
            Err(MagnetError::BadSelectOnly(IndexError::TooMany))
        );
        // Many small `so` keys cannot add up past the cap either.
        let keys = "&so=1".repeat(crate::indexes::MAX_INDEX_RANGES + 1);
        assert_eq!(
            Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}{keys}")),
            Err(MagnetError::BadSelectOnly(IndexError::TooMany))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_select_only_value_parses_or_fails_cleanly(so in "[0-9,\\-%a-f ]{0,60}") {
            let _ = Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&so={so}"));
        }
    }
}
