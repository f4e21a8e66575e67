//! Resume records: the verified pieces of a torrent and the size and mtime
//! of its files, written atomically (temp file, fsync, rename, fsync of the
//! folder) under `downloads/.progress/`. On start a record whose files still
//! match is trusted; files that changed get their pieces checked again.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use p2p_proto::bencode::{self, OwnedValue};
use p2p_proto::bitfield::Bitfield;
use p2p_proto::infohash::InfoHash;

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
}

/// The record file of a torrent.
pub fn record_path(resume_dir: &Path, info_hash: InfoHash) -> PathBuf {
    resume_dir.join(format!("{}.resume", info_hash.to_hex()))
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
    (files.len() == file_count).then_some(ResumeRecord { pieces, files })
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
    let doc = OwnedValue::dict()
        .with("version", OwnedValue::Int(RECORD_VERSION))
        .with("piece-count", OwnedValue::Int(record.pieces.len() as i64))
        .with("pieces", OwnedValue::bytes(record.pieces.as_bytes()))
        .with("files", OwnedValue::List(files));
    p2p_proto::fsutil::write_atomically(path, &bencode::encode(&doc))
}

/// Decides which pieces we have, from a record if it fits, else by hashing.
/// Returns the bitfield and how many pieces were hashed to get it.
pub fn initial_pieces(
    storage: &Storage,
    hashes: &[[u8; 20]],
    record: Option<ResumeRecord>,
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
                if then != current {
                    for p in storage.pieces_of_file(i) {
                        dirty[p as usize] = true;
                    }
                }
            }
            for (p, &is_dirty) in dirty.iter().enumerate() {
                if is_dirty {
                    to_check.push(p as u32);
                } else if rec.pieces.get(p) {
                    have.set(p, true);
                }
            }
        }
        None if now.iter().any(|f| f.length > 0) => to_check.extend(0..n as u32),
        None => {}
    }
    let mut buf = Vec::new();
    for &p in &to_check {
        if storage.verify_piece(p, &hashes[p as usize], &mut buf)? {
            have.set(p as usize, true);
        }
    }
    Ok((have, to_check.len()))
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
        };
        save(&path, &rec).unwrap();
        assert_eq!(load(&path, 10, 1), Some(rec));
        assert_eq!(load(&path, 11, 1), None, "another piece count");
        assert_eq!(load(&path, 10, 2), None, "another file count");
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(load(&path, 10, 1), None);
    }
}
