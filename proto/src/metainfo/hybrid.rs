//! Hybrid torrents (BEP 52 with v1 keys): we use the v1 half, but only after
//! checking that the v2 `file tree` describes the same files, so that a
//! hybrid built to show different content to v1 and v2 clients is refused.

use super::{Info, MetainfoError};
use crate::bencode::Value;

type Result<T> = std::result::Result<T, MetainfoError>;

/// Most nested folders we follow in a `file tree` (the decoder caps depth too).
const MAX_TREE_DEPTH: usize = 48;

struct TreeFile {
    path: Vec<String>,
    length: u64,
}

pub(super) fn check(info: &Value<'_>, v1: &Info) -> Result<()> {
    let mismatch = |why: String| MetainfoError::HybridMismatch(why);
    let tree = info
        .get("file tree")
        .filter(|t| t.as_dict().is_some())
        .ok_or_else(|| mismatch("'meta version' 2 without a 'file tree' dictionary".into()))?;
    let mut v2 = Vec::new();
    walk(tree, &mut Vec::new(), &mut v2)?;

    let v1_files: Vec<_> = v1.files.iter().filter(|f| !f.pad).collect();
    if v1_files.len() != v2.len() {
        return Err(mismatch(format!(
            "v1 lists {} files, v2 lists {}",
            v1_files.len(),
            v2.len()
        )));
    }
    for (a, b) in v1_files.iter().zip(&v2) {
        // v1 paths start with the torrent name for multi-file torrents; the
        // v2 tree of a single-file torrent holds the name as its only entry.
        let a_rel = if v1.multi_file {
            &a.path[1..]
        } else {
            &a.path[..]
        };
        if a_rel != b.path.as_slice() || a.length != b.length {
            return Err(mismatch(format!(
                "v1 has {:?} ({} bytes) where v2 has {:?} ({} bytes)",
                a_rel.join("/"),
                a.length,
                b.path.join("/"),
                b.length
            )));
        }
        // v2 hashes each file on its own, so a hybrid must start every
        // non-empty file on a piece boundary (with pad files in v1).
        if a.length > 0 && a.offset % v1.piece_length != 0 {
            return Err(mismatch(format!(
                "file {:?} starts at byte {}, not on a piece boundary",
                a_rel.join("/"),
                a.offset
            )));
        }
    }
    Ok(())
}

fn walk(node: &Value<'_>, prefix: &mut Vec<String>, out: &mut Vec<TreeFile>) -> Result<()> {
    let bad = |why: &str, path: &[String]| {
        MetainfoError::HybridMismatch(format!("bad v2 file tree at {:?}: {why}", path.join("/")))
    };
    if prefix.len() > MAX_TREE_DEPTH {
        return Err(bad("too deep", prefix));
    }
    let entries = node
        .as_dict()
        .ok_or_else(|| bad("not a dictionary", prefix))?;
    for (key, child) in entries {
        if key.is_empty() {
            // The "" key marks a file: its value holds length and root hash.
            if prefix.is_empty() || entries.len() != 1 {
                return Err(bad("file entry mixed with folder entries", prefix));
            }
            let length = child
                .get("length")
                .and_then(Value::as_int)
                .filter(|&n| n >= 0)
                .ok_or_else(|| bad("missing or negative 'length'", prefix))?;
            if child
                .get("attr")
                .and_then(Value::as_bytes)
                .is_some_and(|a| a.contains(&b'p'))
            {
                return Err(bad("pad attribute in v2 metadata", prefix));
            }
            out.push(TreeFile {
                path: prefix.clone(),
                length: length as u64,
            });
            continue;
        }
        if child.as_dict().is_none_or(|d| d.is_empty()) {
            return Err(bad("entry is not a file or a folder", prefix));
        }
        let name = std::str::from_utf8(key).map_err(|_| bad("name is not UTF-8", prefix))?;
        prefix.push(super::path::sanitize_component(key).unwrap_or_else(|| format!("\0{name}")));
        walk(child, prefix, out)?;
        prefix.pop();
    }
    Ok(())
}
