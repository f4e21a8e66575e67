//! Opens a torrent's files under its download folder without following a
//! symbolic link anywhere below that folder: each folder on the way is
//! opened relative to the one above it with `O_NOFOLLOW | O_DIRECTORY`,
//! and the file itself with `O_NOFOLLOW`. A link planted in a download
//! folder (or a shared file swapped for one) is refused with an error that
//! says so, instead of sending our writes or a peer's reads to the target.
//! Only regular files are opened (a FIFO would block the disk thread).
//!
//! The download folder itself may be a link: the user chose it.
//! Not here: which files a torrent has (storage), keeping handles open
//! (handles).

use std::fs::File;
use std::io;
use std::path::Path;

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

    use super::{Access, link_refused, not_regular};

    /// Opens the folder `rel` is in, walking from `root` without following
    /// links; creates missing folders when `create`.
    fn open_parent(root: &Path, rel: &Path, create: bool) -> io::Result<OwnedFd> {
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if create {
            std::fs::create_dir_all(root)?;
        }
        let mut dir = rustix::fs::open(root, dir_flags, Mode::empty())?;
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

    pub fn open(root: &Path, rel: &Path, access: Access) -> io::Result<File> {
        let dir = open_parent(root, rel, access == Access::Write)?;
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
    pub fn stat(root: &Path, rel: &Path) -> io::Result<Option<(u64, u128)>> {
        let dir = match open_parent(root, rel, false) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            other => other?,
        };
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
}

/// Elsewhere: plain opens, with a check for a link at the last component
/// (racy, but no worse than before).
#[cfg(not(target_os = "linux"))]
mod imp {
    use std::fs::{File, OpenOptions};
    use std::io;
    use std::path::Path;

    use super::{Access, link_refused, not_regular};

    pub fn open(root: &Path, rel: &Path, access: Access) -> io::Result<File> {
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

    pub fn stat(root: &Path, rel: &Path) -> io::Result<Option<(u64, u128)>> {
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
}

/// Opens `root/rel` (`rel` made of plain components) without following a
/// link below `root`.
pub fn open(root: &Path, rel: &Path, access: Access) -> io::Result<File> {
    imp::open(root, rel, access)
}

/// Length and modification time (ns since the epoch) of `root/rel`, or
/// `None` when it does not exist; an error for a link or a non-file.
pub fn stat(root: &Path, rel: &Path) -> io::Result<Option<(u64, u128)>> {
    imp::stat(root, rel)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn files_and_folders_are_created_and_links_below_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("dl");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), b"keep me").unwrap();

        open(&root, Path::new("a/b/c.bin"), Access::Write).unwrap();
        assert!(root.join("a/b/c.bin").is_file());
        assert_eq!(stat(&root, Path::new("a/b/c.bin")).unwrap().unwrap().0, 0);
        assert_eq!(stat(&root, Path::new("a/none.bin")).unwrap(), None);

        // A planted folder link and a planted file link.
        symlink(&outside, root.join("evil")).unwrap();
        symlink(outside.join("secret"), root.join("a/file.bin")).unwrap();
        for rel in ["evil/secret", "evil/new.bin", "a/file.bin"] {
            for access in [Access::Read, Access::Write] {
                let e = open(&root, Path::new(rel), access).unwrap_err();
                assert!(e.to_string().contains("symbolic link"), "{rel}: {e}");
                assert!(is_refusal(&e));
            }
        }
        assert!(stat(&root, Path::new("a/file.bin")).is_err());
        assert!(!outside.join("new.bin").exists());
        assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"keep me");

        // A link as the download folder itself is the user's choice.
        symlink(&root, dir.path().join("via-link")).unwrap();
        open(
            &dir.path().join("via-link"),
            Path::new("a/b/c.bin"),
            Access::Read,
        )
        .unwrap();
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
        let e = open(dir.path(), Path::new("pipe"), Access::Read).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
