//! Which names in the watched folder are items, and which group an item
//! belongs to. Pure functions of names: no filesystem access here.

use std::path::{Component, Path, PathBuf};

/// Suffixes of files still being downloaded or written (compared without case).
pub(super) const TEMP_SUFFIXES: [&str; 5] = [".part", ".tmp", "~", ".crdownload", ".partial"];

/// A hidden name (leading dot).
pub(super) fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// A name that marks an unfinished file: `.part`, `.tmp`, `~`, `.crdownload`, `.partial`.
pub(super) fn is_temp(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    TEMP_SUFFIXES.iter().any(|s| lower.ends_with(s))
}

/// A name the watcher never shares: hidden or temporary.
pub(super) fn is_ignored(name: &str) -> bool {
    is_hidden(name) || is_temp(name)
}

/// One shareable item: a direct child of `shared/` (`group: None`, public;
/// only files are items there) or of `shared/<group>/`.
///
/// A key with `group: None` is also how a group folder is first seen (a
/// direct child of `shared/` whose kind is not yet known).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct ItemKey {
    /// The group folder, if any.
    pub group: Option<String>,
    /// The item's file or folder name.
    pub name: String,
}

impl ItemKey {
    /// A public item (or a group folder).
    pub fn top(name: &str) -> Self {
        ItemKey {
            group: None,
            name: name.to_owned(),
        }
    }

    /// An item of `group`.
    pub fn in_group(group: &str, name: &str) -> Self {
        ItemKey {
            group: Some(group.to_owned()),
            name: name.to_owned(),
        }
    }

    /// The path relative to `shared/`.
    pub fn rel_path(&self) -> PathBuf {
        match &self.group {
            Some(g) => Path::new(g).join(&self.name),
            None => PathBuf::from(&self.name),
        }
    }

    /// The path relative to `shared/` with `/` separators (the cache's key).
    pub fn to_rel_string(&self) -> String {
        match &self.group {
            Some(g) => format!("{g}/{}", self.name),
            None => self.name.clone(),
        }
    }

    /// Parses [`ItemKey::to_rel_string`]; `None` for anything that is not an item path.
    pub fn from_rel_string(text: &str) -> Option<Self> {
        key_for(Path::new(text)).filter(|k| k.to_rel_string() == text)
    }

    /// The item on disk.
    pub fn disk_path(&self, root: &Path) -> PathBuf {
        root.join(self.rel_path())
    }

    /// The folder that contains the item (the engine's download folder for it).
    pub fn data_dir(&self, root: &Path) -> PathBuf {
        match &self.group {
            Some(g) => root.join(g),
            None => root.to_path_buf(),
        }
    }
}

/// The item a path (relative to `shared/`) belongs to: its first one or two
/// components. `None` for the root itself, for anything under a hidden or
/// temporary name at item level or above, and for names that are not UTF-8.
/// Paths deeper than an item map to that item (a file inside a shared folder).
pub(super) fn key_for(rel: &Path) -> Option<ItemKey> {
    let mut parts = rel.components().map(|c| match c {
        Component::Normal(n) => n.to_str(),
        _ => None,
    });
    let first = parts.next()??;
    if is_ignored(first) {
        return None;
    }
    match parts.next() {
        None => Some(ItemKey::top(first)),
        Some(second) => {
            let second = second?;
            if is_ignored(second) {
                return None;
            }
            Some(ItemKey::in_group(first, second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_and_hidden_names_are_ignored() {
        for name in [
            ".secret",
            "a.tmp",
            "b.part",
            "c~",
            "d.crdownload",
            "e.PARTIAL",
        ] {
            assert!(is_ignored(name), "{name}");
        }
        for name in ["movie.mkv", "part", "tmp", "notes.txt"] {
            assert!(!is_ignored(name), "{name}");
        }
    }

    #[test]
    fn paths_map_to_their_item() {
        assert_eq!(key_for(Path::new("x.bin")), Some(ItemKey::top("x.bin")));
        assert_eq!(
            key_for(Path::new("team/x.bin")),
            Some(ItemKey::in_group("team", "x.bin"))
        );
        assert_eq!(
            key_for(Path::new("team/album/track.flac")),
            Some(ItemKey::in_group("team", "album"))
        );
        assert_eq!(key_for(Path::new("team/x.part")), None);
        assert_eq!(key_for(Path::new(".git/config")), None);
        assert_eq!(key_for(Path::new("")), None);
        assert_eq!(
            key_for(Path::new("team/album/.hidden")),
            Some(ItemKey::in_group("team", "album"))
        );
    }

    #[test]
    fn rel_strings_round_trip() {
        for key in [ItemKey::top("a b"), ItemKey::in_group("team", "x.iso")] {
            assert_eq!(ItemKey::from_rel_string(&key.to_rel_string()), Some(key));
        }
        assert_eq!(ItemKey::from_rel_string("team/album/x"), None);
        assert_eq!(ItemKey::from_rel_string("../x"), None);
    }
}
