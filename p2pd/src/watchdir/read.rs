//! Reads one settled file of the watch folder: a .torrent (parsed) or a
//! magnet file (one link). Bounded and careful with what it opens: never a
//! symlink, never a FIFO or device (opening one could block for good), never
//! more bytes than a torrent may have. Blocking (`std::fs`): call it from
//! `spawn_blocking` only. Starts nothing.

use std::io::Read;
use std::path::Path;

use p2p_proto::infohash::InfoHash;
use p2p_proto::magnet::{MAX_MAGNET_BYTES, Magnet};
use p2p_proto::metainfo::Metainfo;

use super::settle::Look;

/// Largest .torrent taken from the watch folder (a torrent of a few hundred
/// GiB in 256 KiB pieces is about 2 MiB).
pub const MAX_TORRENT_BYTES: u64 = 8 << 20;
/// Largest magnet file: one link, with room for blank lines around it.
const MAX_MAGNET_FILE_BYTES: u64 = MAX_MAGNET_BYTES as u64 + 1024;

/// What a file of the watch folder holds.
#[derive(Debug, Clone)]
pub enum Found {
    /// A parsed .torrent and its bytes (kept as the download's copy).
    Torrent {
        /// The torrent.
        meta: Box<Metainfo>,
        /// The file's bytes.
        bytes: Vec<u8>,
    },
    /// A magnet link.
    Magnet(Box<Magnet>),
}

impl Found {
    /// The torrent's info-hash.
    pub fn info_hash(&self) -> InfoHash {
        match self {
            Found::Torrent { meta, .. } => meta.info_hash,
            Found::Magnet(m) => m.info_hash,
        }
    }
}

/// What kind of file a name says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `*.torrent`.
    Torrent,
    /// `*.magnet`: a text file holding a magnet link.
    Magnet,
}

impl Kind {
    /// The kind of a file name; `None` for names the watch folder leaves
    /// alone (other suffixes, hidden names, what it renamed itself).
    pub fn of(name: &str) -> Option<Kind> {
        if name.starts_with('.') {
            return None;
        }
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".torrent") && lower.len() > ".torrent".len() {
            Some(Kind::Torrent)
        } else if lower.ends_with(".magnet") && lower.len() > ".magnet".len() {
            Some(Kind::Magnet)
        } else {
            None
        }
    }
}

/// Why a settled file was not read into a [`Found`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Unread {
    /// It cannot start a download, and why (for the log and `status`).
    Invalid(String),
    /// It changed since it settled (a writer came back), or a process
    /// still holds it open for writing: look again later.
    Changed,
    /// It went away.
    Gone,
}

/// Reads `path`, which settled as `settled`.
pub(super) fn read(path: &Path, kind: Kind, settled: Look) -> Result<Found, Unread> {
    let cap = match kind {
        Kind::Torrent => MAX_TORRENT_BYTES,
        Kind::Magnet => MAX_MAGNET_FILE_BYTES,
    };
    let bytes = read_capped(path, cap, settled)?;
    match kind {
        Kind::Torrent => match Metainfo::from_bytes(&bytes) {
            Ok(meta) => Ok(Found::Torrent {
                meta: Box::new(meta),
                bytes,
            }),
            Err(e) => Err(Unread::Invalid(format!("not a usable .torrent: {e}"))),
        },
        Kind::Magnet => magnet(&bytes).map(|m| Found::Magnet(Box::new(m))),
    }
}

/// The one magnet link of a magnet file.
fn magnet(bytes: &[u8]) -> Result<Magnet, Unread> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Unread::Invalid("a magnet file must be UTF-8 text".into()))?;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let link = lines
        .next()
        .ok_or_else(|| Unread::Invalid("the magnet file is empty".into()))?;
    if lines.next().is_some() {
        return Err(Unread::Invalid(
            "the magnet file holds more than one line: one magnet link per file".into(),
        ));
    }
    Magnet::parse(link).map_err(|e| Unread::Invalid(e.to_string()))
}

/// The file's bytes, if it is a regular file of at most `cap` bytes that is
/// still as it settled.
fn read_capped(path: &Path, cap: u64, settled: Look) -> Result<Vec<u8>, Unread> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unread::Gone),
        Err(e) => return Err(Unread::Invalid(format!("cannot read it: {e}"))),
    };
    if meta.file_type().is_symlink() {
        return Err(Unread::Invalid("a symlink (never followed)".into()));
    }
    if !meta.is_file() {
        return Err(Unread::Invalid("not a regular file".into()));
    }
    if super::writers::open_for_writing(path) {
        return Err(Unread::Changed);
    }
    if meta.len() > cap {
        return Err(Unread::Invalid(format!(
            "{} bytes, more than the {cap} a file of the watch folder may have",
            meta.len()
        )));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Swapped for a symlink or a FIFO since the look: fail, never block.
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unread::Gone),
        Err(e) => return Err(Unread::Invalid(format!("cannot open it: {e}"))),
    };
    let opened = file
        .metadata()
        .map_err(|e| Unread::Invalid(format!("cannot read it: {e}")))?;
    if !opened.is_file() {
        return Err(Unread::Invalid("not a regular file".into()));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Unread::Invalid(format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(Unread::Invalid(format!(
            "more than the {cap} bytes a file of the watch folder may have"
        )));
    }
    // A writer that came back after the file settled: what was read may be
    // half of it.
    let after = std::fs::metadata(path).map(|m| Look::of(&m));
    if Look::of(&opened) != settled || after.ok() != Some(settled) {
        return Err(Unread::Changed);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settled(path: &Path) -> Look {
        Look::of(&std::fs::metadata(path).unwrap())
    }

    #[test]
    fn names_say_what_is_read_and_the_rest_is_left_alone() {
        assert_eq!(Kind::of("a.torrent"), Some(Kind::Torrent));
        assert_eq!(Kind::of("A.TORRENT"), Some(Kind::Torrent));
        assert_eq!(Kind::of("x.magnet"), Some(Kind::Magnet));
        for name in [
            ".torrent",
            ".hidden.torrent",
            "a.torrent.added",
            "a.torrent.invalid",
            "a.torrent.part",
            "notes.txt",
        ] {
            assert_eq!(Kind::of(name), None, "{name}");
        }
    }

    #[test]
    fn garbage_and_oversize_files_are_invalid_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.torrent");
        std::fs::write(&junk, b"this is not bencode").unwrap();
        let Err(Unread::Invalid(why)) = read(&junk, Kind::Torrent, settled(&junk)) else {
            panic!("garbage was read");
        };
        assert!(why.starts_with("not a usable .torrent: "), "{why}");
        let big = dir.path().join("big.torrent");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_TORRENT_BYTES + 1)
            .unwrap();
        let Err(Unread::Invalid(why)) = read(&big, Kind::Torrent, settled(&big)) else {
            panic!("an oversize file was read");
        };
        assert!(why.contains("more than the 8388608"), "{why}");
    }

    #[test]
    fn a_magnet_file_holds_one_link() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("a.magnet");
        let link = format!("magnet:?xt=urn:btih:{}&dn=x", "ab".repeat(20));
        std::fs::write(&m, format!("\n  {link}\n\n")).unwrap();
        let Ok(Found::Magnet(found)) = read(&m, Kind::Magnet, settled(&m)) else {
            panic!("the link was not read");
        };
        assert_eq!(found.info_hash, InfoHash([0xab; 20]));
        std::fs::write(&m, format!("{link}\n{link}\n")).unwrap();
        assert!(matches!(
            read(&m, Kind::Magnet, settled(&m)),
            Err(Unread::Invalid(why)) if why.contains("more than one line")
        ));
        std::fs::write(&m, "http://example.com/\n").unwrap();
        assert!(matches!(
            read(&m, Kind::Magnet, settled(&m)),
            Err(Unread::Invalid(why)) if why.starts_with("not a magnet link")
        ));
    }

    #[test]
    fn a_file_that_changed_since_it_settled_is_read_again_later() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("a.magnet");
        std::fs::write(&m, "magnet:?xt=").unwrap();
        let before = settled(&m);
        std::fs::write(&m, "magnet:?xt=urn:btih:0123").unwrap();
        assert_eq!(read(&m, Kind::Magnet, before).unwrap_err(), Unread::Changed);
        assert_eq!(
            read(&dir.path().join("gone.magnet"), Kind::Magnet, before).unwrap_err(),
            Unread::Gone
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_and_fifos_are_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret");
        std::fs::write(&target, b"d4:infoe").unwrap();
        let link = dir.path().join("l.torrent");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let look = Look::of(&std::fs::symlink_metadata(&link).unwrap());
        assert_eq!(
            read(&link, Kind::Torrent, look).unwrap_err(),
            Unread::Invalid("a symlink (never followed)".into())
        );
        let fifo = dir.path().join("p.torrent");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let look = Look::of(&std::fs::symlink_metadata(&fifo).unwrap());
        assert_eq!(
            read(&fifo, Kind::Torrent, look).unwrap_err(),
            Unread::Invalid("not a regular file".into())
        );
    }
}
