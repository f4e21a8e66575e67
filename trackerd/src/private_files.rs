//! Files only trackerd's user may read: the database holds sealed passkeys and
//! session hashes, the event log who logged in from where. Folders trackerd
//! creates are 0700, these files 0600 (tightened if they exist looser).
//! Elsewhere than Unix, plain creation.

use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents, owner-only where it creates them.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Makes `file` owner-only, creating it empty when it is missing (so that
/// what is written into it later is never readable by others, not even for
/// a moment).
pub fn make_private(file: &Path) -> io::Result<()> {
    let mut open = std::fs::OpenOptions::new();
    open.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        open.mode(0o600);
        let f = open.open(file)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        open.open(file).map(|_| ())
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)] // a test may unwrap
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_folders_are_0700_and_files_0600_even_if_they_existed_looser() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!((mode(&tmp.path().join("a")), mode(&dir)), (0o700, 0o700));
        let file = dir.join("db");
        make_private(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&file, b"kept").unwrap();
        make_private(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"kept");
    }
}
