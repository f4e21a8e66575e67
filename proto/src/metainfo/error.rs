//! Every way a .torrent file can be refused, each with the offending value.

use crate::bencode::DecodeError;

/// Why a .torrent was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetainfoError {
    /// Not valid bencode at all.
    #[error(transparent)]
    Bencode(#[from] DecodeError),
    /// The top level is not a dictionary.
    #[error("a torrent file must be a bencoded dictionary, found a {0}")]
    NotADictionary(&'static str),
    /// No `info` dictionary.
    #[error("missing or invalid 'info' dictionary")]
    MissingInfo,
    /// A v2-only torrent (BEP 52 without v1 `pieces`).
    #[error("BitTorrent v2 is not supported (this torrent has no v1 metadata)")]
    V2NotSupported,
    /// A `meta version` we do not know.
    #[error("unsupported 'meta version' {0}")]
    UnknownMetaVersion(i64),
    /// `name` missing or not a string.
    #[error("missing name in torrent file")]
    MissingName,
    /// `name` has nothing left once made safe (for example `..`).
    #[error(
        "unsafe torrent name {0:?}: nothing is left once '.', '..', separators and empty parts are removed"
    )]
    UnsafeName(String),
    /// `piece length` missing or not an integer.
    #[error("missing or invalid 'piece length'")]
    MissingPieceLength,
    /// `piece length` out of range.
    #[error("invalid piece length {0}: must be between 1 and {max} bytes", max = super::MAX_PIECE_LENGTH)]
    BadPieceLength(i64),
    /// `pieces` missing or not a string.
    #[error("missing or invalid 'pieces'")]
    MissingPieces,
    /// `pieces` is not a whole number of SHA-1 hashes.
    #[error("'pieces' is {0} bytes long, not a multiple of 20")]
    PiecesNotMultipleOf20(usize),
    /// The number of hashes does not match the total length.
    #[error(
        "torrent has {found} piece hashes but its {total_length} bytes in {piece_length}-byte pieces need {expected}"
    )]
    PieceCountMismatch {
        /// Hashes present.
        found: u64,
        /// Hashes needed.
        expected: u64,
        /// Sum of file lengths.
        total_length: u64,
        /// The piece length.
        piece_length: u64,
    },
    /// Both `length` and `files`.
    #[error("info has both 'length' and 'files'")]
    BothLengthAndFiles,
    /// Neither `length` nor `files`.
    #[error("info has neither 'length' nor 'files'")]
    NeitherLengthNorFiles,
    /// `files` is present but not a list, or empty.
    #[error("no files in torrent")]
    NoFiles,
    /// A file entry that is not a dictionary.
    #[error("file {0} is not a dictionary")]
    FileNotDictionary(usize),
    /// A length that is missing, not an integer or negative.
    #[error("invalid length of file {index}: {reason}")]
    BadFileLength {
        /// File index (0 for a single-file torrent).
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// Lengths add up past what we accept.
    #[error("total length overflows {max} bytes", max = super::MAX_TOTAL_LENGTH)]
    TotalLengthTooLarge,
    /// All files are empty.
    #[error("invalid length of torrent: total size is 0 bytes")]
    EmptyTorrent,
    /// A `path` that is missing or malformed.
    #[error("invalid path of file {index}: {reason}")]
    BadPath {
        /// File index.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A path with no usable component once made safe.
    #[error(
        "unsafe path of file {index} ({raw}): nothing is left once '.', '..', separators and empty parts are removed"
    )]
    EmptyPath {
        /// File index.
        index: usize,
        /// The path as found, components joined with '/'.
        raw: String,
    },
    /// Two files resolve to the same path.
    #[error("two files in the torrent resolve to the same path {0:?}")]
    DuplicatePath(String),
    /// A file path is also used as a folder by another file.
    #[error("{0:?} is both a file and a folder in this torrent")]
    FileFolderConflict(String),
    /// Too many files.
    #[error("torrent lists more than {max} files", max = super::MAX_FILES)]
    TooManyFiles,
    /// A hybrid torrent whose v1 and v2 parts describe different files.
    #[error("the v1 and v2 file metadata do not match: {0}")]
    HybridMismatch(String),
}
