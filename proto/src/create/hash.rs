//! Piece hashing on several threads. Each thread claims the next piece and
//! reads it with positioned reads (a piece may span files) through its own
//! small buffer, hashing as it goes, so memory is `threads x 128 KiB`
//! whatever the size of the data, and the disk is read nearly in order.

use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use sha1::{Digest, Sha1};

use super::{Control, CreateError, SourceFile};

pub(super) fn hash_pieces(
    files: &[SourceFile],
    piece_length: u64,
    threads: usize,
    control: &Control<'_>,
) -> Result<Vec<u8>, CreateError> {
    let total: u64 = files.iter().map(|f| f.length).sum();
    let piece_count = total.div_ceil(piece_length) as usize;
    // Start offset of every file, for finding which files a piece covers.
    let mut starts = Vec::with_capacity(files.len());
    let mut acc = 0;
    for f in files {
        starts.push(acc);
        acc += f.length;
    }
    let next = AtomicUsize::new(0);
    let done_bytes = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let job = Job {
        files,
        starts: &starts,
        total,
        piece_length,
        piece_count,
        next: &next,
        done_bytes: &done_bytes,
        failed: &failed,
        control,
    };
    let threads = threads.min(piece_count).max(1);
    let results: Vec<Result<Digests, CreateError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..threads).map(|_| s.spawn(|| job.run())).collect();
        let mut results = vec![job.run()];
        for h in handles {
            results.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        results
    });
    let mut out = vec![0u8; piece_count * 20];
    for r in results {
        for (index, digest) in r? {
            out[index * 20..index * 20 + 20].copy_from_slice(&digest);
        }
    }
    Ok(out)
}

/// Piece digests computed by one thread, with their piece indexes.
type Digests = Vec<(usize, [u8; 20])>;

/// Bytes read and hashed at a time: small enough to stay in L2 cache.
const READ_CHUNK: usize = 128 * 1024;

struct Job<'a> {
    files: &'a [SourceFile],
    starts: &'a [u64],
    total: u64,
    piece_length: u64,
    piece_count: usize,
    next: &'a AtomicUsize,
    done_bytes: &'a AtomicU64,
    failed: &'a AtomicBool,
    control: &'a Control<'a>,
}

impl Job<'_> {
    fn run(&self) -> Result<Digests, CreateError> {
        let r = self.run_inner();
        if r.is_err() {
            self.failed.store(true, Ordering::Relaxed);
        }
        r
    }

    fn run_inner(&self) -> Result<Digests, CreateError> {
        let mut buf = vec![0u8; (self.piece_length as usize).min(READ_CHUNK)];
        let mut open: Option<(usize, File)> = None;
        let mut digests = Vec::new();
        loop {
            if self.failed.load(Ordering::Relaxed) {
                return Ok(digests);
            }
            if self
                .control
                .cancel
                .is_some_and(|c| c.load(Ordering::Relaxed))
            {
                return Err(CreateError::Cancelled);
            }
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if index >= self.piece_count {
                return Ok(digests);
            }
            let start = index as u64 * self.piece_length;
            let len = (self.total - start).min(self.piece_length) as usize;
            // Read and hash in chunks that stay in the CPU cache, instead of
            // reading a whole piece and hashing it back from memory.
            let mut hasher = Sha1::new();
            let mut pos = 0;
            while pos < len {
                let n = buf.len().min(len - pos);
                self.read(start + pos as u64, &mut buf[..n], &mut open)?;
                hasher.update(&buf[..n]);
                pos += n;
            }
            digests.push((index, hasher.finalize().into()));
            let done = self.done_bytes.fetch_add(len as u64, Ordering::Relaxed) + len as u64;
            if let Some(progress) = self.control.progress {
                progress(done);
            }
        }
    }

    /// Fills `buf` with the torrent's bytes from `offset`, across files.
    fn read(
        &self,
        mut offset: u64,
        mut buf: &mut [u8],
        open: &mut Option<(usize, File)>,
    ) -> Result<(), CreateError> {
        // The last file that starts at or before `offset` (skipping empty files).
        let mut fi = self.starts.partition_point(|&s| s <= offset) - 1;
        while !buf.is_empty() {
            let file = &self.files[fi];
            let within = offset - self.starts[fi];
            if within >= file.length {
                fi += 1;
                continue;
            }
            let n = ((file.length - within) as usize).min(buf.len());
            let handle = match open.take() {
                Some((i, f)) if i == fi => f,
                _ => File::open(&file.disk_path).map_err(|source| CreateError::Io {
                    path: file.disk_path.clone(),
                    source,
                })?,
            };
            let read = read_exact_at(&handle, &mut buf[..n], within);
            *open = Some((fi, handle));
            read.map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    CreateError::Changed(file.disk_path.clone())
                } else {
                    CreateError::Io {
                        path: file.disk_path.clone(),
                        source: e,
                    }
                }
            })?;
            buf = &mut buf[n..];
            offset += n as u64;
            fi += 1;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn read_exact_at(f: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(f: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match f.seek_read(buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}
