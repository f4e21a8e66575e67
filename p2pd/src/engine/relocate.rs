//! Moving a stopped torrent's files to another download folder (`p2pctl
//! move`): a rename where both folders share a file system, else a copy
//! that keeps the file's mtime (the resume record compares it, so the
//! torrent starts again without hashing), fsynced before any original
//! goes. All or nothing: on a failure the files already moved go back and
//! the first error is returned.
//!
//! Blocking. Not here: who may name the folder (the daemon's rights, which
//! also pin it), stopping the torrent, and the part file, which stays
//! beside the resume record (`.progress/`), a place a move does not touch.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use p2p_proto::metainfo::Metainfo;

use super::nofollow::FolderId;

/// One file moved so far, and how (to undo it).
enum Done {
    Renamed { from: PathBuf, to: PathBuf },
    Copied { from: PathBuf, to: PathBuf },
}

/// Moves the torrent's files that exist under `from` to the same place
/// under `to` (which must be the folder `pin` names, when given), then
/// removes the folders they leave empty. Returns how many files moved.
pub fn move_files(
    meta: &Metainfo,
    from: &Path,
    to: &Path,
    pin: Option<FolderId>,
) -> io::Result<usize> {
    fs::create_dir_all(to).map_err(|e| at(to, "cannot create", e))?;
    if let Some(pin) = pin
        && FolderId::of(to)? != pin
    {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} was replaced since it was judged", to.display()),
        ));
    }
    if same_folder(from, to) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the data is already in {}", to.display()),
        ));
    }
    let files = present_files(meta, from, to)?;
    let mut done = Vec::with_capacity(files.len());
    let mut made = Vec::new();
    for rel in &files {
        if let Err(e) = move_one(from, to, rel, &mut done, &mut made) {
            undo(done, made);
            return Err(e);
        }
    }
    // Every file is at its new place: only now do the copied originals go.
    for d in &done {
        if let Done::Copied { from, .. } = d {
            fs::remove_file(from).map_err(|e| at(from, "cannot remove", e))?;
        }
    }
    sync_folders(to, &files);
    remove_empty_folders(from, &files);
    Ok(done.len())
}

/// The relative paths of the torrent's files found under `from`; an error
/// when one is not a plain file or its new place is taken.
fn present_files(meta: &Metainfo, from: &Path, to: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for f in meta.info.files.iter().filter(|f| !f.pad && !f.symlink) {
        let rel: PathBuf = f.path.iter().collect();
        if rel.as_os_str().is_empty()
            || rel.components().any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unsafe path in torrent: {}", rel.display()),
            ));
        }
        let src = from.join(&rel);
        match fs::symlink_metadata(&src) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} is not a plain file", src.display()),
                ));
            }
            // A skipped file never created: nothing to move.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(at(&src, "cannot read", e)),
        }
        let dst = to.join(&rel);
        match fs::symlink_metadata(&dst) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} already exists", dst.display()),
                ));
            }
            Err(e) => return Err(at(&dst, "cannot use", e)),
        }
        found.push(rel);
    }
    Ok(found)
}

fn move_one(
    from: &Path,
    to: &Path,
    rel: &Path,
    done: &mut Vec<Done>,
    made: &mut Vec<PathBuf>,
) -> io::Result<()> {
    if let Some(parent) = rel.parent() {
        make_folders(to, parent, made)?;
    }
    let (src, dst) = (from.join(rel), to.join(rel));
    match fs::rename(&src, &dst) {
        Ok(()) => {
            done.push(Done::Renamed { from: src, to: dst });
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            let copied = copy_keeping_mtime(&src, &dst);
            if copied.is_err() {
                let _ = fs::remove_file(&dst);
            }
            copied.map_err(|e| at(&dst, "cannot copy to", e))?;
            done.push(Done::Copied { from: src, to: dst });
            Ok(())
        }
        Err(e) => Err(at(&src, "cannot move", e)),
    }
}

/// Copies `src` to `dst` (new) with `src`'s mtime, on disk before it returns.
fn copy_keeping_mtime(src: &Path, dst: &Path) -> io::Result<()> {
    let mtime = fs::metadata(src)?.modified()?;
    let mut input = fs::File::open(src)?;
    let mut output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dst)?;
    io::copy(&mut input, &mut output)?;
    output.set_modified(mtime)?;
    output.sync_all()
}

/// Creates the folders of `rel` below `root`, never through a link.
fn make_folders(root: &Path, rel: &Path, made: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut at_now = root.to_path_buf();
    for c in rel.components() {
        at_now.push(c);
        match fs::symlink_metadata(&at_now) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} is not a folder", at_now.display()),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&at_now).map_err(|e| at(&at_now, "cannot create", e))?;
                made.push(at_now.clone());
            }
            Err(e) => return Err(at(&at_now, "cannot use", e)),
        }
    }
    Ok(())
}

/// Puts back what moved, newest first, and removes the folders made. A
/// step that fails is logged: the rest still goes back.
fn undo(done: Vec<Done>, made: Vec<PathBuf>) {
    for d in done.into_iter().rev() {
        let (undone, path) = match d {
            Done::Renamed { from, to } => (fs::rename(&to, &from), to),
            // The original is still in place: only the copy goes.
            Done::Copied { to, .. } => (fs::remove_file(&to), to),
        };
        if let Err(e) = undone {
            tracing::error!("cannot put back {}: {e}", path.display());
        }
    }
    for folder in made.iter().rev() {
        let _ = fs::remove_dir(folder);
    }
}

/// Renames are on disk once their folders are synced; a failure here
/// loses nothing the resume record relies on, so it is only logged.
#[cfg(unix)]
fn sync_folders(root: &Path, files: &[PathBuf]) {
    let mut folders: Vec<PathBuf> = files
        .iter()
        .filter_map(|rel| rel.parent().map(|p| root.join(p)))
        .collect();
    folders.sort();
    folders.dedup();
    for f in folders {
        if let Err(e) = fs::File::open(&f).and_then(|d| d.sync_all()) {
            tracing::warn!("cannot sync {}: {e}", f.display());
        }
    }
}

#[cfg(not(unix))]
fn sync_folders(_root: &Path, _files: &[PathBuf]) {}

/// Removes the folders below `root` that held the files and are empty now.
fn remove_empty_folders(root: &Path, files: &[PathBuf]) {
    let mut folders: Vec<PathBuf> = files
        .iter()
        .flat_map(|rel| rel.ancestors().skip(1).map(|a| a.to_path_buf()))
        .filter(|a| !a.as_os_str().is_empty())
        .collect();
    // Deepest first, so a parent is tried after its children.
    folders.sort_by_key(|f| std::cmp::Reverse(f.components().count()));
    folders.dedup();
    for f in folders {
        // Not empty (files of others, or the user's): it stays.
        let _ = fs::remove_dir(root.join(f));
    }
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn at(path: &Path, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use p2p_proto::create::{Control, CreateOptions, create_torrent};

    use super::*;

    /// `album/a/1.bin` then `album/b/2.bin`, under `dir`.
    fn two_file_torrent(dir: &Path) -> Metainfo {
        let src = dir.join("album");
        for (sub, byte, len) in [("a/1.bin", 1u8, 3000), ("b/2.bin", 2, 5000)] {
            let path = src.join(sub);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, vec![byte; len]).unwrap();
        }
        create_torrent(&src, &CreateOptions::default(), &Control::default())
            .unwrap()
            .metainfo
    }

    fn all_there(meta: &Metainfo, dir: &Path) -> bool {
        meta.info
            .files
            .iter()
            .all(|f| dir.join(f.path.iter().collect::<PathBuf>()).is_file())
    }

    #[test]
    fn files_move_with_their_mtime_and_the_old_folders_go() {
        let tmp = tempfile::tempdir().unwrap();
        let (from, to) = (tmp.path().join("old"), tmp.path().join("new"));
        let meta = two_file_torrent(&from);
        let mtime = fs::metadata(from.join("album/b/2.bin"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(move_files(&meta, &from, &to, None).unwrap(), 2);
        assert_eq!(fs::read(to.join("album/a/1.bin")).unwrap(), vec![1u8; 3000]);
        let moved = fs::metadata(to.join("album/b/2.bin")).unwrap();
        assert_eq!(moved.modified().unwrap(), mtime);
        assert!(!from.join("album").exists());
        assert!(from.exists());
    }

    #[test]
    fn a_copy_keeps_the_mtime() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("a");
        fs::write(&src, b"bytes").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::new(1_000_000, 123);
        fs::File::options()
            .write(true)
            .open(&src)
            .unwrap()
            .set_modified(old)
            .unwrap();
        copy_keeping_mtime(&src, &tmp.path().join("b")).unwrap();
        let b = fs::metadata(tmp.path().join("b")).unwrap();
        assert_eq!(b.modified().unwrap(), old);
        assert_eq!(fs::read(tmp.path().join("b")).unwrap(), b"bytes");
    }

    #[test]
    fn a_taken_place_moves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let (from, to) = (tmp.path().join("old"), tmp.path().join("new"));
        let meta = two_file_torrent(&from);
        fs::create_dir_all(to.join("album/b")).unwrap();
        fs::write(to.join("album/b/2.bin"), b"theirs").unwrap();
        let e = move_files(&meta, &from, &to, None).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert!(all_there(&meta, &from));
        assert_eq!(fs::read(to.join("album/b/2.bin")).unwrap(), b"theirs");
        assert!(!to.join("album/a").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_failure_half_way_puts_back_what_moved() {
        let tmp = tempfile::tempdir().unwrap();
        let (from, to) = (tmp.path().join("old"), tmp.path().join("new"));
        let meta = two_file_torrent(&from);
        // The second file's folder is a link: its move fails after the first.
        fs::create_dir_all(to.join("album")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("nowhere"), to.join("album/b")).unwrap();
        let e = move_files(&meta, &from, &to, None).unwrap_err();
        assert!(e.to_string().contains("is not a folder"), "{e}");
        assert!(all_there(&meta, &from));
        assert!(!to.join("album/a").exists());
        assert!(!tmp.path().join("nowhere").exists());
    }

    #[test]
    fn moving_into_the_same_folder_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let meta = two_file_torrent(tmp.path());
        let e = move_files(&meta, tmp.path(), &tmp.path().join("."), None).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(all_there(&meta, tmp.path()));
    }

    /// Across file systems (when /dev/shm is another one here) the files
    /// are copied with their mtime and the originals go.
    #[cfg(target_os = "linux")]
    #[test]
    fn across_file_systems_files_are_copied_with_their_mtime() {
        use std::os::unix::fs::MetadataExt;
        let tmp = tempfile::tempdir().unwrap();
        let Ok(other) = tempfile::tempdir_in("/dev/shm") else {
            return;
        };
        let dev = |p: &Path| fs::metadata(p).unwrap().dev();
        if dev(tmp.path()) == dev(other.path()) {
            return;
        }
        let (from, to) = (tmp.path().join("old"), other.path().join("new"));
        let meta = two_file_torrent(&from);
        let mtime = fs::metadata(from.join("album/a/1.bin"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(move_files(&meta, &from, &to, None).unwrap(), 2);
        assert!(all_there(&meta, &to));
        assert!(!from.join("album").exists());
        let moved = fs::metadata(to.join("album/a/1.bin")).unwrap();
        assert_eq!(moved.modified().unwrap(), mtime);
        assert_eq!(fs::read(to.join("album/b/2.bin")).unwrap(), vec![2u8; 5000]);
    }
}
