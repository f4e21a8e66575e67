//! libtorrent's own test torrents: every file libtorrent rejects we reject,
//! every file it loads we load with the same info-hash, unless our documented
//! path policy (proto/src/metainfo/path.rs) refuses it. v2-only torrents get
//! the "not supported" error. Nothing panics.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap

use std::path::PathBuf;

use p2p_proto::metainfo::{Metainfo, MetainfoError};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/libtorrent-corpus")
}

struct Row {
    file: String,
    libtorrent_loads: bool,
    has_v1: bool,
    info_hash_v1: String,
}

fn expectations() -> Vec<Row> {
    let tsv = std::fs::read_to_string(corpus_dir().join("expectations.tsv")).unwrap();
    tsv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            Row {
                file: cols[0].to_owned(),
                libtorrent_loads: cols[1] == "load_ok",
                has_v1: cols[2] == "1",
                info_hash_v1: cols[4].to_owned(),
            }
        })
        .collect()
}

fn load(file: &str) -> Result<Metainfo, MetainfoError> {
    let bytes = std::fs::read(corpus_dir().join(file)).unwrap();
    Metainfo::from_bytes(&bytes)
}

/// Files libtorrent loads and we refuse, each for a reason our path policy states.
fn refused_by_our_path_policy(file: &str, err: &MetainfoError) -> bool {
    matches!(
        (file, err),
        ("duplicate_files.torrent", MetainfoError::DuplicatePath(_))
            | ("empty_path.torrent", MetainfoError::EmptyPath { .. })
            | ("empty_path_multi.torrent", MetainfoError::EmptyPath { .. })
            | ("invalid_filename.torrent", MetainfoError::EmptyPath { .. })
            | ("invalid_name2.torrent", MetainfoError::UnsafeName(_))
    )
}

#[test]
fn the_corpus_is_complete() {
    let rows = expectations();
    assert_eq!(rows.len(), 81);
    for row in &rows {
        assert!(
            corpus_dir().join(&row.file).exists(),
            "{} is missing",
            row.file
        );
    }
}

#[test]
fn every_torrent_libtorrent_rejects_we_reject_with_a_clear_error() {
    for row in expectations().iter().filter(|r| !r.libtorrent_loads) {
        match load(&row.file) {
            Ok(m) => panic!(
                "{} loaded ({}) but libtorrent rejects it",
                row.file, m.info_hash
            ),
            Err(e) => assert!(e.to_string().len() > 10, "{}: unclear error {e}", row.file),
        }
    }
}

#[test]
fn every_v1_torrent_libtorrent_loads_we_load_with_the_same_info_hash() {
    let mut loaded = 0;
    for row in expectations()
        .iter()
        .filter(|r| r.libtorrent_loads && r.has_v1)
    {
        match load(&row.file) {
            Ok(m) => {
                assert_eq!(m.info_hash.to_hex(), row.info_hash_v1, "{}", row.file);
                loaded += 1;
            }
            Err(e) => assert!(
                refused_by_our_path_policy(&row.file, &e),
                "{} refused for a reason our policy does not state: {e}",
                row.file
            ),
        }
    }
    // 41 v1 torrents load in libtorrent; our path policy refuses 5 of them.
    assert_eq!(loaded, 36);
}

#[test]
fn v2_only_torrents_are_refused_as_unsupported() {
    for row in expectations()
        .iter()
        .filter(|r| r.libtorrent_loads && !r.has_v1)
    {
        assert_eq!(
            load(&row.file).unwrap_err(),
            MetainfoError::V2NotSupported,
            "{}",
            row.file
        );
    }
}

#[test]
fn what_we_say_for_each_rejected_file() {
    // Pins our message for each refusal so a change in wording or in the
    // reason is a conscious one.
    let mut report = String::new();
    for row in expectations() {
        if let Err(e) = load(&row.file) {
            report.push_str(&format!("{}\t{e}\n", row.file));
        }
    }
    let expected = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus-errors.tsv"),
    )
    .unwrap_or_default();
    if report != expected {
        std::fs::write(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus-errors.tsv.new"),
            &report,
        )
        .unwrap();
        panic!("corpus errors changed; compare tests/data/corpus-errors.tsv.new:\n{report}");
    }
}
