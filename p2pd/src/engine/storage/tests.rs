use super::*;
use crate::engine::piecebuf::PieceBuf;
use std::fs;

/// One handle at a time: every switch of file closes and reopens.
fn handles() -> Arc<FileHandles> {
    Arc::new(FileHandles::new(1))
}
use p2p_proto::create::{Control, CreateOptions, create_torrent};

/// A two-file torrent (unicode, nested) and its byte stream.
fn make(dir: &Path) -> (Metainfo, Vec<u8>) {
    let src = dir.join("src/pack");
    fs::create_dir_all(src.join("sub/ü")).unwrap();
    let a: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let b: Vec<u8> = (0..9_000u32).map(|i| (i % 13) as u8).collect();
    fs::write(src.join("a.bin"), &a).unwrap();
    fs::write(src.join("sub/ü/b.bin"), &b).unwrap();
    let opts = CreateOptions {
        piece_length: Some(16384),
        ..CreateOptions::default()
    };
    let c = create_torrent(&src, &opts, &Control::default()).unwrap();
    (c.metainfo, [a, b].concat())
}

#[test]
fn pieces_written_across_files_read_back_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, stream) = make(dir.path());
    let dl = dir.path().join("downloads");
    let s = Storage::new(&meta, &dl, true, handles()).unwrap();
    s.allocate().unwrap();
    assert_eq!(fs::metadata(dl.join("pack/a.bin")).unwrap().len(), 40_000);
    let mut buf = Vec::new();
    assert!(!s.verify_piece(2, &meta.info.pieces[2], &mut buf).unwrap());
    for i in 0..meta.piece_count() as u32 {
        let (start, len) = s.piece_span(i);
        s.write(start, &stream[start as usize..start as usize + len])
            .unwrap();
    }
    for i in 0..meta.piece_count() as u32 {
        assert!(
            s.verify_piece(i, &meta.info.pieces[i as usize], &mut buf)
                .unwrap()
        );
    }
    assert_eq!(
        fs::read(dl.join("pack/sub/ü/b.bin")).unwrap(),
        &stream[40_000..]
    );
    // Piece 2 spans a.bin (bytes 32768..40000) and b.bin.
    assert_eq!(s.pieces_of_file(1), 2..3);
}

/// One file of five 64 KiB pieces and a short last piece.
fn single_file(dir: &Path) -> (Metainfo, Vec<u8>) {
    let src = dir.join("src");
    fs::create_dir_all(&src).unwrap();
    let data: Vec<u8> = (0..5 * 65_536 + 1_000u32)
        .map(|i| (i % 253) as u8)
        .collect();
    fs::write(src.join("one.bin"), &data).unwrap();
    let opts = CreateOptions {
        piece_length: Some(65_536),
        ..CreateOptions::default()
    };
    let c = create_torrent(&src.join("one.bin"), &opts, &Control::default()).unwrap();
    (c.metainfo, data)
}

fn piece_bufs(s: &Storage, stream: &[u8], pieces: std::ops::Range<u32>) -> Vec<PieceBuf> {
    pieces
        .map(|i| {
            let (start, len) = s.piece_span(i);
            let mut b = PieceBuf::zeroed(len);
            b.copy_from_slice(&stream[start as usize..start as usize + len]);
            b
        })
        .collect()
}

#[test]
fn runs_of_pieces_land_byte_for_byte_with_and_without_direct_io() {
    for direct in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (meta, stream) = single_file(dir.path());
        let s = Storage::new(&meta, &dir.path().join("dl"), direct, handles()).unwrap();
        s.allocate().unwrap();
        let bufs = piece_bufs(&s, &stream, 0..6);
        let slices: Vec<&[u8]> = bufs.iter().map(|b| &b[..]).collect();
        // An aligned run, a single aligned piece, and a run ending in
        // the short last piece (which cannot go direct).
        s.write_run(0, &slices[0..3]).unwrap();
        s.write_run(3 * 65_536, &slices[3..4]).unwrap();
        s.write_run(4 * 65_536, &slices[4..6]).unwrap();
        s.sync_all().unwrap();
        assert_eq!(fs::read(dir.path().join("dl/one.bin")).unwrap(), stream);
        let mut buf = Vec::new();
        for i in 0..6 {
            assert!(
                s.verify_piece(i, &meta.info.pieces[i as usize], &mut buf)
                    .unwrap()
            );
        }
    }
}

#[test]
fn a_run_across_files_is_written_piece_by_piece() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, stream) = make(dir.path());
    let dl = dir.path().join("downloads");
    let s = Storage::new(&meta, &dl, true, handles()).unwrap();
    s.allocate().unwrap();
    let n = meta.piece_count() as u32;
    let bufs = piece_bufs(&s, &stream, 0..n);
    let slices: Vec<&[u8]> = bufs.iter().map(|b| &b[..]).collect();
    s.write_run(0, &slices).unwrap();
    assert_eq!(fs::read(dl.join("pack/a.bin")).unwrap(), &stream[..40_000]);
    assert_eq!(
        fs::read(dl.join("pack/sub/ü/b.bin")).unwrap(),
        &stream[40_000..]
    );
}

#[test]
fn reads_past_the_end_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, _) = make(dir.path());
    let s = Storage::new(&meta, &dir.path().join("dl"), true, handles()).unwrap();
    let mut buf = [0u8; 10];
    assert!(s.read(meta.info.total_length - 5, &mut buf).is_err());
}

/// Four files of different sizes in pieces of 16 KiB, so pieces
/// straddle every boundary; returns the torrent and its byte stream.
fn four_files(dir: &std::path::Path) -> (p2p_proto::metainfo::Metainfo, Vec<u8>) {
    use p2p_proto::create::{Control, CreateOptions, create_torrent};
    let src = dir.join("src/four");
    std::fs::create_dir_all(&src).unwrap();
    let mut stream = Vec::new();
    for (n, len) in [(1, 40_000u32), (2, 25_000), (3, 9_000), (4, 30_001)] {
        let bytes: Vec<u8> = (0..len).map(|i| (i * n % 251) as u8).collect();
        std::fs::write(src.join(format!("f{n}.bin")), &bytes).unwrap();
        stream.extend(bytes);
    }
    let opts = CreateOptions {
        piece_length: Some(16_384),
        ..CreateOptions::default()
    };
    (
        create_torrent(&src, &opts, &Control::default())
            .unwrap()
            .metainfo,
        stream,
    )
}

#[test]
fn a_parked_file_is_never_created_and_its_bytes_come_out_when_wanted() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, stream) = four_files(dir.path());
    let dl = dir.path().join("dl");
    let parts = dir.path().join("state/x.parts");
    std::fs::create_dir_all(parts.parent().unwrap()).unwrap();
    let s = Storage::new(&meta, &dl, true, Arc::new(FileHandles::new(4)))
        .unwrap()
        .with_part_file(&meta, parts.clone());
    s.park_if_absent(1).unwrap();
    s.park_if_absent(3).unwrap();
    s.allocate().unwrap();
    assert!(dl.join("four/f1.bin").exists() && dl.join("four/f3.bin").exists());
    // Every piece arrives (the torrent would not fetch pieces of file 2
    // only, but shared ones carry its bytes).
    for i in 0..meta.piece_count() as u32 {
        let (start, len) = s.piece_span(i);
        s.write(start, &stream[start as usize..start as usize + len])
            .unwrap();
    }
    s.sync_all().unwrap();
    assert!(!dl.join("four/f2.bin").exists() && !dl.join("four/f4.bin").exists());
    assert_eq!(
        std::fs::read(dl.join("four/f1.bin")).unwrap(),
        &stream[..40_000]
    );
    // Shared pieces read back whole, their skipped part from the part file.
    let mut buf = Vec::new();
    for i in 0..meta.piece_count() as u32 {
        let shared = s.holds_piece(i);
        let good = s
            .verify_piece(i, &meta.info.pieces[i as usize], &mut buf)
            .unwrap();
        assert_eq!(good, shared, "piece {i}");
    }
    // Piece 5 (81920..98304) lies in file 4 only: not held.
    assert!(!s.holds_piece(5) && s.holds_piece(4));
    // File 4 wanted: created with what the part file had of it.
    s.unpark(3).unwrap();
    let f4 = std::fs::read(dl.join("four/f4.bin")).unwrap();
    assert_eq!(f4.len(), 30_001);
    // Piece 4 (65536..81920) holds the end of file 3 and the start of
    // file 4 (74000..): those bytes came out of the part file.
    assert_eq!(&f4[..81_920 - 74_000], &stream[74_000..81_920]);
    assert!(s.holds_piece(5));
    assert!(parts.exists(), "file 2 is still parked");
    s.unpark(1).unwrap();
    assert!(!parts.exists(), "nothing parked: the part file is gone");
}
