//! The part file: where the bytes of skipped files go when a wanted piece
//! also holds some of them, so a skipped file is never created. One hidden
//! file per torrent beside its resume record (`.progress/HASH.parts`),
//! with one slot per piece shared by two files ([`super::selection::shared_pieces`]):
//! slot `k` holds the `k`-th shared piece at `k * piece_length`, at the
//! same offset within the slot as within the piece. The slots follow from
//! the file table alone, so the file needs no header and a crash cannot
//! leave it inconsistent: a piece the resume record does not list is
//! hashed again at start, reading what its slot holds.
//!
//! Only the bytes of files the storage routes here are written; the rest
//! of a slot stays a hole (sparse where the file system allows). Bytes of
//! a piece without a slot are dropped: such a piece lies in skipped files
//! only, and the torrent does not count it as verified (see
//! [`super::storage::Storage::holds_piece`]).
//!
//! Blocking I/O, called from the storage. Not here: which files are
//! skipped (the storage's routing) or when a file's bytes move out.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::posio::{read_exact_at, write_all_at};

/// One torrent's part file.
#[derive(Debug)]
pub struct PartFile {
    path: PathBuf,
    piece_length: u64,
    /// Pieces that have a slot, in order (the slot is the position).
    slots: Vec<u32>,
    file: Mutex<Option<Arc<File>>>,
    /// Written since the last [`PartFile::sync`].
    unsynced: AtomicBool,
}

impl PartFile {
    /// The part file at `path` for pieces of `piece_length` bytes, with a
    /// slot for each of `shared` (sorted).
    pub fn new(path: PathBuf, piece_length: u64, shared: Vec<u32>) -> PartFile {
        PartFile {
            path,
            piece_length,
            slots: shared,
            file: Mutex::new(None),
            unsynced: AtomicBool::new(false),
        }
    }

    /// Whether the piece has a slot.
    pub fn has_slot(&self, piece: u32) -> bool {
        self.slots.binary_search(&piece).is_ok()
    }

    /// Pieces with a slot from `first` to `last` included.
    pub fn slotted(&self, first: u32, last: u32) -> impl Iterator<Item = u32> + '_ {
        let from = self.slots.partition_point(|&p| p < first);
        self.slots[from..]
            .iter()
            .copied()
            .take_while(move |&p| p <= last)
    }

    /// Reads bytes of the torrent at `offset` from their slots. NotFound
    /// when a piece has no slot or the file does not exist; UnexpectedEof
    /// past what was ever written.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let Some(file) = self.handle(false)? else {
            return Err(io::ErrorKind::NotFound.into());
        };
        self.each_piece(offset, buf.len(), |at, range| match at {
            Some(at) => read_exact_at(&file, &mut buf[range], at),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no slot in the part file for this piece",
            )),
        })
    }

    /// Writes bytes of the torrent at `offset` into their slots; bytes of
    /// pieces without a slot are dropped.
    pub fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut file = None;
        self.each_piece(offset, data.len(), |at, range| {
            let Some(at) = at else {
                return Ok(());
            };
            if file.is_none() {
                file = self.handle(true)?;
            }
            let f = file.as_ref().ok_or_else(|| io::Error::other("part file"))?;
            self.unsynced.store(true, Ordering::Relaxed);
            write_all_at(f, &data[range], at)
        })
    }

    /// Flushes what was written since the last call.
    pub fn sync(&self) -> io::Result<()> {
        if !self.unsynced.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        let synced = match self.handle(false)? {
            Some(f) => f.sync_data(),
            None => Ok(()),
        };
        if synced.is_err() {
            self.unsynced.store(true, Ordering::Relaxed);
        }
        synced
    }

    /// Deletes the file (nothing is routed here any more).
    pub fn remove(&self) -> io::Result<()> {
        self.file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.unsynced.store(false, Ordering::Relaxed);
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Calls `op(offset in the part file or None, range in the buffer)`
    /// for each piece the span covers.
    fn each_piece(
        &self,
        offset: u64,
        len: usize,
        mut op: impl FnMut(Option<u64>, std::ops::Range<usize>) -> io::Result<()>,
    ) -> io::Result<()> {
        let pl = self.piece_length.max(1);
        let mut done = 0usize;
        while done < len {
            let pos = offset + done as u64;
            let piece = pos / pl;
            let within = pos - piece * pl;
            let n = ((pl - within) as usize).min(len - done);
            let slot = u32::try_from(piece)
                .ok()
                .and_then(|p| self.slots.binary_search(&p).ok());
            op(slot.map(|k| k as u64 * pl + within), done..done + n)?;
            done += n;
        }
        Ok(())
    }

    /// The open file; created when `create`, else `None` when missing.
    fn handle(&self, create: bool) -> io::Result<Option<Arc<File>>> {
        let mut slot = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = &*slot {
            return Ok(Some(f.clone()));
        }
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(&self.path);
        match opened {
            Ok(f) => {
                let f = Arc::new(f);
                *slot = Some(f.clone());
                Ok(Some(f))
            }
            Err(e) if !create && e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_land_in_their_pieces_slot_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parts");
        // Pieces of 8; pieces 1 and 4 have slots 0 and 1.
        let p = PartFile::new(path.clone(), 8, vec![1, 4]);
        assert_eq!(
            p.read_at(10, &mut [0; 2]).unwrap_err().kind(),
            io::ErrorKind::NotFound,
            "nothing written yet: no file"
        );
        p.write_at(10, b"ab").unwrap();
        p.write_at(34, b"xyzw").unwrap();
        // A span over pieces 4 and 5: piece 5 has no slot, its bytes drop.
        p.write_at(38, b"QRSTU").unwrap();
        p.sync().unwrap();
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(on_disk.len(), 16, "two slots of 8, nothing more");
        assert_eq!(&on_disk[2..4], b"ab");
        assert_eq!(&on_disk[8 + 2..8 + 8], b"xyzwQR");
        let mut buf = [0; 6];
        p.read_at(34, &mut buf).unwrap();
        assert_eq!(&buf, b"xyzwQR");
        assert_eq!(
            p.read_at(40, &mut [0; 1]).unwrap_err().kind(),
            io::ErrorKind::NotFound,
            "piece 5 has no slot"
        );
        assert_eq!(p.slotted(0, 3).collect::<Vec<_>>(), [1]);
        assert_eq!(p.slotted(2, 9).collect::<Vec<_>>(), [4]);
        p.remove().unwrap();
        assert!(!path.exists());
    }
}
