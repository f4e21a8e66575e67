//! Scrape requests and responses (BEP 48): one or many `info_hash` keys in,
//! a `files` dictionary keyed by raw info-hash out. Whether a full scrape
//! is allowed is the tracker's policy, not decided here.

use std::collections::BTreeMap;

use super::query::{self, SplitError};
use super::response::{ResponseError, get_u32};
use crate::bencode::{self, OwnedValue};
use crate::infohash::InfoHash;
use crate::percent::percent_encode;

/// Most info-hashes in one scrape.
pub const MAX_SCRAPE_HASHES: usize = 200;
/// Longest scrape query string accepted (200 hashes fully escaped fit).
pub const MAX_SCRAPE_QUERY_BYTES: usize = 16 << 10;

/// A parsed scrape; no hashes means a full scrape (which a tracker may refuse).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScrapeRequest {
    /// The torrents asked about, duplicates removed, in request order.
    pub info_hashes: Vec<InfoHash>,
}

/// Why a scrape was refused. The message is the `failure reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScrapeError {
    /// The query string is longer than [`MAX_SCRAPE_QUERY_BYTES`].
    #[error("query string of {len} bytes is longer than the limit of {max}")]
    QueryTooLong {
        /// Its length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// More than [`MAX_SCRAPE_HASHES`] hashes, or too many parameters.
    #[error("too many info_hash values (at most {MAX_SCRAPE_HASHES})")]
    TooMany,
    /// A malformed `%` escape.
    #[error("bad percent-encoding in {0}")]
    BadPercentEncoding(String),
    /// An `info_hash` that is not 20 bytes.
    #[error("info_hash must be 20 bytes, got {0}")]
    InfoHashLength(usize),
}

/// Counters for one torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrapeStats {
    /// Seeders.
    pub complete: u32,
    /// Completed downloads ever counted.
    pub downloaded: u32,
    /// Leechers.
    pub incomplete: u32,
}

/// A scrape response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScrapeResponse {
    /// Counters per torrent; unknown torrents are left out.
    pub files: Vec<(InfoHash, ScrapeStats)>,
}

impl ScrapeRequest {
    /// Parses the raw query string of `/scrape?...`; other keys are ignored.
    pub fn parse(query: &[u8]) -> Result<Self, ScrapeError> {
        if query.len() > MAX_SCRAPE_QUERY_BYTES {
            return Err(ScrapeError::QueryTooLong {
                len: query.len(),
                max: MAX_SCRAPE_QUERY_BYTES,
            });
        }
        let split_error = |e| match e {
            SplitError::TooManyPairs => ScrapeError::TooMany,
            SplitError::BadPercent { key } => ScrapeError::BadPercentEncoding(key),
            SplitError::ValueTooLong { len, .. } => ScrapeError::InfoHashLength(len),
        };
        let mut info_hashes = Vec::new();
        for pair in query::raw_pairs(query) {
            let (raw_key, raw_value) = pair.map_err(split_error)?;
            if *query::decode_key(raw_key).map_err(split_error)? != *b"info_hash" {
                continue;
            }
            let value = query::decode_value(b"info_hash", raw_value).map_err(split_error)?;
            let hash = InfoHash(
                value
                    .as_slice()
                    .try_into()
                    .map_err(|_| ScrapeError::InfoHashLength(value.len()))?,
            );
            if !info_hashes.contains(&hash) {
                if info_hashes.len() == MAX_SCRAPE_HASHES {
                    return Err(ScrapeError::TooMany);
                }
                info_hashes.push(hash);
            }
        }
        Ok(ScrapeRequest { info_hashes })
    }

    /// Builds the query string (no `?`).
    pub fn to_query_string(&self) -> String {
        self.info_hashes
            .iter()
            .map(|h| format!("info_hash={}", percent_encode(&h.0)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

impl ScrapeResponse {
    /// Encodes `d5:filesd<hash>d8:complete..10:downloaded..10:incomplete..eee`.
    pub fn encode(&self) -> Vec<u8> {
        let files = self
            .files
            .iter()
            .map(|(h, s)| {
                let stats = OwnedValue::dict()
                    .with("complete", OwnedValue::Int(i64::from(s.complete)))
                    .with("downloaded", OwnedValue::Int(i64::from(s.downloaded)))
                    .with("incomplete", OwnedValue::Int(i64::from(s.incomplete)));
                (h.0.to_vec(), stats)
            })
            .collect::<BTreeMap<_, _>>();
        bencode::encode(&OwnedValue::dict().with("files", OwnedValue::Dict(files)))
    }

    /// Decodes a scrape response, sorted by info-hash.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ResponseError> {
        let v = bencode::decode(bytes)?;
        if let Some(reason) = v.get("failure reason").and_then(|r| r.as_bytes()) {
            return Err(ResponseError::Failure(
                String::from_utf8_lossy(reason).into_owned(),
            ));
        }
        let files = v
            .get("files")
            .and_then(|f| f.as_dict())
            .ok_or_else(|| ResponseError::Shape("missing files".into()))?;
        let mut out = Vec::with_capacity(files.len());
        for (k, s) in files {
            let hash = InfoHash(
                (*k).try_into()
                    .map_err(|_| ResponseError::Shape("files key is not 20 bytes".into()))?,
            );
            out.push((
                hash,
                ScrapeStats {
                    complete: get_u32(s, "complete")?.unwrap_or(0),
                    downloaded: get_u32(s, "downloaded")?.unwrap_or(0),
                    incomplete: get_u32(s, "incomplete")?.unwrap_or(0),
                },
            ));
        }
        out.sort_by_key(|(h, _)| *h);
        Ok(ScrapeResponse { files: out })
    }
}
