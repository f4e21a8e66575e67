//! `Metainfo::from_bytes` on arbitrary bytes.
//!
//! Invariants checked when a torrent loads:
//! - `info_hash` is the SHA-1 of `raw_info`, and `raw_info` is exactly the
//!   bytes of the input's `info` value;
//! - `Metainfo::from_info_bytes(raw_info)` gives the same hash and `Info`;
//! - the piece count is ceil(total_length / piece_length), `piece_size` is
//!   consistent with it, and the sizes add up to `total_length`;
//! - file offsets are contiguous from 0 and add up to `total_length`;
//! - every path component obeys the path policy (metainfo/path.rs): not empty,
//!   `.` or `..`; no `/`, `\`, `:`, `<`, `>`, `"`, `|`, `?`, `*` or control
//!   characters; at most 240 bytes; no trailing `.` or space;
//! - no two non-pad files share a path, and no file is another's folder;
//! - `encode_torrent(raw_info, extras from the torrent)` loads back to an equal
//!   `Metainfo` (so the same info-hash);
//! - the magnet link parses back to the same hash, name, length, trackers and
//!   web seeds (when it is within `MAX_MAGNET_BYTES`).
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use p2p_proto::bencode::{Limits, decode_prefix_with};
use p2p_proto::infohash::InfoHash;
use p2p_proto::magnet::{MAX_MAGNET_BYTES, Magnet, MagnetError};
use p2p_proto::metainfo::path::MAX_COMPONENT_BYTES;
use p2p_proto::metainfo::{Metainfo, TorrentExtras, encode_torrent};

fuzz_target!(|data: &[u8]| {
    let Ok(meta) = Metainfo::from_bytes(data) else {
        return;
    };
    let info = &meta.info;

    // Hash and raw bytes.
    assert_eq!(
        meta.info_hash,
        InfoHash::of_info_bytes(&meta.raw_info),
        "info_hash != SHA-1(raw_info)"
    );
    // Bytes after the top-level dictionary are ignored (as libtorrent does).
    let (root, _) =
        decode_prefix_with(data, &Limits::default()).expect("loaded torrent is not bencode");
    assert_eq!(
        root.get("info").map(|v| v.raw),
        Some(meta.raw_info.as_slice()),
        "raw_info is not the input's info dictionary bytes"
    );
    let info_only =
        Metainfo::from_info_bytes(&meta.raw_info).expect("raw_info alone does not load");
    assert_eq!(info_only.info_hash, meta.info_hash);
    assert_eq!(
        info_only.info, meta.info,
        "from_info_bytes gives a different Info"
    );

    // Pieces.
    assert!(info.piece_length >= 1);
    assert!(info.total_length >= 1);
    let expected_pieces = info.total_length.div_ceil(info.piece_length);
    assert_eq!(
        meta.piece_count() as u64,
        expected_pieces,
        "piece count != ceil(total/piece_length)"
    );
    let last = meta.piece_count() - 1;
    let last_size = meta.piece_size(last).expect("no size for the last piece");
    assert!(
        (1..=info.piece_length).contains(&last_size),
        "last piece size {last_size}"
    );
    assert_eq!(
        last as u64 * info.piece_length + last_size,
        info.total_length,
        "piece sizes do not add up to total_length"
    );
    if last > 0 {
        assert_eq!(meta.piece_size(0), Some(info.piece_length));
    }
    assert_eq!(meta.piece_size(meta.piece_count()), None);

    // Files.
    assert!(!info.files.is_empty());
    assert!(
        info.multi_file || info.files.len() == 1,
        "single-file torrent with several files"
    );
    let mut offset = 0u64;
    for (i, f) in info.files.iter().enumerate() {
        assert_eq!(f.offset, offset, "file {i} offset is not contiguous");
        if f.symlink {
            assert_eq!(f.length, 0, "symlink {i} has a length");
        }
        offset = offset.checked_add(f.length).expect("offsets overflow");
        assert!(!f.path.is_empty(), "file {i} has an empty path");
        assert_eq!(
            f.path[0], info.name,
            "file {i} path does not start with the name"
        );
        for c in &f.path {
            check_component(c);
        }
    }
    assert_eq!(
        offset, info.total_length,
        "file lengths do not add up to total_length"
    );
    check_component(&info.name);

    let mut files = HashSet::new();
    let mut folders = HashSet::new();
    for f in info.files.iter().filter(|f| !f.pad) {
        assert!(files.insert(f.path.clone()), "duplicate path {:?}", f.path);
        for depth in 1..f.path.len() {
            folders.insert(f.path[..depth].to_vec());
        }
    }
    for p in &files {
        assert!(!folders.contains(p), "{p:?} is both a file and a folder");
    }

    // Re-wrapping the raw info keeps everything.
    let extras = TorrentExtras {
        trackers: meta.trackers.clone(),
        web_seeds: meta.web_seeds.clone(),
        comment: meta.comment.clone(),
        created_by: meta.created_by.clone(),
        creation_date: meta.creation_date,
    };
    let rewrapped = encode_torrent(&meta.raw_info, &extras);
    let again = Metainfo::from_bytes(&rewrapped).expect("encode_torrent output does not load");
    assert_eq!(
        again.info_hash, meta.info_hash,
        "encode_torrent changed the info-hash"
    );
    assert_eq!(again, meta, "encode_torrent does not round-trip");

    // Magnet link.
    let magnet = meta.magnet();
    let uri = magnet.to_string();
    match Magnet::parse(&uri) {
        Ok(m) => {
            assert_eq!(m.info_hash, meta.info_hash, "magnet changed the info-hash");
            assert_eq!(m, magnet, "magnet does not round-trip");
        }
        Err(MagnetError::TooLong(n)) => assert!(n > MAX_MAGNET_BYTES),
        Err(e) => panic!("magnet {uri:?} does not parse: {e}"),
    }
});

fn check_component(c: &str) {
    assert!(!c.is_empty(), "empty path component");
    assert!(c != "." && c != "..", "path component {c:?}");
    assert!(
        !c.chars().any(
            |ch| matches!(ch, '/' | '\\' | ':' | '<' | '>' | '"' | '|' | '?' | '*')
                || ch.is_control()
        ),
        "path component {c:?} has a forbidden character"
    );
    assert!(
        c.len() <= MAX_COMPONENT_BYTES,
        "path component of {} bytes",
        c.len()
    );
    assert!(
        !c.ends_with(['.', ' ']),
        "path component {c:?} ends with a dot or a space"
    );
}
