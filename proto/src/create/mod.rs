//! Building a .torrent from a file or a folder: walk, hash on every core,
//! encode. The only module of this crate that touches the filesystem (plain
//! `std` reads and threads, no runtime), so `p2pctl create` needs no daemon.
//!
//! Policies, chosen to match mktorrent so equal inputs give equal info-hashes:
//! - files are ordered by the bytes of their full path inside the torrent;
//! - hidden files and folders (name starts with `.`) are skipped unless
//!   [`CreateOptions::include_hidden`] is set;
//! - symlinks are followed: a link to a file contributes that file's bytes
//!   under the link's name, a link to a folder is walked; a dangling link
//!   or a link back into one of its own parent folders is an error;
//! - anything that is not a regular file or folder (fifo, socket, device) is
//!   an error, since reading it could block forever or never end.

mod hash;
mod walk;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::bencode::{OwnedValue, encode};
use crate::metainfo::{Metainfo, MetainfoError, TorrentExtras, encode_torrent};

pub use walk::SourceFile;

/// Smallest piece length we choose (BEP 52 and most clients use 16 KiB blocks).
pub const MIN_AUTO_PIECE_LENGTH: u64 = 16 << 10;
/// Largest piece length we choose.
pub const MAX_AUTO_PIECE_LENGTH: u64 = 16 << 20;
/// The automatic rule aims for at most this many pieces.
pub const TARGET_MAX_PIECES: u64 = 2000;
/// Most hashing threads, whatever the machine.
pub const MAX_HASH_THREADS: usize = 64;

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Bytes per piece; `None` picks one with [`auto_piece_length`].
    pub piece_length: Option<u64>,
    /// Set `private: 1` (BEP 27).
    pub private: bool,
    /// `source` inside the info dictionary (changes the info-hash).
    pub source: Option<String>,
    /// Include files and folders whose name starts with a dot.
    pub include_hidden: bool,
    /// Hashing threads; `None` uses every core.
    pub threads: Option<usize>,
    /// Trackers, web seeds, comment, creator and date.
    pub extras: TorrentExtras,
}

/// Optional hooks while hashing.
#[derive(Default)]
pub struct Control<'a> {
    /// Called after each piece with the number of bytes hashed so far.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// When set to true, hashing stops with [`CreateError::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

impl std::fmt::Debug for Control<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").finish_non_exhaustive()
    }
}

/// A created torrent: the file's bytes and what they say.
#[derive(Debug, Clone)]
pub struct Created {
    /// The .torrent file's bytes.
    pub bytes: Vec<u8>,
    /// The parsed form of `bytes`.
    pub metainfo: Metainfo,
    /// The files that were hashed, in torrent order.
    pub files: Vec<SourceFile>,
}

/// Why a torrent could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// An I/O error on a named path.
    #[error("cannot read {}", path.display())]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Nothing with any bytes to share.
    #[error("{0}: nothing to share (no files, or every file is empty or hidden)")]
    Empty(PathBuf),
    /// A fifo, socket or device.
    #[error("{0}: not a regular file or folder")]
    NotRegular(PathBuf),
    /// A symlink that points at nothing.
    #[error("{0}: dangling symlink")]
    DanglingSymlink(PathBuf),
    /// A symlink loop.
    #[error("{0}: symlink loops back into one of its parent folders")]
    SymlinkLoop(PathBuf),
    /// A file changed size while being hashed.
    #[error("{0}: file changed while it was being hashed")]
    Changed(PathBuf),
    /// An explicit piece length that is not usable.
    #[error("piece length {0} is not a power of two between 16 KiB and 256 MiB")]
    BadPieceLength(u64),
    /// A name that cannot go into a torrent.
    #[error("{0}: has no usable file name")]
    NoName(PathBuf),
    /// Stopped through [`Control::cancel`].
    #[error("cancelled")]
    Cancelled,
    /// Our own output did not parse back (a bug, or a name our path policy refuses).
    #[error("the created torrent is invalid: {0}")]
    Invalid(#[from] MetainfoError),
}

/// The automatic piece length: the smallest power of two from 16 KiB to
/// 16 MiB that keeps the torrent at or under 2,000 pieces, so most torrents
/// get between 1,000 and 2,000 pieces (fewer when small, more past 32 GiB).
pub fn auto_piece_length(total_length: u64) -> u64 {
    let mut p = MIN_AUTO_PIECE_LENGTH;
    while p < MAX_AUTO_PIECE_LENGTH && total_length.div_ceil(p) > TARGET_MAX_PIECES {
        p *= 2;
    }
    p
}

/// Creates a torrent for the file or folder at `path`.
pub fn create_torrent(
    path: &Path,
    opts: &CreateOptions,
    control: &Control<'_>,
) -> Result<Created, CreateError> {
    if let Some(p) = opts.piece_length
        && (!p.is_power_of_two() || !(MIN_AUTO_PIECE_LENGTH..=256 << 20).contains(&p))
    {
        return Err(CreateError::BadPieceLength(p));
    }
    let source = walk::walk(path, opts.include_hidden)?;
    let total: u64 = source.files.iter().map(|f| f.length).sum();
    if total == 0 {
        return Err(CreateError::Empty(path.to_path_buf()));
    }
    let piece_length = opts
        .piece_length
        .unwrap_or_else(|| auto_piece_length(total));
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .clamp(1, MAX_HASH_THREADS);
    let pieces = hash::hash_pieces(&source.files, piece_length, threads, control)?;

    let mut info = OwnedValue::dict()
        .with("name", OwnedValue::bytes(&source.name))
        .with("piece length", OwnedValue::Int(piece_length as i64))
        .with("pieces", OwnedValue::Bytes(pieces));
    if source.single_file {
        info.insert("length", OwnedValue::Int(total as i64));
    } else {
        let files = source
            .files
            .iter()
            .map(|f| {
                OwnedValue::dict()
                    .with("length", OwnedValue::Int(f.length as i64))
                    .with(
                        "path",
                        OwnedValue::List(f.components.iter().map(OwnedValue::bytes).collect()),
                    )
            })
            .collect();
        info.insert("files", OwnedValue::List(files));
    }
    if opts.private {
        info.insert("private", OwnedValue::Int(1));
    }
    if let Some(s) = &opts.source {
        info.insert("source", OwnedValue::bytes(s));
    }
    let raw_info = encode(&info);
    let bytes = encode_torrent(&raw_info, &opts.extras);
    let metainfo = Metainfo::from_bytes(&bytes)?;
    Ok(Created {
        bytes,
        metainfo,
        files: source.files,
    })
}

#[cfg(test)]
mod tests;
