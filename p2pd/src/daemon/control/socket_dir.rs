//! The control socket's folder must be this user's alone: whoever owns it,
//! or may write in it, can put their own socket in its place and read what
//! p2pctl sends (passwords included). The folder is created owner-only when
//! absent and refused otherwise when it is not ours, is writable by others,
//! or sits in a folder another user could change. The rules are pure
//! functions of `stat` results, so other users' folders are tested too;
//! this module never changes a folder it did not create.

use std::path::{Path, PathBuf};

/// What `stat` says about a folder, as far as the rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    /// Owner's uid.
    pub uid: u32,
    /// Permission bits (with the sticky bit).
    pub mode: u32,
}

/// Group and others may write (create, rename, delete entries).
const WRITABLE_BY_OTHERS: u32 = 0o022;
/// Only an entry's owner may rename or delete it (as in /tmp).
const STICKY: u32 = 0o1000;

/// Why a socket folder is refused. Each message names the folder, its owner
/// and mode, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UnsafeFolder {
    /// Someone else owns it.
    #[error(
        "refusing the control socket folder {path}: it belongs to uid {owner} (mode {mode:04o}), not to this user (uid {me}), so its owner could replace the socket and read what p2pctl sends; remove it (as its owner or root) or use a folder of your own (set XDG_RUNTIME_DIR, or --socket or --home)"
    )]
    NotOurs {
        path: PathBuf,
        owner: u32,
        mode: u32,
        me: u32,
    },
    /// Group or others may write in it.
    #[error(
        "refusing the control socket folder {path}: it is writable by group or others (mode {mode:04o}, owner uid {owner}), who could replace the socket and read what p2pctl sends; run `chmod 700 {path}` or use another folder (XDG_RUNTIME_DIR, --socket or --home)"
    )]
    Writable {
        path: PathBuf,
        owner: u32,
        mode: u32,
    },
    /// A folder above it could be changed by another user.
    #[error(
        "refusing the control socket folder {path}: it is inside {ancestor} (owner uid {owner}, mode {mode:04o}), where another user could rename it and put their own in its place; use a folder under one that only you or root can change"
    )]
    UnsafeAncestor {
        path: PathBuf,
        ancestor: PathBuf,
        owner: u32,
        mode: u32,
    },
}

/// The socket's own folder: ours, and written by no one else (the sticky
/// bit does not help: anyone could add a socket under another name).
pub(crate) fn judge_folder(path: &Path, stat: Stat, me: u32) -> Result<(), UnsafeFolder> {
    if stat.uid != me {
        return Err(UnsafeFolder::NotOurs {
            path: path.to_path_buf(),
            owner: stat.uid,
            mode: stat.mode & 0o7777,
            me,
        });
    }
    if stat.mode & WRITABLE_BY_OTHERS != 0 {
        return Err(UnsafeFolder::Writable {
            path: path.to_path_buf(),
            owner: stat.uid,
            mode: stat.mode & 0o7777,
        });
    }
    Ok(())
}

/// A folder above the socket's: owned by us or root, and if others may
/// write in it, sticky (so they cannot rename our folder away, as in /tmp).
pub(crate) fn judge_ancestor(
    path: &Path,
    ancestor: &Path,
    stat: Stat,
    me: u32,
) -> Result<(), UnsafeFolder> {
    let trusted_owner = stat.uid == me || stat.uid == 0;
    let others_may_rename = stat.mode & WRITABLE_BY_OTHERS != 0 && stat.mode & STICKY == 0;
    if trusted_owner && !others_may_rename {
        return Ok(());
    }
    Err(UnsafeFolder::UnsafeAncestor {
        path: path.to_path_buf(),
        ancestor: ancestor.to_path_buf(),
        owner: stat.uid,
        mode: stat.mode & 0o7777,
    })
}

/// Creates the folder owner-only when absent (mkdir with mode 0700: there
/// is no moment when it is open to others) and checks it, a symlink to it,
/// and every folder above it.
#[cfg(target_os = "linux")]
pub(crate) fn prepare(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};

    use anyhow::Context;

    // A folder someone else made first is kept as it is: the checks decide.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let me = rustix::process::geteuid().as_raw();
    let stat = |p: &Path, follow: bool| {
        let m = if follow {
            std::fs::metadata(p)
        } else {
            std::fs::symlink_metadata(p)
        };
        m.map(|m| Stat {
            uid: m.uid(),
            mode: m.mode(),
        })
        .with_context(|| format!("cannot inspect {}", p.display()))
    };
    // A link in a shared folder can be re-pointed by its owner at will.
    let link = std::fs::symlink_metadata(dir)
        .with_context(|| format!("cannot inspect {}", dir.display()))?;
    if link.file_type().is_symlink() && link.uid() != me && link.uid() != 0 {
        return Err(UnsafeFolder::NotOurs {
            path: dir.to_path_buf(),
            owner: link.uid(),
            mode: link.mode() & 0o7777,
            me,
        }
        .into());
    }
    judge_folder(dir, stat(dir, true)?, me)?;
    let real = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    for ancestor in real.ancestors().skip(1) {
        judge_ancestor(dir, ancestor, stat(ancestor, false)?, me)?;
    }
    Ok(())
}

/// Elsewhere only the creation: the checks rely on Linux's `stat` and uids.
#[cfg(not(target_os = "linux"))]
pub(crate) fn prepare(dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: u32 = 1000;
    const MALLORY: u32 = 1001;

    fn folder(uid: u32, mode: u32) -> Result<(), UnsafeFolder> {
        judge_folder(Path::new("/tmp/p2pd-alice"), Stat { uid, mode }, ME)
    }

    fn ancestor(uid: u32, mode: u32) -> Result<(), UnsafeFolder> {
        judge_ancestor(
            Path::new("/x/p2pd"),
            Path::new("/x"),
            Stat { uid, mode },
            ME,
        )
    }

    #[test]
    fn our_owner_only_or_readable_folder_is_accepted() {
        for mode in [0o40700, 0o40750, 0o40755, 0o40500] {
            assert_eq!(folder(ME, mode), Ok(()), "{mode:o}");
        }
    }

    #[test]
    fn a_folder_another_user_created_first_is_refused_naming_its_owner_and_mode() {
        let e = folder(MALLORY, 0o40700).unwrap_err();
        assert!(matches!(e, UnsafeFolder::NotOurs { owner: MALLORY, .. }));
        let text = e.to_string();
        assert!(text.contains("/tmp/p2pd-alice"), "{text}");
        assert!(text.contains("uid 1001"), "{text}");
        assert!(text.contains("mode 0700"), "{text}");
        assert!(text.contains("XDG_RUNTIME_DIR"), "{text}");
    }

    #[test]
    fn a_folder_owned_by_root_is_not_ours_either() {
        assert!(matches!(
            folder(0, 0o40755),
            Err(UnsafeFolder::NotOurs { owner: 0, .. })
        ));
    }

    #[test]
    fn a_folder_of_ours_that_group_or_others_may_write_is_refused() {
        for mode in [0o40777, 0o41777, 0o40770, 0o40702, 0o40720] {
            let e = folder(ME, mode).unwrap_err();
            assert!(matches!(e, UnsafeFolder::Writable { .. }), "{mode:o}");
            assert!(e.to_string().contains("chmod 700 /tmp/p2pd-alice"), "{e}");
        }
        let text = folder(ME, 0o40777).unwrap_err().to_string();
        assert!(text.contains("mode 0777"), "{text}");
    }

    #[test]
    fn sticky_world_writable_ancestors_like_tmp_are_accepted() {
        assert_eq!(ancestor(0, 0o41777), Ok(()));
        assert_eq!(ancestor(0, 0o40755), Ok(()));
        assert_eq!(ancestor(ME, 0o40700), Ok(()));
    }

    #[test]
    fn an_ancestor_others_may_write_without_sticky_or_owned_by_another_user_is_refused() {
        for (uid, mode) in [
            (0, 0o40777),
            (ME, 0o40775),
            (MALLORY, 0o40755),
            (MALLORY, 0o41777),
        ] {
            let e = ancestor(uid, mode).unwrap_err();
            assert!(
                matches!(e, UnsafeFolder::UnsafeAncestor { .. }),
                "{uid} {mode:o}"
            );
            assert!(e.to_string().contains("inside /x"), "{e}");
        }
    }
}
