//! Opens a torrent's files under its download folder without following a
//! symbolic link anywhere below that folder: each folder on the way is
//! opened relative to the one above it with `O_NOFOLLOW | O_DIRECTORY`,
//! and the file itself with `O_NOFOLLOW`. A link planted in a download
//! folder (or a shared file swapped for one) is refused with an error that
//! says so, instead of sending our writes or a peer's reads to the target.
//! Only regular files are opened (a FIFO would block the disk thread).
//!
//! The download folder itself may be a link: the user chose it. A folder
//! chosen by a client of another user (judged by its rights when it was
//! added) is pinned: opened only while it is still the very folder judged
//! (device and inode), so swapping it, or a folder above it, for a link or
//! another folder later is refused too.
//! Not here: which files a torrent has (storage), keeping handles open
//! (handles).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// A folder's identity on disk: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FolderId {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl FolderId {
    /// The identity of the folder at `path` (links followed: the folder
    /// the path names now).
    #[cfg(unix)]
    pub fn of(path: &Path) -> io::Result<FolderId> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)?;
        if !m.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a folder", path.display()),
            ));
        }
        Ok(FolderId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    /// Without inodes, nothing to pin.
    #[cfg(not(unix))]
    pub fn of(path: &Path) -> io::Result<FolderId> {
        let _ = path;
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// A torrent's download folder as its files are opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    path: PathBuf,
    /// The folder's identity when a client of another user chose it.
    pin: Option<FolderId>,
}

impl Root {
    /// The folder at `path`, pinned to `pin` when given.
    pub fn new(path: &Path, pin: Option<FolderId>) -> Root {
        Root {
            path: path.to_path_buf(),
            pin,
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// How a file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only; the file must exist.
    Read,
    /// Read and write; the folders and the file are created when missing.
    Write,
    /// Write with direct I/O (`O_DIRECT`); the file must exist.
    Direct,
}

/// A file of a torrent that is not ours to open: a link, or not a file.
#[derive(Debug, thiserror::Error)]
#[error("refusing {path}: {why}")]
pub struct Refused {
    path: std::path::PathBuf,
    why: &'static str,
}

/// Whether `e` is a [`Refused`] (as opposed to the file system failing).
pub fn is_refusal(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Refused>())
}

/// The error for a link found where a file or folder of ours should be.
fn link_refused(root: &Path, rel: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        Refused {
            path: root.join(rel),
            why: "it is (or lies under) a symbolic link, which p2pd never follows inside a download folder",
        },
    )
}

/// The error for a pinned folder that is no longer the folder judged.
fn moved(root: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        Refused {
            path: root.to_path_buf(),
            why: "it is no longer the folder it was added with (replaced or moved since), and a client's download folder is never followed elsewhere",
        },
    )
}

fn not_regular(root: &Path, rel: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        Refused {
            path: root.join(rel),
            why: "not a regular file",
        },
    )
}

#[cfg(target_os = "linux")]
mod imp {
    use std::fs::File;
    use std::io;
    use std::os::fd::OwnedFd;
    use std::path::{Component, Path};

    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    use rustix::io::Errno;

    use super::{Access, FolderId, Root, link_refused, moved, not_regular};

    /// Opens the download folder; a pinned one must still be the folder judged.
    fn open_root(root: &Root, create: bool) -> io::Result<OwnedFd> {
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        // A pinned folder existed when judged: never created again (that
        // would follow whatever link took its place).
        if create && root.pin.is_none() {
            std::fs::create_dir_all(&root.path)?;
        }
        let dir = rustix::fs::open(&root.path, dir_flags, Mode::empty())?;
        if let Some(pin) = root.pin {
            let st = rustix::fs::fstat(&dir)?;
            if (st.st_dev as u64, st.st_ino as u64) != (pin.dev, pin.ino) {
                return Err(moved(&root.path));
            }
        }
        Ok(dir)
    }

    /// Opens the folder `rel` is in, walking from `root` without following
    /// links; creates missing folders when `create`.
    fn open_parent(root: &Root, rel: &Path, create: bool) -> io::Result<OwnedFd> {
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut dir = open_root(root, create)?;
        let root = root.path.as_path();
        let Some(parent) = rel.parent() else {
            return Ok(dir);
        };
        for c in parent.components() {
            let Component::Normal(name) = c else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("unsafe path {}", rel.display()),
                ));
            };
            let flags = dir_flags | OFlags::NOFOLLOW;
            let next = match rustix::fs::openat(&dir, name, flags, Mode::empty()) {
                Err(Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    rustix::fs::openat(&dir, name, flags, Mode::empty())
                }
                other => other,
            };
            dir = next.map_err(|e| refusal(e, root, rel))?;
        }
        Ok(dir)
    }

    /// ELOOP from `O_NOFOLLOW` (and ENOTDIR from `O_DIRECTORY` on a link
    /// to a file) mean a link: said in words; other errors stay as they are.
    fn refusal(e: Errno, root: &Path, rel: &Path) -> io::Error {
        match e {
            Errno::LOOP | Errno::NOTDIR => link_refused(root, rel),
            e => e.into(),
        }
    }

    pub fn open(root: &Root, rel: &Path, access: Access) -> io::Result<File> {
        let dir = open_parent(root, rel, access == Access::Write)?;
        let root = root.path.as_path();
        let name = rel.file_name().ok_or_else(|| not_regular(root, rel))?;
        // O_NONBLOCK: opening a planted FIFO must not block; regular files ignore it.
        let base = OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let flags = match access {
            Access::Read => base | OFlags::RDONLY,
            Access::Write => base | OFlags::RDWR | OFlags::CREATE,
            Access::Direct => base | OFlags::WRONLY | OFlags::DIRECT,
        };
        let fd = rustix::fs::openat(&dir, name, flags, Mode::from_raw_mode(0o666)).map_err(
            |e| match e {
                Errno::LOOP => link_refused(root, rel),
                e => e.into(),
            },
        )?;
        if FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) != FileType::RegularFile {
            return Err(not_regular(root, rel));
        }
        Ok(File::from(fd))
    }

    /// Length and mtime (ns) of `rel`, `None` when it is missing; a link is an error.
    pub fn stat(root: &Root, rel: &Path) -> io::Result<Option<(u64, u128)>> {
        let dir = match open_parent(root, rel, false) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            other => other?,
        };
        let root = root.path.as_path();
        let name = rel.file_name().ok_or_else(|| not_regular(root, rel))?;
        let st = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => return Ok(None),
            other => other?,
        };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Symlink => return Err(link_refused(root, rel)),
            _ => return Err(not_regular(root, rel)),
        }
        let mtime = (st.st_mtime as i128 * 1_000_000_000 + st.st_mtime_nsec as i128).max(0);
        Ok(Some((st.st_size as u64, mtime as u128)))
    }

    pub fn remove(root: &Root, rel: &Path) -> io::Result<()> {
        let unlink = |rel: &Path, flags: AtFlags| -> io::Result<()> {
            let dir = open_parent(root, rel, false)?;
            let name = rel
                .file_name()
                .ok_or_else(|| not_regular(&root.path, rel))?;
            rustix::fs::unlinkat(&dir, name, flags).map_err(io::Error::from)
        };
        match unlink(rel, AtFlags::empty()) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        // Folders the file was in, deepest first, while they are empty.
        let mut folder = rel.parent();
        while let Some(f) = folder.filter(|f| !f.as_os_str().is_empty()) {
            if unlink(f, AtFlags::REMOVEDIR).is_err() {
                break;
            }
            folder = f.parent();
        }
        Ok(())
    }

    pub fn create_below(root: &Root, rest: &Path) -> io::Result<FolderId> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let mut dir = open_root(root, false)?;
        for c in rest.components() {
            let Component::Normal(name) = c else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("unsafe path {}", rest.display()),
                ));
            };
            let next = match rustix::fs::openat(&dir, name, flags, Mode::empty()) {
                Err(Errno::NOENT) => {
                    match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    rustix::fs::openat(&dir, name, flags, Mode::empty())
                }
                other => other,
            };
            dir = next.map_err(|e| refusal(e, &root.path, rest))?;
        }
        let st = rustix::fs::fstat(&dir)?;
        Ok(FolderId {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        })
    }
}

/// Elsewhere: plain opens, with a check for a link at the last component
/// (racy, but no worse than before).
#[cfg(not(target_os = "linux"))]
mod imp {
    use std::fs::{File, OpenOptions};
    use std::io;
    use std::path::Path;

    use super::{Access, FolderId, Root, link_refused, moved, not_regular};

    /// The folder's path, once it is known to be the folder pinned (racy).
    fn checked(root: &Root) -> io::Result<&Path> {
        if let Some(pin) = root.pin
            && FolderId::of(&root.path)? != pin
        {
            return Err(moved(&root.path));
        }
        Ok(&root.path)
    }

    pub fn open(root: &Root, rel: &Path, access: Access) -> io::Result<File> {
        let root = checked(root)?;
        let path = root.join(rel);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(link_refused(root, rel));
        }
        match access {
            Access::Read => File::open(&path),
            Access::Write => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
            }
            Access::Direct => Err(io::ErrorKind::Unsupported.into()),
        }
        .and_then(|f| {
            if f.metadata()?.is_file() {
                Ok(f)
            } else {
                Err(not_regular(root, rel))
            }
        })
    }

    pub fn stat(root: &Root, rel: &Path) -> io::Result<Option<(u64, u128)>> {
        let root = checked(root)?;
        let m = match std::fs::symlink_metadata(root.join(rel)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            other => other?,
        };
        if m.file_type().is_symlink() {
            return Err(link_refused(root, rel));
        }
        let mtime = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Ok(Some((m.len(), mtime)))
    }

    pub fn remove(root: &Root, rel: &Path) -> io::Result<()> {
        let root = checked(root)?;
        let path = root.join(rel);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut folder = path.parent();
        while let Some(f) = folder.filter(|f| *f != root && f.starts_with(root)) {
            if std::fs::remove_dir(f).is_err() {
                break;
            }
            folder = f.parent();
        }
        Ok(())
    }

    pub fn create_below(root: &Root, rest: &Path) -> io::Result<FolderId> {
        let path = checked(root)?.join(rest);
        std::fs::create_dir_all(&path)?;
        FolderId::of(&path)
    }
}

/// Opens `root/rel` (`rel` made of plain components) without following a
/// link below `root`.
pub fn open(root: &Root, rel: &Path, access: Access) -> io::Result<File> {
    imp::open(root, rel, access)
}

/// Length and modification time (ns since the epoch) of `root/rel`, or
/// `None` when it does not exist; an error for a link or a non-file.
pub fn stat(root: &Root, rel: &Path) -> io::Result<Option<(u64, u128)>> {
    imp::stat(root, rel)
}

/// Creates the folders `rest` below the pinned folder `root` without
/// following a link, and returns the identity of the last one (the pin of
/// a download folder that did not exist yet).
pub fn create_below(root: &Root, rest: &Path) -> io::Result<FolderId> {
    imp::create_below(root, rest)
}

/// Deletes `root/rel` (a link there is removed, never followed) and the
/// folders above it that are left empty, up to `root`. A missing file is
/// not an error.
pub fn remove(root: &Root, rel: &Path) -> io::Result<()> {
    imp::remove(root, rel)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn files_and_folders_are_created_and_links_below_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root_path = dir.path().join("dl");
        let root = &Root::new(&root_path, None);
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), b"keep me").unwrap();

        open(root, Path::new("a/b/c.bin"), Access::Write).unwrap();
        assert!(root_path.join("a/b/c.bin").is_file());
        assert_eq!(stat(root, Path::new("a/b/c.bin")).unwrap().unwrap().0, 0);
        assert_eq!(stat(root, Path::new("a/none.bin")).unwrap(), None);

        // A planted folder link and a planted file link.
        symlink(&outside, root_path.join("evil")).unwrap();
        symlink(outside.join("secret"), root_path.join("a/file.bin")).unwrap();
        for rel in ["evil/secret", "evil/new.bin", "a/file.bin"] {
            for access in [Access::Read, Access::Write] {
                let e = open(root, Path::new(rel), access).unwrap_err();
                assert!(e.to_string().contains("symbolic link"), "{rel}: {e}");
                assert!(is_refusal(&e));
            }
        }
        assert!(stat(root, Path::new("a/file.bin")).is_err());
        assert!(!outside.join("new.bin").exists());
        assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"keep me");

        // A link as the download folder itself is the user's choice.
        symlink(&root_path, dir.path().join("via-link")).unwrap();
        let via_link = Root::new(&dir.path().join("via-link"), None);
        open(&via_link, Path::new("a/b/c.bin"), Access::Read).unwrap();

        // Removing through a planted folder link removes nothing outside.
        let e = remove(root, Path::new("evil/secret")).unwrap_err();
        assert!(is_refusal(&e), "{e}");
        assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"keep me");
        remove(root, Path::new("a/file.bin")).unwrap();
        assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"keep me");
        remove(root, Path::new("a/b/c.bin")).unwrap();
        assert!(!root_path.join("a/b").exists(), "empty folders go too");
        assert!(root_path.is_dir(), "the download folder stays");
    }

    #[test]
    fn a_pinned_folder_swapped_for_a_link_or_another_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join("mine");
        let theirs = dir.path().join("theirs");
        std::fs::create_dir_all(&mine).unwrap();
        std::fs::create_dir_all(&theirs).unwrap();
        let root = Root::new(&mine, Some(FolderId::of(&mine).unwrap()));
        open(&root, Path::new("a.bin"), Access::Write).unwrap();

        // The client moves its folder away and puts a link in its place...
        std::fs::rename(&mine, dir.path().join("old")).unwrap();
        symlink(&theirs, &mine).unwrap();
        for access in [Access::Read, Access::Write] {
            let e = open(&root, Path::new("a.bin"), access).unwrap_err();
            assert!(e.to_string().contains("no longer the folder"), "{e}");
            assert!(is_refusal(&e));
        }
        assert!(is_refusal(&stat(&root, Path::new("a.bin")).unwrap_err()));
        assert!(is_refusal(&remove(&root, Path::new("a.bin")).unwrap_err()));
        // ...or another folder of the same name...
        std::fs::remove_file(&mine).unwrap();
        std::fs::create_dir(&mine).unwrap();
        let e = open(&root, Path::new("a.bin"), Access::Write).unwrap_err();
        assert!(is_refusal(&e), "{e}");
        // ...or nothing: a pinned folder is never created again.
        std::fs::remove_dir(&mine).unwrap();
        let e = open(&root, Path::new("a.bin"), Access::Write).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        assert!(!mine.exists());
        assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 0);
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let root = Root::new(dir.path(), None);
        let e = open(&root, Path::new("pipe"), Access::Read).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
