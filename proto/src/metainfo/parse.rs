//! From bytes to a validated [`Metainfo`].

use std::collections::HashSet;

use super::path::{sanitize_component, sanitize_path};
use super::{
    FileEntry, Info, MAX_FILES, MAX_PIECE_LENGTH, MAX_TOTAL_LENGTH, Metainfo, MetainfoError, hybrid,
};
use crate::bencode::{self, Value};
use crate::infohash::InfoHash;
use crate::webseed;

type Result<T> = std::result::Result<T, MetainfoError>;

pub(super) fn parse(bytes: &[u8]) -> Result<Metainfo> {
    // Bytes after the top-level dictionary (often a newline added by an
    // editor or a download) are ignored, as libtorrent ignores them: they
    // are outside the info dictionary, so they cannot change what we share.
    let (root, _used) = bencode::decode_prefix_with(bytes, &bencode::Limits::default())?;
    if root.as_dict().is_none() {
        return Err(MetainfoError::NotADictionary(root.type_name()));
    }
    let info_value = root
        .get("info")
        .filter(|v| v.as_dict().is_some())
        .ok_or(MetainfoError::MissingInfo)?;
    let mut meta = from_info(info_value)?;
    meta.trackers = trackers(&root);
    meta.web_seeds = web_seeds(&root);
    meta.creation_date = root.get("creation date").and_then(Value::as_int);
    meta.comment = text(&root, "comment");
    meta.created_by = text(&root, "created by");
    Ok(meta)
}

pub(super) fn parse_info_only(raw_info: &[u8]) -> Result<Metainfo> {
    let info = bencode::decode(raw_info)?;
    if info.as_dict().is_none() {
        return Err(MetainfoError::MissingInfo);
    }
    from_info(&info)
}

fn from_info(v: &Value<'_>) -> Result<Metainfo> {
    let has_v1_pieces = v.get("pieces").is_some();
    match v.get("meta version").map(|m| m.as_int()) {
        None => {}
        Some(Some(2)) if !has_v1_pieces => return Err(MetainfoError::V2NotSupported),
        Some(Some(2)) => {}
        Some(Some(1)) => {}
        Some(other) => return Err(MetainfoError::UnknownMetaVersion(other.unwrap_or(-1))),
    }
    let raw_name = v
        .get("name")
        .and_then(Value::as_bytes)
        .ok_or(MetainfoError::MissingName)?;
    let name = sanitize_component(raw_name)
        .ok_or_else(|| MetainfoError::UnsafeName(String::from_utf8_lossy(raw_name).into_owned()))?;

    let piece_length = match v.get("piece length").map(Value::as_int) {
        Some(Some(n)) if (1..=MAX_PIECE_LENGTH).contains(&n) => n as u64,
        Some(Some(n)) => return Err(MetainfoError::BadPieceLength(n)),
        _ => return Err(MetainfoError::MissingPieceLength),
    };

    let (files, multi_file) = match (v.get("length"), v.get("files")) {
        (Some(_), Some(_)) => return Err(MetainfoError::BothLengthAndFiles),
        (None, None) => return Err(MetainfoError::NeitherLengthNorFiles),
        (Some(len), None) => {
            let length = file_length(Some(len), 0)?;
            let entry = FileEntry {
                path: vec![name.clone()],
                length,
                offset: 0,
                pad: false,
                symlink: false,
                executable: attr(v).contains(&b'x'),
            };
            (vec![entry], false)
        }
        (None, Some(list)) => (multi_files(list, &name)?, true),
    };
    let total_length = files.last().map_or(0, |f| f.offset + f.length);
    if total_length == 0 {
        return Err(MetainfoError::EmptyTorrent);
    }

    let pieces_raw = v
        .get("pieces")
        .and_then(Value::as_bytes)
        .ok_or(MetainfoError::MissingPieces)?;
    if pieces_raw.len() % 20 != 0 {
        return Err(MetainfoError::PiecesNotMultipleOf20(pieces_raw.len()));
    }
    let expected = total_length.div_ceil(piece_length);
    let found = (pieces_raw.len() / 20) as u64;
    if found != expected {
        return Err(MetainfoError::PieceCountMismatch {
            found,
            expected,
            total_length,
            piece_length,
        });
    }
    let pieces = pieces_raw
        .chunks_exact(20)
        .map(|c| {
            let mut h = [0u8; 20];
            h.copy_from_slice(c);
            h
        })
        .collect();

    let info = Info {
        name,
        piece_length,
        pieces,
        files,
        multi_file,
        private: v.get("private").and_then(Value::as_int) == Some(1),
        source: text(v, "source"),
        total_length,
    };
    if v.get("meta version").is_some() {
        hybrid::check(v, &info)?;
    }
    Ok(Metainfo {
        info_hash: InfoHash::of_info_bytes(v.raw),
        raw_info: v.raw.to_vec(),
        info,
        trackers: Vec::new(),
        web_seeds: Vec::new(),
        creation_date: None,
        comment: None,
        created_by: None,
    })
}

fn attr<'a>(v: &Value<'a>) -> &'a [u8] {
    v.get("attr").and_then(Value::as_bytes).unwrap_or_default()
}

fn file_length(v: Option<&Value<'_>>, index: usize) -> Result<u64> {
    let bad = |reason: String| MetainfoError::BadFileLength { index, reason };
    match v {
        None => Err(bad("missing".into())),
        Some(v) => match v.as_int() {
            None => Err(bad(format!(
                "expected an integer, found a {}",
                v.type_name()
            ))),
            Some(n) if n < 0 => Err(bad(format!("negative length {n}"))),
            Some(n) if n as u64 > MAX_TOTAL_LENGTH => Err(MetainfoError::TotalLengthTooLarge),
            Some(n) => Ok(n as u64),
        },
    }
}

fn multi_files(list: &Value<'_>, name: &str) -> Result<Vec<FileEntry>> {
    let items = list.as_list().ok_or(MetainfoError::NoFiles)?;
    if items.is_empty() {
        return Err(MetainfoError::NoFiles);
    }
    if items.len() > MAX_FILES {
        return Err(MetainfoError::TooManyFiles);
    }
    let mut files = Vec::with_capacity(items.len());
    let mut offset: u64 = 0;
    let mut seen = HashSet::new();
    let mut folders = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        if item.as_dict().is_none() {
            return Err(MetainfoError::FileNotDictionary(index));
        }
        let flags = attr(item);
        let pad = flags.contains(&b'p') || is_legacy_pad(item);
        let symlink = flags.contains(&b'l');
        let length = if symlink {
            // BEP 47: a symlink's data is not part of the torrent.
            0
        } else {
            file_length(item.get("length"), index)?
        };
        let components = match item.get("path") {
            None if pad => Vec::new(),
            None => {
                return Err(MetainfoError::BadPath {
                    index,
                    reason: "missing 'path'",
                });
            }
            Some(p) => raw_components(p, index)?,
        };
        let safe = sanitize_path(components.iter().copied());
        if safe.is_empty() && !pad {
            let raw = components
                .iter()
                .map(|c| String::from_utf8_lossy(c))
                .collect::<Vec<_>>()
                .join("/");
            return Err(MetainfoError::EmptyPath { index, raw });
        }
        let mut path = Vec::with_capacity(safe.len() + 1);
        path.push(name.to_owned());
        path.extend(safe);
        if !pad {
            claim_path(&path, &mut seen, &mut folders)?;
        }
        files.push(FileEntry {
            path,
            length,
            offset,
            pad,
            symlink,
            executable: flags.contains(&b'x'),
        });
        offset = offset
            .checked_add(length)
            .filter(|&t| t <= MAX_TOTAL_LENGTH)
            .ok_or(MetainfoError::TotalLengthTooLarge)?;
    }
    Ok(files)
}

/// Pad files from before BEP 47 were only recognisable by name.
fn is_legacy_pad(item: &Value<'_>) -> bool {
    item.get("path")
        .and_then(Value::as_list)
        .and_then(<[Value<'_>]>::last)
        .and_then(Value::as_bytes)
        .is_some_and(|last| last.starts_with(b"_____padding_file_"))
}

fn raw_components<'a>(p: &Value<'a>, index: usize) -> Result<Vec<&'a [u8]>> {
    let list = p.as_list().ok_or(MetainfoError::BadPath {
        index,
        reason: "'path' is not a list",
    })?;
    list.iter()
        .map(|c| {
            c.as_bytes().ok_or(MetainfoError::BadPath {
                index,
                reason: "a 'path' element is not a string",
            })
        })
        .collect()
}

/// Records a file path, refusing a duplicate or a file/folder clash.
fn claim_path(
    path: &[String],
    files: &mut HashSet<String>,
    folders: &mut HashSet<String>,
) -> Result<()> {
    let joined = path.join("/");
    if folders.contains(&joined) {
        return Err(MetainfoError::FileFolderConflict(joined));
    }
    for depth in 1..path.len() {
        let folder = path[..depth].join("/");
        if files.contains(&folder) {
            return Err(MetainfoError::FileFolderConflict(folder));
        }
        folders.insert(folder);
    }
    if !files.insert(joined.clone()) {
        return Err(MetainfoError::DuplicatePath(joined));
    }
    Ok(())
}

fn text(v: &Value<'_>, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_bytes)
        .map(|b| String::from_utf8_lossy(b).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn url(v: &Value<'_>) -> Option<String> {
    let s = std::str::from_utf8(v.as_bytes()?).ok()?.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// BEP 12: `announce-list` wins when it has any usable URL; else `announce`.
/// Bad entries are skipped, as other clients do: a tracker list is a hint.
fn trackers(root: &Value<'_>) -> Vec<Vec<String>> {
    let mut seen = HashSet::new();
    let mut tiers = Vec::new();
    for tier in root
        .get("announce-list")
        .and_then(Value::as_list)
        .unwrap_or_default()
    {
        let urls: Vec<String> = tier
            .as_list()
            .unwrap_or_default()
            .iter()
            .filter_map(url)
            .filter(|u| seen.insert(u.clone()))
            .collect();
        if !urls.is_empty() {
            tiers.push(urls);
        }
    }
    if tiers.is_empty()
        && let Some(u) = root.get("announce").and_then(url)
    {
        tiers.push(vec![u]);
    }
    tiers
}

/// BEP 19 `url-list`: a single string or a list of strings. Entries that
/// are not usable web seed URLs are skipped (see [`webseed::accept_url`]),
/// as bad tracker entries are: the list is a hint, not the torrent.
fn web_seeds(root: &Value<'_>) -> Vec<String> {
    let Some(v) = root.get("url-list") else {
        return Vec::new();
    };
    let entries = v.as_list().unwrap_or(std::slice::from_ref(v));
    webseed::accept_list(
        entries
            .iter()
            .filter_map(Value::as_bytes)
            .filter_map(|b| std::str::from_utf8(b).ok()),
    )
}
