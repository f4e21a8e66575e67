//! The files of a torrent as the control protocol names them: which to
//! fetch ([`FileSet`], counted from 1 as `files-of` lists them) and how
//! eagerly ([`FilePriority`]).

use serde::{Deserialize, Serialize};

use crate::indexes::{IndexError, IndexRanges};

/// How eagerly a file is fetched: pieces of `high` files first, then
/// `normal`, then `low`; `skip` files are not fetched nor created.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum FilePriority {
    /// Not fetched; not created on disk.
    Skip,
    /// After every normal and high file.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Before every other file.
    High,
}

impl FilePriority {
    /// Every priority, lowest first.
    pub const ALL: [FilePriority; 4] = [
        FilePriority::Skip,
        FilePriority::Low,
        FilePriority::Normal,
        FilePriority::High,
    ];

    /// The wire and command-line word.
    pub fn as_str(self) -> &'static str {
        match self {
            FilePriority::Skip => "skip",
            FilePriority::Low => "low",
            FilePriority::Normal => "normal",
            FilePriority::High => "high",
        }
    }

    /// Reads the word `as_str` gives.
    pub fn parse(word: &str) -> Option<FilePriority> {
        FilePriority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(word.trim()))
    }

    /// Whether the file's data is fetched at all.
    pub fn wanted(self) -> bool {
        self != FilePriority::Skip
    }
}

impl std::fmt::Display for FilePriority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Files of a torrent by their index in `files-of` (counted from 1), as
/// `1,3-5`; on the wire the same text, checked when read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSet(pub IndexRanges);

impl FileSet {
    /// Parses `1,3-5`.
    pub fn parse(text: &str) -> Result<FileSet, IndexError> {
        IndexRanges::parse(text, 1).map(FileSet)
    }

    /// Fails on an index past the last of `count` files.
    pub fn check_within(&self, count: usize) -> Result<(), IndexError> {
        self.0.check_within(count, 1)
    }

    /// Whether the file at `i` in the `files-of` list (counted from 0) is in the set.
    pub fn contains(&self, i: usize) -> bool {
        self.0.contains(i)
    }
}

impl std::fmt::Display for FileSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.display(1).fmt(f)
    }
}

impl Serialize for FileSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FileSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        FileSet::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// One file in the reply to `torrent_files` and `file_priority`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TorrentFile {
    /// Its index, counted from 1 (what `--files` and `priority` take).
    pub index: u32,
    /// Path inside the download folder.
    pub path: String,
    /// Bytes.
    pub length: u64,
    /// Bytes of it in verified pieces; 0 for a skipped file not on disk
    /// (what pieces shared with wanted files brought of it waits in the
    /// part file and is not counted as its data).
    pub have: u64,
    /// How eagerly it is fetched.
    pub priority: FilePriority,
}

/// Reply to `torrent_files` and `file_priority`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TorrentFiles {
    /// The torrent.
    pub info_hash: crate::infohash::InfoHash,
    /// Torrent name.
    pub name: String,
    /// Its files, in the torrent's order (padding files left out).
    pub files: Vec<TorrentFile>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_set_travels_as_its_text_and_is_checked_when_read() {
        let set = FileSet::parse("1,3-5").unwrap();
        assert_eq!(serde_json::to_string(&set).unwrap(), "\"1,3-5\"");
        let back: FileSet = serde_json::from_str("\"1, 3-5\"").unwrap();
        assert_eq!(back, set);
        let e = serde_json::from_str::<FileSet>("\"5-3\"").unwrap_err();
        assert!(e.to_string().contains("runs backwards"), "{e}");
        assert!(serde_json::from_str::<FileSet>("\"0\"").is_err());
        assert!(serde_json::from_str::<FileSet>("7").is_err());
    }

    #[test]
    fn priorities_read_their_words_in_any_case() {
        for p in FilePriority::ALL {
            assert_eq!(FilePriority::parse(p.as_str()), Some(p));
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.as_str())
            );
        }
        assert_eq!(FilePriority::parse(" HIGH "), Some(FilePriority::High));
        assert_eq!(FilePriority::parse("urgent"), None);
        assert!(
            FilePriority::Skip < FilePriority::Low && FilePriority::Normal < FilePriority::High
        );
    }
}
