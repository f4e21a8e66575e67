//! Disk space: what a download still needs against what its folder's file
//! system has free, and when a torrent paused by a full disk may go on.
//!
//! Not here: writing (storage) or the torrent's state (torrent, manager).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use p2p_proto::ipc::FilePriority;
use p2p_proto::metainfo::Metainfo;

/// A download that does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not enough free space in {dir} for {name}: it needs {} more, {} is free",
    human(*needed),
    human(*available)
)]
pub struct NoSpace {
    /// The torrent's name.
    pub name: String,
    /// The download folder.
    pub dir: PathBuf,
    /// Bytes its files still need on disk.
    pub needed: u64,
    /// Bytes free for us there.
    pub available: u64,
}

/// Bytes as people read them (MiB with one decimal, or bytes).
pub fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    } else {
        format!("{bytes} bytes")
    }
}

/// Bytes free for an unprivileged writer on the file system holding
/// `dir` (or its nearest existing parent); `None` when unknown.
pub fn available(dir: &Path) -> Option<u64> {
    let mut at = dir;
    loop {
        if at.exists() {
            return free_at(at);
        }
        at = at.parent()?;
    }
}

#[cfg(target_os = "linux")]
fn free_at(dir: &Path) -> Option<u64> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(not(target_os = "linux"))]
fn free_at(_dir: &Path) -> Option<u64> {
    None
}

/// Bytes the torrent's files still need under `dir`: their lengths, less
/// what their files already hold on disk (sparse files hold little).
/// Only the files `priorities` wants count (all when `None`): skipped
/// files are not created (their few bytes in shared pieces go to the part
/// file, beside the resume records).
pub fn still_needed(meta: &Metainfo, dir: &Path, priorities: Option<&[FilePriority]>) -> u64 {
    let wanted = |i: usize| priorities.is_none_or(|p| p.get(i).is_none_or(|p| p.wanted()));
    meta.info
        .files
        .iter()
        .enumerate()
        .filter(|&(i, f)| !f.pad && !f.symlink && wanted(i))
        .map(|(_, f)| {
            let path: PathBuf = std::iter::once(dir.as_os_str())
                .chain(f.path.iter().map(|c| std::ffi::OsStr::new(c.as_str())))
                .collect();
            f.length.saturating_sub(on_disk(&path))
        })
        .sum()
}

#[cfg(unix)]
fn on_disk(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).map_or(0, |m| m.blocks().saturating_mul(512))
}

#[cfg(not(unix))]
fn on_disk(path: &Path) -> u64 {
    std::fs::symlink_metadata(path).map_or(0, |m| m.len())
}

/// Refuses a download whose files cannot fit in its folder's free space
/// (blocking: a stat per file). Unknown free space lets it through.
pub fn check(meta: &Metainfo, dir: &Path) -> Result<(), NoSpace> {
    check_selected(meta, dir, None)
}

/// [`check`] for the files `priorities` wants (all when `None`).
pub fn check_selected(
    meta: &Metainfo,
    dir: &Path,
    priorities: Option<&[FilePriority]>,
) -> Result<(), NoSpace> {
    let needed = still_needed(meta, dir, priorities);
    match available(dir) {
        Some(available) if available < needed => Err(NoSpace {
            name: meta.info.name.clone(),
            dir: dir.to_path_buf(),
            needed,
            available,
        }),
        _ => Ok(()),
    }
}

/// A write failed for want of space (or quota): the torrent waits for space.
pub fn is_no_space(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// First and longest wait between two looks at the free space.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
pub const LONGEST_RETRY: Duration = Duration::from_secs(60);

/// Free bytes that let a paused download go on: what it still misses, or
/// room for a few pieces when that is more than the disk will ever have.
pub fn enough_to_resume(missing: u64, piece_length: u64) -> u64 {
    missing.min(piece_length.saturating_mul(8).max(4 << 20))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(3 << 20), "3.0 MiB");
        assert_eq!(human(1_000), "1000 bytes");
        let e = NoSpace {
            name: "film".into(),
            dir: "/dl".into(),
            needed: 8 << 20,
            available: 1 << 20,
        };
        assert_eq!(
            e.to_string(),
            "not enough free space in /dl for film: it needs 8.0 MiB more, 1.0 MiB is free"
        );
    }

    #[test]
    fn a_resume_needs_what_is_missing_or_room_for_a_few_pieces() {
        assert_eq!(enough_to_resume(1_000, 1 << 20), 1_000);
        assert_eq!(enough_to_resume(1 << 40, 1 << 20), 8 << 20);
        assert_eq!(enough_to_resume(1 << 40, 16384), 4 << 20);
    }

    #[test]
    fn skipped_files_need_no_space() {
        use p2p_proto::create::{Control, CreateOptions, create_torrent};
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("pack");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("a"), vec![1u8; 30_000]).unwrap();
        std::fs::write(src.join("b"), vec![2u8; 5_000]).unwrap();
        let meta = create_torrent(&src, &CreateOptions::default(), &Control::default())
            .unwrap()
            .metainfo;
        let empty = dir.path().join("dl");
        assert_eq!(still_needed(&meta, &empty, None), 35_000);
        let skip_a = [FilePriority::Skip, FilePriority::Low];
        assert_eq!(still_needed(&meta, &empty, Some(&skip_a)), 5_000);
    }
}
