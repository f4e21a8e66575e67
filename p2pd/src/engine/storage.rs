//! Maps a torrent's byte stream onto its files under the download folder,
//! with positioned reads and writes. Blocking I/O: call it from blocking
//! threads. Never writes outside the download folder: every path is checked
//! to be made of plain components, and files are opened without following
//! a symbolic link below the folder (see nofollow). Files are opened when
//! first read or written and their handles kept in the engine's bounded
//! cache (see handles), so a torrent may have more files than the process
//! may hold descriptors.
//!
//! Files can be parked (skipped and never created): their bytes then go
//! to the torrent's part file (see partfile), and come out of it when the
//! file is wanted again ([`Storage::unpark`]).
//!
//! Verified pieces are written with direct I/O (`O_DIRECT`) where the file
//! system takes it and the span is block-aligned: putting a downloaded
//! gigabyte into fresh page-cache pages costs the kernel more CPU than
//! hashing it (see bench/README.md). Unaligned spans (file boundaries, the
//! short last piece) and file systems without direct I/O use plain writes.

use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use p2p_proto::metainfo::Metainfo;

use super::handles::{FileHandles, Kind};
use super::nofollow::{self, Access, FolderId, Root};
use super::partfile::PartFile;
use super::posio::{read_exact_at, write_all_at};
use super::selection::{Span, shared_pieces};

/// The files of one torrent on disk.
#[derive(Debug)]
pub struct Storage {
    root: Root,
    files: Vec<StoredFile>,
    /// The engine's open files; this storage's handles are keyed by `id`.
    handles: Arc<FileHandles>,
    id: u64,
    piece_length: u64,
    total_length: u64,
    /// Cleared for good the first time the file system refuses direct I/O.
    direct_writes: AtomicBool,
    /// The first file refused since the last look (a link planted or
    /// swapped in): the torrent fails with it.
    refused: Mutex<Option<String>>,
    /// Told when `refused` is set: the torrent's loop, asleep while it is
    /// idle, stops the torrent at once.
    refusal_noted: tokio::sync::Notify,
    /// Where parked files' bytes go; `None`: no file can be parked.
    parts: Option<PartFile>,
    /// Per file: parked (skipped and not on disk). Read-locked for every
    /// read and write, so a file unparks between two writes, never during one.
    parked: RwLock<Vec<bool>>,
}

#[derive(Debug)]
struct StoredFile {
    /// Below the root, plain components only.
    rel: PathBuf,
    offset: u64,
    length: u64,
    /// Pad files and symlinks hold no data of ours on disk.
    virtual_only: bool,
    /// Written since the last [`Storage::sync_all`].
    unsynced: AtomicBool,
}

/// Size and modification time of one file, as recorded for resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// Length on disk (0 when missing).
    pub length: u64,
    /// Modification time in nanoseconds since the Unix epoch (0 when missing).
    pub mtime_ns: u128,
}

impl Storage {
    /// Lays the torrent out under `root`. Fails if a path is not a plain
    /// relative path (metainfo already sanitises; this is the second lock).
    /// `direct_writes` allows direct I/O for aligned writes; `handles` is
    /// the engine's cache of open files.
    pub fn new(
        meta: &Metainfo,
        root: &Path,
        direct_writes: bool,
        handles: Arc<FileHandles>,
    ) -> io::Result<Storage> {
        let mut files = Vec::with_capacity(meta.info.files.len());
        for f in &meta.info.files {
            let rel: PathBuf = f.path.iter().collect();
            if rel.as_os_str().is_empty() && !f.pad
                || rel.components().any(|c| !matches!(c, Component::Normal(_)))
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("unsafe path in torrent: {}", rel.display()),
                ));
            }
            files.push(StoredFile {
                rel,
                offset: f.offset,
                length: f.length,
                virtual_only: f.pad || f.symlink,
                unsynced: AtomicBool::new(false),
            });
        }
        Ok(Storage {
            root: Root::new(root, None),
            files,
            id: handles.new_owner(),
            handles,
            piece_length: meta.info.piece_length,
            total_length: meta.info.total_length,
            direct_writes: AtomicBool::new(direct_writes && direct::SUPPORTED),
            refused: Mutex::new(None),
            refusal_noted: tokio::sync::Notify::new(),
            parts: None,
            parked: RwLock::new(vec![false; meta.info.files.len()]),
        })
    }

    /// Lets skipped files be parked, their bytes in shared pieces kept in
    /// the part file at `path`.
    pub fn with_part_file(mut self, meta: &Metainfo, path: std::path::PathBuf) -> Storage {
        let shared = shared_pieces(&Span::of(&meta.info.files), self.piece_length);
        self.parts = Some(PartFile::new(path, self.piece_length, shared));
        self
    }

    /// Parks file `i` if it is not on disk: it is then never created, and
    /// its bytes in shared pieces go to the part file. A file already on
    /// disk stays where it is. Blocking (a stat).
    pub fn park_if_absent(&self, i: usize) -> io::Result<()> {
        let Some(f) = self.files.get(i) else {
            return Ok(());
        };
        if self.parts.is_none() || f.virtual_only {
            return Ok(());
        }
        let mut parked = self.parked.write().unwrap_or_else(PoisonError::into_inner);
        if parked[i] {
            return Ok(());
        }
        if nofollow::stat(&self.root, &f.rel)?.is_none() {
            parked[i] = true;
        }
        Ok(())
    }

    /// Brings a parked file to disk: created at its full size, with what
    /// the part file holds of it; from then on its bytes go to it. The
    /// part file goes once no file is parked. Blocking.
    pub fn unpark(&self, i: usize) -> io::Result<()> {
        let mut parked = self.parked.write().unwrap_or_else(PoisonError::into_inner);
        let (Some(true), Some(parts)) = (parked.get(i).copied(), &self.parts) else {
            return Ok(());
        };
        let f = &self.files[i];
        let file = self.open(i, Kind::Write)?;
        file.set_len(f.length)?;
        let end = f.offset + f.length;
        if let Some(last) = end.checked_sub(1) {
            let (first, last) = (f.offset / self.piece_length, last / self.piece_length);
            let mut buf = Vec::new();
            for piece in parts.slotted(first as u32, last as u32) {
                let (start, len) = self.piece_span(piece);
                let (lo, hi) = (start.max(f.offset), (start + len as u64).min(end));
                buf.resize((hi - lo) as usize, 0);
                match parts.read_at(lo, &mut buf) {
                    Ok(()) => write_all_at(&file, &buf, lo - f.offset)?,
                    // Never written: nothing of it to keep.
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::NotFound | io::ErrorKind::UnexpectedEof
                        ) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        f.unsynced.store(true, Ordering::Relaxed);
        parked[i] = false;
        if !parked.contains(&true) {
            // Its bytes are in the files now: flush them before the part
            // file (the only other copy) goes.
            file.sync_data()?;
            parts.remove()?;
        }
        Ok(())
    }

    /// Whether file `i` is parked.
    pub fn is_parked(&self, i: usize) -> bool {
        self.parked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(i)
            .copied()
            .unwrap_or(false)
    }

    /// Whether a written piece is really kept: false for a piece that lies
    /// in parked files only (its bytes had nowhere to go), which must not
    /// count as verified.
    pub fn holds_piece(&self, index: u32) -> bool {
        let parked = self.parked.read().unwrap_or_else(PoisonError::into_inner);
        if self.parts.as_ref().is_some_and(|p| p.has_slot(index)) {
            return true;
        }
        let (start, len) = self.piece_span(index);
        let mut held = false;
        let _ = self.for_each_span(start, len, |i, _, _| {
            held |= !self.files[i].virtual_only && !parked[i];
            Ok(())
        });
        held || len == 0
    }

    /// Opens files only while the download folder is still the folder
    /// `pin` names (see [`nofollow`]); `None` leaves it unpinned.
    pub fn pinned(mut self, pin: Option<FolderId>) -> Storage {
        self.root = Root::new(self.root.path(), pin);
        self
    }

    /// Deletes the torrent's files and the folders they leave empty,
    /// without following a link below the download folder.
    pub fn delete_files(&self) -> io::Result<()> {
        for (i, f) in self.files.iter().enumerate() {
            if !f.virtual_only && !self.is_parked(i) {
                nofollow::remove(&self.root, &f.rel)?;
            }
        }
        if let Some(parts) = &self.parts {
            parts.remove()?;
        }
        Ok(())
    }

    /// Byte offset and length of a piece.
    pub fn piece_span(&self, index: u32) -> (u64, usize) {
        let start = u64::from(index) * self.piece_length;
        let len = self
            .total_length
            .saturating_sub(start)
            .min(self.piece_length);
        (start, len as usize)
    }

    /// Creates folders and files, as sparse files of their final size
    /// (parked files excepted).
    pub fn allocate(&self) -> io::Result<()> {
        for (i, f) in self.files.iter().enumerate() {
            if f.virtual_only || self.is_parked(i) {
                continue;
            }
            let file = self.open(i, Kind::Write)?;
            if file.metadata()?.len() != f.length {
                file.set_len(f.length)?;
            }
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes of the torrent from `offset`; pad files read as zeros.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let parked = self.parked.read().unwrap_or_else(PoisonError::into_inner);
        self.for_each_span(offset, buf.len(), |i, within, range| {
            let dst = &mut buf[range];
            if self.files[i].virtual_only {
                dst.fill(0);
                return Ok(());
            }
            if parked[i] {
                return self.parked_io(|p| p.read_at(self.files[i].offset + within, dst));
            }
            read_exact_at(&*self.open(i, Kind::Read)?, dst, within)
        })
    }

    /// Writes `data` at `offset`; bytes that fall in pad files are dropped.
    /// Spans that start and end on a block boundary, in memory and in the
    /// file, go straight to the disk when direct I/O is on.
    pub fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let parked = self.parked.read().unwrap_or_else(PoisonError::into_inner);
        self.for_each_span(offset, data.len(), |i, within, range| {
            if self.files[i].virtual_only {
                return Ok(());
            }
            let chunk = &data[range];
            if parked[i] {
                return self.parked_io(|p| p.write_at(self.files[i].offset + within, chunk));
            }
            if direct::aligned(within, chunk) && self.write_direct(i, within, chunk)? {
                return Ok(());
            }
            self.files[i].unsynced.store(true, Ordering::Relaxed);
            write_all_at(&*self.open(i, Kind::Write)?, chunk, within)
        })
    }

    /// Writes consecutive buffers from `offset` on, as one vectored direct
    /// write when they all fall in one file and are aligned, else one by one.
    pub fn write_run(&self, offset: u64, bufs: &[&[u8]]) -> io::Result<()> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if let [one] = bufs {
            return self.write(offset, one);
        }
        let i = self
            .files
            .partition_point(|f| f.offset + f.length <= offset);
        let one_file = self
            .files
            .get(i)
            .is_some_and(|f| !f.virtual_only && offset + total as u64 <= f.offset + f.length)
            && !self.is_parked(i);
        if one_file {
            // Every buffer is a whole number of blocks, so checking each
            // against the first offset checks every offset.
            let within = offset - self.files[i].offset;
            if bufs.iter().all(|b| direct::aligned(within, b))
                && let Some(file) = self.direct_handle(i)?
            {
                self.files[i].unsynced.store(true, Ordering::Relaxed);
                match direct::write_vectored_at(&file, bufs, within) {
                    Ok(()) => return Ok(()),
                    Err(e) if direct::refused(&e) => {
                        self.direct_refused(&e);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let mut at = offset;
        for b in bufs {
            self.write(at, b)?;
            at += b.len() as u64;
        }
        Ok(())
    }

    /// The direct-I/O handle of file `i`, opened on first use; `None` when
    /// direct I/O is off or the file system refused it.
    fn direct_handle(&self, i: usize) -> io::Result<Option<Arc<File>>> {
        if !self.direct_writes.load(Ordering::Relaxed) {
            return Ok(None);
        }
        if let Some(f) = self.handles.get((self.id, i, Kind::Direct)) {
            return Ok(Some(f));
        }
        // The plain handle creates the folders and the file.
        self.open(i, Kind::Write)?;
        match nofollow::open(&self.root, &self.files[i].rel, Access::Direct) {
            Ok(f) => Ok(Some(
                self.handles.insert((self.id, i, Kind::Direct), Arc::new(f)),
            )),
            Err(e) if nofollow::is_refusal(&e) => {
                self.note_refusal(&e);
                Err(e)
            }
            Err(e) if direct::refused(&e) => {
                self.direct_refused(&e);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Writes one aligned span with direct I/O. `Ok(false)` when direct I/O
    /// is off or the file system refused it (it is then off for good, and
    /// the caller writes the span the plain way).
    fn write_direct(&self, i: usize, within: u64, chunk: &[u8]) -> io::Result<bool> {
        let Some(file) = self.direct_handle(i)? else {
            return Ok(false);
        };
        self.files[i].unsynced.store(true, Ordering::Relaxed);
        match write_all_at(&file, chunk, within) {
            Ok(()) => Ok(true),
            Err(e) if direct::refused(&e) => Ok(self.direct_refused(&e)),
            Err(e) => Err(e),
        }
    }

    /// Runs `op` on the part file (there is one when a file is parked).
    fn parked_io(&self, op: impl FnOnce(&PartFile) -> io::Result<()>) -> io::Result<()> {
        match &self.parts {
            Some(p) => op(p),
            None => Err(io::Error::other("a parked file without a part file")),
        }
    }

    fn direct_refused(&self, e: &io::Error) -> bool {
        if self.direct_writes.swap(false, Ordering::Relaxed) {
            tracing::info!("direct I/O refused ({e}); writing through the page cache");
        }
        false
    }

    /// Reads a piece back and checks it against its hash (the tests' check;
    /// the engine checks pieces in batches, `resume::check_pieces`).
    #[cfg(test)]
    pub fn verify_piece(
        &self,
        index: u32,
        expected: &[u8; 20],
        buf: &mut Vec<u8>,
    ) -> io::Result<bool> {
        use sha1::{Digest, Sha1};
        Ok(self.read_piece(index, buf)? && Sha1::digest(&buf[..]).as_slice() == expected)
    }

    /// Reads a piece into `buf` (sized to it). `Ok(false)`: a file of it is
    /// missing or short, so we do not have the piece.
    pub fn read_piece(&self, index: u32, buf: &mut Vec<u8>) -> io::Result<bool> {
        let (start, len) = self.piece_span(index);
        buf.resize(len, 0);
        match self.read(start, buf) {
            Ok(()) => Ok(true),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::UnexpectedEof
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Size and mtime of every file (virtual files report zeros, and so
    /// do missing files and links, which then never match a resume record).
    pub fn file_states(&self) -> Vec<FileState> {
        self.files
            .iter()
            .map(|f| {
                let (length, mtime_ns) = if f.virtual_only {
                    None
                } else {
                    nofollow::stat(&self.root, &f.rel).ok().flatten()
                }
                .unwrap_or((0, 0));
                FileState { length, mtime_ns }
            })
            .collect()
    }

    /// Pieces that touch file `i`.
    pub fn pieces_of_file(&self, i: usize) -> std::ops::Range<u32> {
        let f = &self.files[i];
        if f.length == 0 || self.piece_length == 0 {
            return 0..0;
        }
        let first = f.offset / self.piece_length;
        let last = (f.offset + f.length - 1) / self.piece_length;
        first as u32..last as u32 + 1
    }

    /// Number of files.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Flushes the data of every file written since the last call to the
    /// disk (direct writes skip the page cache, but the disk may still cache
    /// them). A handle closed since is opened again: a sync flushes the
    /// file, whichever handle wrote it.
    pub fn sync_all(&self) -> io::Result<()> {
        if let Some(parts) = &self.parts {
            parts.sync()?;
        }
        for (i, f) in self.files.iter().enumerate() {
            if !f.unsynced.swap(false, Ordering::Relaxed) {
                continue;
            }
            if let Err(e) = self.open(i, Kind::Write).and_then(|h| h.sync_data()) {
                f.unsynced.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Calls `op(file_index, offset_in_file, range_in_buffer)` for each file
    /// span covering `len` bytes from `offset`.
    fn for_each_span(
        &self,
        offset: u64,
        len: usize,
        mut op: impl FnMut(usize, u64, std::ops::Range<usize>) -> io::Result<()>,
    ) -> io::Result<()> {
        if offset + len as u64 > self.total_length {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "span past the end of the torrent",
            ));
        }
        let mut i = self
            .files
            .partition_point(|f| f.offset + f.length <= offset);
        let mut done = 0;
        while done < len {
            let f = self
                .files
                .get(i)
                .ok_or_else(|| io::Error::other("file table ends early"))?;
            let pos = offset + done as u64;
            let within = pos - f.offset;
            let n = ((f.length - within) as usize).min(len - done);
            if n > 0 {
                op(i, within, done..done + n)?;
            }
            done += n;
            i += 1;
        }
        Ok(())
    }

    /// The handle of file `i`: from the cache, else opened (without
    /// following links) and cached. A read may use a read-write handle.
    fn open(&self, i: usize, kind: Kind) -> io::Result<Arc<File>> {
        if let Some(f) = self.handles.get((self.id, i, kind)) {
            return Ok(f);
        }
        if kind == Kind::Read
            && let Some(f) = self.handles.get((self.id, i, Kind::Write))
        {
            return Ok(f);
        }
        let access = match kind {
            Kind::Read => Access::Read,
            Kind::Write => Access::Write,
            Kind::Direct => Access::Direct,
        };
        let file = nofollow::open(&self.root, &self.files[i].rel, access)
            .inspect_err(|e| self.note_refusal(e))?;
        Ok(self.handles.insert((self.id, i, kind), Arc::new(file)))
    }

    fn note_refusal(&self, e: &io::Error) {
        if nofollow::is_refusal(e) {
            let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
            refused.get_or_insert_with(|| e.to_string());
            self.refusal_noted.notify_one();
        }
    }

    /// Returns once a refusal was noted (at once if one was noted while
    /// nobody waited); [`Storage::take_refusal`] then says which.
    pub async fn refusal_noted(&self) {
        self.refusal_noted.notified().await;
    }

    /// The file refused since the last call, if any: a link where a file of
    /// the torrent should be. Reads that hit it failed (a peer asking for
    /// its pieces got nothing); the torrent should stop and say why.
    pub fn take_refusal(&self) -> Option<String> {
        self.refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        self.handles.forget(self.id);
    }
}

/// Direct I/O: Linux only (`O_DIRECT`); elsewhere every write is a plain one.
mod direct {
    use std::fs::File;
    use std::io;

    use crate::engine::piecebuf::ALIGN;

    pub const SUPPORTED: bool = cfg!(target_os = "linux");

    /// Offset, length and memory address are all multiples of the block size.
    pub fn aligned(offset: u64, chunk: &[u8]) -> bool {
        SUPPORTED
            && offset.is_multiple_of(ALIGN as u64)
            && chunk.len().is_multiple_of(ALIGN)
            && !chunk.is_empty()
            && chunk.as_ptr().addr().is_multiple_of(ALIGN)
    }

    /// Writes every buffer, in order, from `offset` on.
    #[cfg(target_os = "linux")]
    pub fn write_vectored_at(file: &File, bufs: &[&[u8]], mut offset: u64) -> io::Result<()> {
        use std::io::IoSlice;
        let mut slices: Vec<IoSlice<'_>> = bufs.iter().map(|b| IoSlice::new(b)).collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            let n = rustix::io::pwritev(file, rest, offset)?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            offset += n as u64;
            IoSlice::advance_slices(&mut rest, n);
        }
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    pub fn write_vectored_at(_file: &File, _bufs: &[&[u8]], _offset: u64) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// The file system does not do direct I/O (or not with this alignment).
    pub fn refused(e: &io::Error) -> bool {
        #[cfg(target_os = "linux")]
        if e.raw_os_error() == Some(libc::EINVAL) {
            return true;
        }
        e.kind() == io::ErrorKind::Unsupported
    }
}

#[cfg(test)]
mod tests;
