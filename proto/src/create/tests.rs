use std::fs;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use proptest::prelude::*;
use sha1::{Digest, Sha1};

use super::*;

/// Deterministic bytes so failures reproduce.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

fn expected_pieces(stream: &[u8], piece_length: usize) -> Vec<[u8; 20]> {
    stream
        .chunks(piece_length)
        .map(|c| Sha1::digest(c).into())
        .collect()
}

fn opts(piece_length: u64) -> CreateOptions {
    CreateOptions {
        piece_length: Some(piece_length),
        ..CreateOptions::default()
    }
}

#[test]
fn the_automatic_piece_length_aims_at_2000_pieces_or_fewer() {
    assert_eq!(auto_piece_length(1), 16 << 10);
    assert_eq!(auto_piece_length(2000 * (16 << 10)), 16 << 10);
    assert_eq!(auto_piece_length(2000 * (16 << 10) + 1), 32 << 10);
    assert_eq!(auto_piece_length(1 << 30), 1 << 20); // 1 GiB: 1,024 pieces
    assert_eq!(auto_piece_length(700 << 20), 512 << 10); // 1,400 pieces
    assert_eq!(auto_piece_length(1 << 50), 16 << 20); // capped
}

#[test]
fn a_single_file_hashes_to_the_sha1_of_each_piece() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(100_000, 1);
    write(dir.path(), "movie.bin", &bytes);
    let c = create_torrent(
        &dir.path().join("movie.bin"),
        &opts(16384),
        &Control::default(),
    )
    .unwrap();
    let m = &c.metainfo;
    assert_eq!(m.info.name, "movie.bin");
    assert!(!m.info.multi_file);
    assert_eq!(m.info.total_length, 100_000);
    assert_eq!(m.info.pieces, expected_pieces(&bytes, 16384));
}

#[test]
fn folders_list_files_in_byte_order_of_their_full_path_as_mktorrent_does() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("share");
    // '.' (0x2E) sorts before '/' (0x2F): "a.txt" comes before "a/b".
    for (rel, seed) in [
        ("a/b", 1),
        ("a.txt", 2),
        ("B", 3),
        ("a b", 4),
        ("é", 5),
        ("a/a/z", 6),
    ] {
        write(&root, rel, &data(1000 + seed as usize, seed));
    }
    let c = create_torrent(&root, &opts(16384), &Control::default()).unwrap();
    let paths: Vec<String> = c
        .metainfo
        .info
        .files
        .iter()
        .map(|f| f.display_path())
        .collect();
    assert_eq!(
        paths,
        [
            "share/B",
            "share/a b",
            "share/a.txt",
            "share/a/a/z",
            "share/a/b",
            "share/é"
        ]
    );
}

#[test]
fn pieces_span_file_boundaries_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("d");
    let files = [
        ("1", data(5000, 1)),
        ("2", Vec::new()),
        ("3", data(20_000, 3)),
        ("4", data(1, 4)),
    ];
    let mut stream = Vec::new();
    for (name, bytes) in &files {
        write(&root, name, bytes);
        stream.extend_from_slice(bytes);
    }
    for threads in [1, 2, 7] {
        let o = CreateOptions {
            threads: Some(threads),
            ..opts(16384)
        };
        let c = create_torrent(&root, &o, &Control::default()).unwrap();
        assert_eq!(
            c.metainfo.info.pieces,
            expected_pieces(&stream, 16384),
            "{threads} threads"
        );
        assert_eq!(c.metainfo.info.files.len(), 4);
        assert_eq!(c.metainfo.info.files[1].length, 0);
    }
}

#[test]
fn hidden_files_are_skipped_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("d");
    write(&root, "seen", b"1");
    write(&root, ".hidden", b"2");
    write(&root, ".git/config", b"3");
    let c = create_torrent(&root, &opts(16384), &Control::default()).unwrap();
    assert_eq!(c.metainfo.info.files.len(), 1);
    let all = CreateOptions {
        include_hidden: true,
        ..opts(16384)
    };
    let c = create_torrent(&root, &all, &Control::default()).unwrap();
    assert_eq!(c.metainfo.info.files.len(), 3);
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_and_bad_ones_refused() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("d");
    write(&root, "real", b"hello");
    write(dir.path(), "outside/x", b"world!");
    symlink(root.join("real"), root.join("link")).unwrap();
    symlink(dir.path().join("outside"), root.join("dirlink")).unwrap();
    let c = create_torrent(&root, &opts(16384), &Control::default()).unwrap();
    let files: Vec<(String, u64)> = c
        .metainfo
        .info
        .files
        .iter()
        .map(|f| (f.display_path(), f.length))
        .collect();
    assert_eq!(
        files,
        [
            ("d/dirlink/x".into(), 6),
            ("d/link".into(), 5),
            ("d/real".into(), 5)
        ]
    );

    symlink(root.join("missing"), root.join("dangling")).unwrap();
    assert!(matches!(
        create_torrent(&root, &opts(16384), &Control::default()),
        Err(CreateError::DanglingSymlink(_))
    ));
    fs::remove_file(root.join("dangling")).unwrap();
    symlink(&root, root.join("loop")).unwrap();
    assert!(matches!(
        create_torrent(&root, &opts(16384), &Control::default()),
        Err(CreateError::SymlinkLoop(_))
    ));
}

#[test]
fn nothing_to_share_and_bad_piece_lengths_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("d");
    fs::create_dir_all(root.join("empty/inside")).unwrap();
    write(&root, "zero", b"");
    assert!(matches!(
        create_torrent(&root, &opts(16384), &Control::default()),
        Err(CreateError::Empty(_))
    ));
    write(&root, "one", b"1");
    for bad in [0, 1000, 8192, 3 << 14, 512 << 20] {
        assert!(matches!(
            create_torrent(&root, &opts(bad), &Control::default()),
            Err(CreateError::BadPieceLength(b)) if b == bad
        ));
    }
    assert!(matches!(
        create_torrent(&dir.path().join("nope"), &opts(16384), &Control::default()),
        Err(CreateError::Io { .. })
    ));
}

#[test]
fn hashing_stops_when_cancelled_and_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f", &data(200_000, 9));
    let cancel = AtomicBool::new(true);
    let c = Control {
        cancel: Some(&cancel),
        ..Control::default()
    };
    assert!(matches!(
        create_torrent(&dir.path().join("f"), &opts(16384), &c),
        Err(CreateError::Cancelled)
    ));

    let last = std::sync::atomic::AtomicU64::new(0);
    let progress = |done: u64| {
        last.fetch_max(done, std::sync::atomic::Ordering::Relaxed);
    };
    let c = Control {
        progress: Some(&progress),
        ..Control::default()
    };
    create_torrent(&dir.path().join("f"), &opts(16384), &c).unwrap();
    assert_eq!(last.into_inner(), 200_000);
}

#[test]
fn no_date_gives_identical_bytes_and_private_and_source_change_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f", &data(50_000, 2));
    let path = dir.path().join("f");
    let a = create_torrent(&path, &opts(16384), &Control::default()).unwrap();
    let b = create_torrent(&path, &opts(16384), &Control::default()).unwrap();
    assert_eq!(a.bytes, b.bytes);
    let private = create_torrent(
        &path,
        &CreateOptions {
            private: true,
            ..opts(16384)
        },
        &Control::default(),
    )
    .unwrap();
    assert!(private.metainfo.info.private);
    let source = CreateOptions {
        private: true,
        source: Some("team".into()),
        ..opts(16384)
    };
    let sourced = create_torrent(&path, &source, &Control::default()).unwrap();
    let hashes = [
        a.metainfo.info_hash,
        private.metainfo.info_hash,
        sourced.metainfo.info_hash,
    ];
    assert!(hashes[0] != hashes[1] && hashes[1] != hashes[2] && hashes[0] != hashes[2]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// parse(create(x)) agrees with x: names, order, lengths, piece hashes.
    #[test]
    fn a_created_torrent_parses_back_to_what_was_on_disk(
        files in proptest::collection::btree_map("[a-z]{1,3}(/[a-z]{1,3}){0,2}", 0usize..40_000, 1..6),
        log_piece in 14u32..17,
        private in any::<bool>(),
    ) {
        // Windows device names (`nul`, `con`...) are renamed on purpose.
        prop_assume!(files.keys().flat_map(|k| k.split('/')).all(|c| !matches!(c, "con" | "prn" | "aux" | "nul")));
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        // Drop entries that would make a file also a folder.
        let names: Vec<&String> = files.keys().collect();
        let kept: Vec<(&String, &usize)> = files
            .iter()
            .filter(|(k, _)| !names.iter().any(|n| n.starts_with(&format!("{k}/"))))
            .collect();
        let mut on_disk = Vec::new();
        for (i, (rel, len)) in kept.iter().enumerate() {
            let bytes = data(**len, i as u64 + 1);
            write(&root, rel, &bytes);
            on_disk.push((format!("root/{rel}"), bytes));
        }
        on_disk.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let stream: Vec<u8> = on_disk.iter().flat_map(|(_, b)| b.clone()).collect();
        let o = CreateOptions { private, ..opts(1 << log_piece) };
        match create_torrent(&root, &o, &Control::default()) {
            Err(CreateError::Empty(_)) => prop_assert!(stream.is_empty()),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
            Ok(c) => {
                let m = Metainfo::from_bytes(&c.bytes).unwrap();
                let got: Vec<(String, u64)> = m.info.files.iter().map(|f| (f.display_path(), f.length)).collect();
                let want: Vec<(String, u64)> = on_disk.iter().map(|(p, b)| (p.clone(), b.len() as u64)).collect();
                prop_assert_eq!(got, want);
                prop_assert_eq!(m.info.private, private);
                prop_assert_eq!(m.info.piece_length, 1u64 << log_piece);
                prop_assert_eq!(&m.info.pieces, &expected_pieces(&stream, 1 << log_piece));
                prop_assert_eq!(m.info_hash, c.metainfo.info_hash);
            }
        }
    }
}
