//! Writes a .torrent around an info dictionary that is already encoded, so
//! its bytes (and the info-hash) stay exactly what they were.

use std::collections::BTreeMap;

use crate::bencode::{OwnedValue, encode_into};

/// The keys of a .torrent outside the info dictionary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TorrentExtras {
    /// Tracker tiers (BEP 12). The first URL also becomes `announce`.
    pub trackers: Vec<Vec<String>>,
    /// Web seeds (BEP 19).
    pub web_seeds: Vec<String>,
    /// `comment`.
    pub comment: Option<String>,
    /// `created by`.
    pub created_by: Option<String>,
    /// `creation date` in seconds since the Unix epoch; `None` for reproducible bytes.
    pub creation_date: Option<i64>,
}

/// Encodes a whole .torrent: `extras` plus the raw info dictionary, keys sorted.
///
/// `announce-list` is written only when there is more than one URL, as
/// mktorrent does, so a single-tracker torrent stays minimal.
pub fn encode_torrent(raw_info: &[u8], extras: &TorrentExtras) -> Vec<u8> {
    let mut outer: BTreeMap<&str, OwnedValue> = BTreeMap::new();
    let tiers: Vec<Vec<String>> = extras
        .trackers
        .iter()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect();
    if let Some(first) = tiers.first().and_then(|t| t.first()) {
        outer.insert("announce", OwnedValue::bytes(first));
    }
    if tiers.iter().map(Vec::len).sum::<usize>() > 1 {
        let list = tiers
            .iter()
            .map(|t| OwnedValue::List(t.iter().map(OwnedValue::bytes).collect()))
            .collect();
        outer.insert("announce-list", OwnedValue::List(list));
    }
    if let Some(c) = &extras.comment {
        outer.insert("comment", OwnedValue::bytes(c));
    }
    if let Some(c) = &extras.created_by {
        outer.insert("created by", OwnedValue::bytes(c));
    }
    if let Some(d) = extras.creation_date {
        outer.insert("creation date", OwnedValue::Int(d));
    }
    match extras.web_seeds.as_slice() {
        [] => {}
        [one] => {
            outer.insert("url-list", OwnedValue::bytes(one));
        }
        many => {
            outer.insert(
                "url-list",
                OwnedValue::List(many.iter().map(OwnedValue::bytes).collect()),
            );
        }
    }

    let mut out = Vec::with_capacity(raw_info.len() + 256);
    out.push(b'd');
    let mut info_written = false;
    for (key, value) in &outer {
        if !info_written && *key > "info" {
            put_raw("info", raw_info, &mut out);
            info_written = true;
        }
        encode_into(&OwnedValue::bytes(key), &mut out);
        encode_into(value, &mut out);
    }
    if !info_written {
        put_raw("info", raw_info, &mut out);
    }
    out.push(b'e');
    out
}

fn put_raw(key: &str, raw: &[u8], out: &mut Vec<u8>) {
    encode_into(&OwnedValue::bytes(key), out);
    out.extend_from_slice(raw);
}
