//! Crash-safe file writes, the one implementation for everything the
//! programs persist: p2pd's resume records, downloads list, watcher cache and
//! .torrent copies, and the .torrent files `p2pctl create` writes.
//!
//! Plain blocking `std::fs`: no runtime, no clock. Async callers run it on
//! their blocking pool. Never used by the protocol code of this crate.

use std::fs;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` through a hidden temp file in the same folder:
/// write, fsync, rename, then fsync the folder so the rename survives a power
/// cut. A crash leaves the old file or the new one, never a mix.
///
/// Missing parent folders are created. The temp file is `.NAME.tmp`, so a
/// crash leaves at most one per file and the next write reuses it; two
/// processes writing the same path at once are not supported.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} has no file name", path.display())))?;
    fs::create_dir_all(dir)?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the temp file is hidden and rewritten next time anyway.
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Not every platform can open or sync a folder; the data itself is safe.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/record.json");
        write_atomically(&p, b"first").unwrap();
        write_atomically(&p, b"second").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["record.json"]);
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file_and_a_nameless_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let taken = dir.path().join("taken");
        fs::create_dir(&taken).unwrap();
        fs::write(taken.join("x"), b"keep").unwrap();
        // Renaming a file over a non-empty folder fails.
        assert!(write_atomically(&taken, b"new").is_err());
        assert_eq!(fs::read(taken.join("x")).unwrap(), b"keep");
        assert!(!dir.path().join(".taken.tmp").exists());
        assert!(write_atomically(Path::new("/"), b"x").is_err());
    }
}
