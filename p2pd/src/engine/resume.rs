//! Resume records: the verified pieces of a torrent and the size and mtime
//! of its files, written atomically (temp file, fsync, rename, fsync of the
//! folder) under `downloads/.progress/`. On start a record whose files still
//! match is trusted; files that changed get their pieces checked again.
//!
//! A run marker (`HASH.running` beside the record) exists while a torrent
//! that is not complete runs (a complete one writes no data) and is
//! removed after the last record of a clean stop. Found at
//! start, it means we crashed: the record's pieces were fsynced before it
//! was written, so they are trusted even though our own later writes moved
//! the files' mtime; only the pieces the record lacks are hashed (to pick
//! up what was written after it). A file whose size changed, or whose
//! mtime went back, is still checked in full. An edit that keeps the size
//! made between a crash and the next start is not seen. A record the same
//! as the one on disk is not written again.
//!
//! A record also keeps each file's priority (one byte per file), so a
//! restart keeps the user's choice of files over the one the torrent was
//! added with; a record without them (older) leaves the add's choice.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use p2p_proto::bencode::{self, OwnedValue};
use p2p_proto::bitfield::Bitfield;
use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::FilePriority;

use super::storage::{FileState, Storage};

/// Format version written in each record.
const RECORD_VERSION: i64 = 1;
/// Largest record we read (a bitfield of 3.3 million pieces plus the file list).
const MAX_RECORD_BYTES: u64 = 64 << 20;

/// What a record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeRecord {
    /// Verified pieces.
    pub pieces: Bitfield,
    /// Files as they were when the record was written.
    pub files: Vec<FileState>,
    /// Each file's priority, when set (see the module doc).
    pub priorities: Option<Vec<FilePriority>>,
}

/// The record file of a torrent.
pub fn record_path(resume_dir: &Path, info_hash: InfoHash) -> PathBuf {
    resume_dir.join(format!("{}.resume", info_hash.to_hex()))
}

/// The part file of the torrent whose record is `record_path` (see partfile).
pub fn part_file_path(record_path: &Path) -> PathBuf {
    record_path.with_extension("parts")
}

/// The run marker of the torrent whose record is `record_path`.
pub fn marker_path(record_path: &Path) -> PathBuf {
    record_path.with_extension("running")
}

/// The recheck marker of the torrent whose record is `record_path`: found
/// at start, every piece is hashed again whatever the record says (the
/// record still gives the file priorities); removed once the new record
/// is written, so a crash during the check checks again.
pub fn recheck_path(record_path: &Path) -> PathBuf {
    record_path.with_extension("recheck")
}

/// Reads a record; `None` when missing, unreadable or for another shape of torrent.
pub fn load(path: &Path, piece_count: usize, file_count: usize) -> Option<ResumeRecord> {
    use std::io::Read;
    let mut bytes = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(MAX_RECORD_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    let v = bencode::decode(&bytes).ok()?;
    if v.get("version")?.as_int()? != RECORD_VERSION
        || v.get("piece-count")?.as_int()? != piece_count as i64
    {
        return None;
    }
    let pieces = Bitfield::from_bytes(v.get("pieces")?.as_bytes()?, piece_count).ok()?;
    let files: Option<Vec<FileState>> = v
        .get("files")?
        .as_list()?
        .iter()
        .map(|f| {
            let pair = f.as_list()?;
            Some(FileState {
                length: u64::try_from(pair.first()?.as_int()?).ok()?,
                mtime_ns: u128::try_from(pair.get(1)?.as_int()?).ok()?,
            })
        })
        .collect();
    let files = files?;
    // Unreadable priorities are dropped, not the record: the pieces are
    // still good, and every file is then fetched (nothing is lost).
    let priorities = v
        .get("priorities")
        .and_then(|p| p.as_bytes())
        .filter(|p| p.len() == file_count)
        .and_then(|p| p.iter().map(|&b| priority_of(b)).collect());
    (files.len() == file_count).then_some(ResumeRecord {
        pieces,
        files,
        priorities,
    })
}

fn priority_of(byte: u8) -> Option<FilePriority> {
    FilePriority::ALL.get(usize::from(byte)).copied()
}

/// Writes a record so that a crash leaves either the old or the new one.
pub fn save(path: &Path, record: &ResumeRecord) -> io::Result<()> {
    let files = record
        .files
        .iter()
        .map(|f| {
            OwnedValue::List(vec![
                OwnedValue::Int(f.length as i64),
                OwnedValue::Int(i64::try_from(f.mtime_ns).unwrap_or(i64::MAX)),
            ])
        })
        .collect();
    let mut doc = OwnedValue::dict()
        .with("version", OwnedValue::Int(RECORD_VERSION))
        .with("piece-count", OwnedValue::Int(record.pieces.len() as i64))
        .with("pieces", OwnedValue::bytes(record.pieces.as_bytes()))
        .with("files", OwnedValue::List(files));
    if let Some(p) = &record.priorities {
        let bytes: Vec<u8> = p.iter().map(|&p| p as u8).collect();
        doc = doc.with("priorities", OwnedValue::bytes(&bytes));
    }
    p2p_proto::fsutil::write_atomically(path, &bencode::encode(&doc))
}

/// Decides which pieces we have, from a record if it fits, else by hashing.
/// `after_crash`: the run marker was there (see the module doc).
/// Returns the bitfield and how many pieces were hashed to get it.
pub fn initial_pieces(
    storage: &Storage,
    hashes: &[[u8; 20]],
    record: Option<ResumeRecord>,
    after_crash: bool,
) -> io::Result<(Bitfield, usize)> {
    let n = hashes.len();
    let now = storage.file_states();
    let mut have = Bitfield::new(n);
    let mut to_check: Vec<u32> = Vec::new();
    match record {
        Some(rec) => {
            // Trust the record for unchanged files; recheck every piece that
            // touches a file whose size or mtime moved.
            let mut dirty = vec![false; n];
            for (i, (then, current)) in rec.files.iter().zip(&now).enumerate() {
                let changed = if after_crash {
                    // Our writes after the record move the mtime forward only.
                    then.length != current.length || current.mtime_ns < then.mtime_ns
                } else {
                    then != current
                };
                if changed {
                    for p in storage.pieces_of_file(i) {
                        dirty[p as usize] = true;
                    }
                }
            }
            for (p, &is_dirty) in dirty.iter().enumerate() {
                if is_dirty || (after_crash && !rec.pieces.get(p)) {
                    to_check.push(p as u32);
                } else if rec.pieces.get(p) {
                    have.set(p, true);
                }
            }
        }
        None if now.iter().any(|f| f.length > 0) => to_check.extend(0..n as u32),
        None => {}
    }
    check_pieces(storage, hashes, &to_check, &mut have)?;
    Ok((have, to_check.len()))
}

/// Most bytes of pieces read ahead of one hashing call.
const CHECK_BATCH_BYTES: usize = 16 << 20;

/// Pieces read and waiting for the hasher, with their piece index.
type ReadBatch = Vec<(u32, Vec<u8>)>;

/// Reads `pieces` and marks in `have` those that match their hash. Pieces
/// go through the wide SHA-1 (`p2p-sha1-wide`) up to a set of lanes at a
/// time, 2-3.5 times the rate of one piece after another, while a reader
/// thread fills the next batch: hashing and reading overlap. Memory: at
/// most three batches of [`CHECK_BATCH_BYTES`] (one hashed, one waiting,
/// one being read), their buffers reused.
fn check_pieces(
    storage: &Storage,
    hashes: &[[u8; 20]],
    pieces: &[u32],
    have: &mut Bitfield,
) -> io::Result<()> {
    let Some(&first) = pieces.first() else {
        return Ok(());
    };
    let piece_len = storage.piece_span(first).1.max(1);
    let per_batch = (CHECK_BATCH_BYTES / piece_len).clamp(1, p2p_sha1_wide::LANES);
    let (full_tx, full_rx) = mpsc::sync_channel::<io::Result<ReadBatch>>(1);
    let (free_tx, free_rx) = mpsc::channel::<ReadBatch>();
    std::thread::scope(|s| {
        s.spawn(move || {
            for batch in pieces.chunks(per_batch) {
                let mut bufs = free_rx.try_recv().unwrap_or_default();
                let mut read = Vec::with_capacity(batch.len());
                for &p in batch {
                    let mut buf = bufs.pop().map(|(_, b)| b).unwrap_or_default();
                    match storage.read_piece(p, &mut buf) {
                        Ok(true) => read.push((p, buf)),
                        Ok(false) => bufs.push((p, buf)),
                        Err(e) => {
                            let _ = full_tx.send(Err(e));
                            return;
                        }
                    }
                }
                // The hasher gone (it met an error) ends the reading too.
                if full_tx.send(Ok(read)).is_err() {
                    return;
                }
            }
        });
        for batch in full_rx {
            let batch = batch?;
            let data: Vec<&[u8]> = batch.iter().map(|(_, d)| &d[..]).collect();
            for ((p, _), digest) in batch.iter().zip(p2p_sha1_wide::digest_all(&data)) {
                if digest == hashes[*p as usize] {
                    have.set(*p as usize, true);
                }
            }
            let _ = free_tx.send(batch);
        }
        Ok(())
    })
}

/// Files the record saw with data, holding verified pieces, that are gone
/// from the disk now (deleted or moved while we were not running): by
/// their index. Parked files (skipped, see storage.rs) are not looked for.
pub fn missing_files(storage: &Storage, record: &ResumeRecord) -> Vec<usize> {
    let now = storage.file_states();
    let gone = FileState {
        length: 0,
        mtime_ns: 0,
    };
    (0..storage.file_count())
        .filter(|&i| {
            record.files.get(i).is_some_and(|then| then.length > 0)
                && now.get(i) == Some(&gone)
                && !storage.is_parked(i)
                && storage
                    .pieces_of_file(i)
                    .any(|p| record.pieces.get(p as usize))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_record_loads_back_and_a_torn_one_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = record_path(dir.path(), InfoHash([3; 20]));
        let mut pieces = Bitfield::new(10);
        pieces.set(3, true);
        pieces.set(9, true);
        let rec = ResumeRecord {
            pieces,
            files: vec![FileState {
                length: 5,
                mtime_ns: 123_456_789,
            }],
            priorities: Some(vec![FilePriority::Skip]),
        };
        save(&path, &rec).unwrap();
        assert_eq!(load(&path, 10, 1), Some(rec));
        assert_eq!(load(&path, 11, 1), None, "another piece count");
        assert_eq!(load(&path, 10, 2), None, "another file count");
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(load(&path, 10, 1), None);
    }

    /// The torrent of `src` in 16 KiB pieces.
    fn torrent_of(src: &Path) -> p2p_proto::metainfo::Metainfo {
        use p2p_proto::create::{Control, CreateOptions, create_torrent};
        let opts = CreateOptions {
            piece_length: Some(16_384),
            ..CreateOptions::default()
        };
        create_torrent(src, &opts, &Control::default())
            .unwrap()
            .metainfo
    }

    /// A 10-piece, one-file torrent with all its data in `dl/`.
    fn complete_download(dir: &Path) -> (p2p_proto::metainfo::Metainfo, Storage, PathBuf) {
        let src = dir.join("src/data.bin");
        fs::create_dir_all(src.parent().unwrap()).unwrap();
        let bytes: Vec<u8> = (0..10 * 16_384u32).map(|i| (i % 251) as u8).collect();
        fs::write(&src, &bytes).unwrap();
        let meta = torrent_of(&src);
        let dl = dir.join("dl");
        fs::create_dir_all(&dl).unwrap();
        fs::copy(&src, dl.join("data.bin")).unwrap();
        let handles = std::sync::Arc::new(super::super::handles::FileHandles::new(2));
        let storage = Storage::new(&meta, &dl, false, handles).unwrap();
        (meta, storage, dl.join("data.bin"))
    }

    /// A record of pieces 0-3 and the file as it is now; then the file's
    /// mtime moves on, as our own writes after the record would move it.
    fn record_then_later_writes(storage: &Storage, file: &Path) -> ResumeRecord {
        let mut pieces = Bitfield::new(10);
        for p in 0..4 {
            pieces.set(p, true);
        }
        let record = ResumeRecord {
            pieces,
            files: storage.file_states(),
            priorities: None,
        };
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        fs::File::options()
            .write(true)
            .open(file)
            .unwrap()
            .set_modified(later)
            .unwrap();
        record
    }

    #[test]
    fn after_a_crash_only_the_pieces_the_record_lacks_are_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let (meta, storage, file) = complete_download(dir.path());
        let record = record_then_later_writes(&storage, &file);
        let (have, checked) =
            initial_pieces(&storage, &meta.info.pieces, Some(record), true).unwrap();
        assert_eq!(checked, 6);
        assert!(have.all(), "the 6 hashed pieces were on disk and good");
    }

    #[test]
    fn after_a_clean_stop_a_file_whose_mtime_moved_is_hashed_in_full() {
        let dir = tempfile::tempdir().unwrap();
        let (meta, storage, file) = complete_download(dir.path());
        let record = record_then_later_writes(&storage, &file);
        let (have, checked) =
            initial_pieces(&storage, &meta.info.pieces, Some(record), false).unwrap();
        assert_eq!(checked, 10);
        assert!(have.all());
    }

    #[test]
    fn after_a_crash_a_file_whose_size_changed_is_hashed_in_full_and_bad_pieces_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (meta, storage, file) = complete_download(dir.path());
        let record = record_then_later_writes(&storage, &file);
        // Cut inside piece 2: a piece the record claims.
        fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(2 * 16_384 + 100)
            .unwrap();
        let (have, checked) =
            initial_pieces(&storage, &meta.info.pieces, Some(record), true).unwrap();
        assert_eq!(checked, 10);
        assert_eq!(have.count_ones(), 2, "pieces 0 and 1 only");
    }

    #[test]
    fn pieces_checked_in_batches_keep_their_own_verdicts() {
        let dir = tempfile::tempdir().unwrap();
        // 40 whole pieces and a short last one: three batches of 16 lanes.
        let len = 40 * 16_384 + 1_000;
        let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
        let src = dir.path().join("src.bin");
        fs::write(&src, &bytes).unwrap();
        let meta = torrent_of(&src);
        let dl = dir.path().join("dl");
        fs::create_dir_all(&dl).unwrap();
        let mut on_disk = bytes.clone();
        for bad in [0, 17, 33, 40] {
            on_disk[bad * 16_384 + 5] ^= 1;
        }
        // Cut inside piece 38: 38, 39 and 40 are short.
        on_disk.truncate(38 * 16_384 + 9);
        fs::write(dl.join("src.bin"), &on_disk).unwrap();
        let handles = std::sync::Arc::new(super::super::handles::FileHandles::new(2));
        let storage = Storage::new(&meta, &dl, false, handles).unwrap();
        let (have, checked) = initial_pieces(&storage, &meta.info.pieces, None, false).unwrap();
        assert_eq!(checked, 41);
        let got: Vec<usize> = (0..41).filter(|&p| have.get(p)).collect();
        let want: Vec<usize> = (0..38).filter(|p| ![0, 17, 33].contains(p)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_record_with_bad_priorities_keeps_its_pieces_and_drops_the_choice() {
        let dir = tempfile::tempdir().unwrap();
        let path = record_path(dir.path(), InfoHash([4; 20]));
        let rec = ResumeRecord {
            pieces: Bitfield::full(3),
            files: vec![
                FileState {
                    length: 1,
                    mtime_ns: 1,
                };
                2
            ],
            priorities: Some(vec![FilePriority::High, FilePriority::Low]),
        };
        save(&path, &rec).unwrap();
        assert_eq!(load(&path, 3, 2), Some(rec.clone()));
        let bytes = fs::read(&path).unwrap();
        // Priority byte 9 is no priority.
        let at = bytes
            .windows(14)
            .position(|w| w == b"priorities2:\x03\x01")
            .unwrap();
        let mut bad = bytes.clone();
        bad[at + 13] = 9;
        fs::write(&path, &bad).unwrap();
        let back = load(&path, 3, 2).unwrap();
        assert_eq!(back.priorities, None);
        assert_eq!(back.pieces, rec.pieces);
    }
}
