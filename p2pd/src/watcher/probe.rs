//! Looks at one item on disk and says what it is now: gone, a group folder,
//! unsupported, or present with a fingerprint. Blocking (`std::fs`): call it
//! from `spawn_blocking` only. Never reads file contents and never follows a
//! symlink.

use std::fs::{self, Metadata};
use std::path::Path;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use super::names::{ItemKey, is_hidden, is_ignored, is_temp};

/// What is compared between polls, and against the cache after a restart.
///
/// For a file: its size and mtime. For a folder: the number of files, their
/// total size, the newest mtime and a digest of every (path, size, mtime),
/// over the walk `create` does (hidden names skipped). `dev` and `ino` are
/// the item's own (0 where the platform has none) and let a rename be told
/// apart from a new item with the same size and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Fingerprint {
    /// Device of the file or folder.
    pub dev: u64,
    /// Inode of the file or folder.
    pub ino: u64,
    /// Bytes (total, for a folder).
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (newest file, for a folder).
    pub mtime_ns: i64,
    /// Number of files (1 for a file).
    pub files: u64,
    /// First 8 bytes of SHA-1 over every file's path, size and mtime (0 for a file).
    pub tree: u64,
}

/// What an item is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Probe {
    /// Nothing to share: missing, empty, or not an item (hidden, temp).
    Nothing,
    /// A direct child of `shared/` that is a folder: a group, with its items.
    Group(Vec<ItemKey>),
    /// Something the watcher will not share, and why.
    Unsupported(String),
    /// A file or folder with something in it. `busy` says why it is not
    /// complete whatever the polls say (a temp file inside, or a writer that
    /// has not closed the file yet).
    Present {
        /// The fingerprint now.
        fp: Fingerprint,
        /// Why it cannot be complete yet.
        busy: Option<String>,
    },
}

/// Probes the item `key` under `root`. `writing` says a writer still has one
/// of its files open (known from close-write events).
pub(super) fn probe(root: &Path, key: &ItemKey, writing: bool) -> Probe {
    let path = key.disk_path(root);
    let meta = match fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Probe::Nothing,
        Err(e) => return Probe::Unsupported(format!("cannot stat: {e}")),
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        return Probe::Unsupported("a symlink (never followed)".into());
    }
    let writing = writing.then(|| "still open for writing".to_owned());
    if ft.is_file() {
        if meta.len() == 0 {
            return Probe::Nothing;
        }
        let (dev, ino) = identity(&meta);
        let fp = Fingerprint {
            dev,
            ino,
            size: meta.len(),
            mtime_ns: mtime_ns(&meta),
            files: 1,
            tree: 0,
        };
        return Probe::Present { fp, busy: writing };
    }
    if !ft.is_dir() {
        return Probe::Unsupported("not a regular file or folder".into());
    }
    if key.group.is_none() {
        return match list_items(&path, Some(&key.name)) {
            Ok(items) => Probe::Group(items),
            Err(e) => Probe::Unsupported(format!("cannot list group folder: {e}")),
        };
    }
    probe_folder(&path, &meta, writing)
}

fn probe_folder(path: &Path, meta: &Metadata, writing: Option<String>) -> Probe {
    let mut walk = Walk::default();
    if let Err(e) = walk.visit(path, &mut Vec::new()) {
        return Probe::Unsupported(e);
    }
    if walk.size == 0 {
        return Probe::Nothing;
    }
    walk.entries.sort_unstable();
    let mut digest = Sha1::new();
    for (rel, size, mtime) in &walk.entries {
        digest.update((rel.len() as u64).to_le_bytes());
        digest.update(rel);
        digest.update(size.to_le_bytes());
        digest.update(mtime.to_le_bytes());
    }
    let digest: [u8; 20] = digest.finalize().into();
    let mut tree = [0u8; 8];
    tree.copy_from_slice(&digest[..8]);
    let (dev, ino) = identity(meta);
    let fp = Fingerprint {
        dev,
        ino,
        size: walk.size,
        mtime_ns: walk.newest,
        files: walk.entries.len() as u64,
        tree: u64::from_le_bytes(tree),
    };
    let busy = writing.or(walk
        .temp
        .map(|t| format!("contains the temporary file {t}")));
    Probe::Present { fp, busy }
}

/// A folder walk with `create`'s rules: hidden names skipped, files ordered
/// by their path bytes. Unlike `create`, symlinks and special files refuse
/// the whole folder instead of being followed.
#[derive(Default)]
struct Walk {
    entries: Vec<(Vec<u8>, u64, i64)>,
    size: u64,
    newest: i64,
    temp: Option<String>,
}

impl Walk {
    fn visit(&mut self, dir: &Path, prefix: &mut Vec<u8>) -> Result<(), String> {
        let rd = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for entry in rd {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
            let name = entry.file_name();
            let name_text = name.to_string_lossy();
            if is_hidden(&name_text) {
                continue;
            }
            let path = entry.path();
            let meta = fs::symlink_metadata(&path)
                .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
            let ft = meta.file_type();
            if ft.is_symlink() {
                return Err(format!("contains a symlink: {}", path.display()));
            }
            let before = prefix.len();
            if !prefix.is_empty() {
                prefix.push(b'/');
            }
            prefix.extend_from_slice(name_text.as_bytes());
            if ft.is_dir() {
                self.visit(&path, prefix)?;
            } else if ft.is_file() {
                if is_temp(&name_text) && self.temp.is_none() {
                    self.temp = Some(String::from_utf8_lossy(prefix).into_owned());
                }
                let mtime = mtime_ns(&meta);
                self.size = self.size.saturating_add(meta.len());
                self.newest = self.newest.max(mtime);
                self.entries.push((prefix.clone(), meta.len(), mtime));
            } else {
                return Err(format!("contains a special file: {}", path.display()));
            }
            prefix.truncate(before);
        }
        Ok(())
    }
}

/// The items directly in `dir`: public items and group folders when `group`
/// is `None` (`dir` is `shared/`), else the items of that group. Hidden,
/// temporary and non-UTF-8 names are left out.
pub(super) fn list_items(dir: &Path, group: Option<&str>) -> std::io::Result<Vec<ItemKey>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            tracing::debug!(path = %entry.path().display(), "skipping a name that is not UTF-8");
            continue;
        };
        if is_ignored(&name) {
            continue;
        }
        out.push(match group {
            Some(g) => ItemKey::in_group(g, &name),
            None => ItemKey::top(&name),
        });
    }
    Ok(out)
}

fn mtime_ns(meta: &Metadata) -> i64 {
    match meta.modified().map(|t| t.duration_since(UNIX_EPOCH)) {
        Ok(Ok(d)) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Ok(Err(before)) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
        Err(_) => 0,
    }
}

#[cfg(unix)]
fn identity(meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_folder_fingerprint_changes_when_a_file_inside_is_renamed() {
        let dir = tempfile::tempdir().unwrap();
        let album = dir.path().join("team").join("album");
        fs::create_dir_all(&album).unwrap();
        fs::write(album.join("a.flac"), b"aaaa").unwrap();
        fs::write(album.join(".hidden"), b"zzz").unwrap();
        let key = ItemKey::in_group("team", "album");
        let Probe::Present { fp: before, busy } = probe(dir.path(), &key, false) else {
            panic!("expected an item");
        };
        assert_eq!(busy, None);
        assert_eq!((before.files, before.size), (1, 4));
        fs::rename(album.join("a.flac"), album.join("b.flac")).unwrap();
        let Probe::Present { fp: after, .. } = probe(dir.path(), &key, false) else {
            panic!("expected an item");
        };
        assert_ne!(before, after);
        fs::write(album.join("c.part"), b"x").unwrap();
        let Probe::Present { busy, .. } = probe(dir.path(), &key, false) else {
            panic!("expected an item");
        };
        assert!(busy.is_some());
    }

    #[test]
    fn a_top_level_folder_is_a_group_and_empty_files_are_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("team")).unwrap();
        fs::write(dir.path().join("team").join("x"), b"1").unwrap();
        fs::write(dir.path().join("team").join("x.part"), b"1").unwrap();
        fs::write(dir.path().join("empty"), b"").unwrap();
        assert_eq!(
            probe(dir.path(), &ItemKey::top("team"), false),
            Probe::Group(vec![ItemKey::in_group("team", "x")])
        );
        assert_eq!(
            probe(dir.path(), &ItemKey::top("empty"), false),
            Probe::Nothing
        );
        assert_eq!(
            probe(dir.path(), &ItemKey::top("missing"), false),
            Probe::Nothing
        );
    }
}
