//! Whether a process still holds a file open for writing, asked of `/proc`
//! (Linux) just before a settled file is read: the second lock beside the
//! close-after-write events, which miss a writer that started before the
//! folder was watched, or whose events were lost. Sees the processes whose
//! descriptors this user may read (all of them as root); elsewhere, and for
//! processes it cannot see, it knows nothing and says no. Blocking.

use std::path::Path;

/// Descriptors looked at, at most, in one question (a bound on the cost).
#[cfg(target_os = "linux")]
const MAX_FDS: usize = 200_000;

/// True when a process we can see has `path` open for writing.
#[cfg(target_os = "linux")]
pub(super) fn open_for_writing(path: &Path) -> bool {
    let Ok(target) = std::fs::canonicalize(path) else {
        return false;
    };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    let mut seen = 0;
    for proc in procs.flatten() {
        let pid = proc.file_name();
        if !pid.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            seen += 1;
            if seen > MAX_FDS {
                return false;
            }
            if std::fs::read_link(fd.path()).is_ok_and(|p| p == target)
                && writable(&proc.path().join("fdinfo").join(fd.file_name()))
            {
                return true;
            }
        }
    }
    false
}

/// Whether the descriptor whose `fdinfo` file this is was opened for
/// writing (`flags:` in octal; the low two bits are the access mode).
#[cfg(target_os = "linux")]
fn writable(fdinfo: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(fdinfo) else {
        return false;
    };
    text.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|flags| matches!(flags & 3, 1 | 2))
}

#[cfg(not(target_os = "linux"))]
pub(super) fn open_for_writing(_path: &Path) -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_file_open_for_writing_is_seen_and_one_open_for_reading_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.torrent");
        let w = std::fs::File::create(&p).unwrap();
        assert!(open_for_writing(&p));
        drop(w);
        let r = std::fs::File::open(&p).unwrap();
        assert!(!open_for_writing(&p));
        drop(r);
        assert!(!open_for_writing(&dir.path().join("missing")));
    }
}
