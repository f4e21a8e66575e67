//! Finds the files of a torrent-to-be, in torrent order.

use std::fs;
use std::path::{Path, PathBuf};

use super::CreateError;

/// One file that goes into the torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Where it is on disk.
    pub disk_path: PathBuf,
    /// Its path inside the torrent (below the torrent's name for a folder;
    /// the name itself for a single file).
    pub components: Vec<Vec<u8>>,
    /// Its length when it was found.
    pub length: u64,
}

pub(super) struct Source {
    pub name: Vec<u8>,
    pub single_file: bool,
    pub files: Vec<SourceFile>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CreateError + '_ {
    move |source| CreateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(super) fn walk(root: &Path, include_hidden: bool) -> Result<Source, CreateError> {
    let meta = stat(root)?;
    let name = match root.file_name() {
        Some(n) => name_bytes(n),
        // "." or "/": name the torrent after the real folder.
        None => fs::canonicalize(root)
            .map_err(io(root))?
            .file_name()
            .map(name_bytes)
            .ok_or_else(|| CreateError::NoName(root.to_path_buf()))?,
    };
    if meta.is_file() {
        return Ok(Source {
            files: vec![SourceFile {
                disk_path: root.to_path_buf(),
                components: vec![name.clone()],
                length: meta.len(),
            }],
            name,
            single_file: true,
        });
    }
    let mut files = Vec::new();
    let mut ancestors = vec![identity(&meta)];
    visit(
        root,
        &mut Vec::new(),
        include_hidden,
        &mut ancestors,
        &mut files,
    )?;
    // mktorrent's order: byte order of the full path with '/' separators.
    files.sort_by_cached_key(|f: &SourceFile| f.components.join(&b'/'));
    Ok(Source {
        name,
        single_file: false,
        files,
    })
}

fn visit(
    dir: &Path,
    prefix: &mut Vec<Vec<u8>>,
    include_hidden: bool,
    ancestors: &mut Vec<Option<(u64, u64)>>,
    out: &mut Vec<SourceFile>,
) -> Result<(), CreateError> {
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = name_bytes(&entry.file_name());
        if !include_hidden && name.first() == Some(&b'.') {
            continue;
        }
        let path = entry.path();
        let meta = stat(&path)?;
        prefix.push(name);
        if meta.is_file() {
            out.push(SourceFile {
                disk_path: path,
                components: prefix.clone(),
                length: meta.len(),
            });
        } else {
            let id = identity(&meta);
            if id.is_some() && ancestors.contains(&id) {
                return Err(CreateError::SymlinkLoop(path));
            }
            ancestors.push(id);
            visit(&path, prefix, include_hidden, ancestors, out)?;
            ancestors.pop();
        }
        prefix.pop();
    }
    Ok(())
}

/// Metadata through symlinks; only files and folders are accepted.
fn stat(path: &Path) -> Result<fs::Metadata, CreateError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound && fs::symlink_metadata(path).is_ok() =>
        {
            return Err(CreateError::DanglingSymlink(path.to_path_buf()));
        }
        Err(e) => return Err(io(path)(e)),
    };
    if !meta.is_file() && !meta.is_dir() {
        return Err(CreateError::NotRegular(path.to_path_buf()));
    }
    Ok(meta)
}

#[cfg(unix)]
fn identity(meta: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_meta: &fs::Metadata) -> Option<(u64, u64)> {
    // No stable file ids through std here; a loop then ends at the OS limit
    // on path length with an I/O error.
    None
}

#[cfg(unix)]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    name.to_string_lossy().into_owned().into_bytes()
}
