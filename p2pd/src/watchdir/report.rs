//! What became of the watch folder's files since the daemon started, for
//! `p2pctl status`: counts, and the last few invalid files with the reason.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use p2p_proto::ipc::{InvalidWatchFile, WatchFolderInfo};

/// Invalid files remembered for `status`.
const RECENT_INVALID: usize = 8;
/// Longest reason kept (a parser's error is one line, but bounded anyway).
const MAX_REASON_CHARS: usize = 300;

/// The watch folder's report, shared by its loop and the status view.
#[derive(Debug)]
pub struct Report(Mutex<WatchFolderInfo>);

impl Report {
    /// An empty report for the folder `dir`.
    pub fn new(dir: &Path) -> Report {
        Report(Mutex::new(WatchFolderInfo {
            dir: dir.display().to_string(),
            ..WatchFolderInfo::default()
        }))
    }

    /// The report as `status` shows it.
    pub fn view(&self) -> WatchFolderInfo {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WatchFolderInfo> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn started(&self) {
        self.lock().started += 1;
    }

    pub(super) fn already_there(&self) {
        self.lock().already_there += 1;
    }

    pub(super) fn invalid(&self, file: &str, reason: &str) {
        let mut r = self.lock();
        r.invalid += 1;
        if r.recent_invalid.len() == RECENT_INVALID {
            r.recent_invalid.remove(0);
        }
        r.recent_invalid.push(InvalidWatchFile {
            file: file.to_owned(),
            reason: reason.chars().take(MAX_REASON_CHARS).collect(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_keeps_counts_and_the_last_few_invalid_files() {
        let r = Report::new(Path::new("/w"));
        r.started();
        r.already_there();
        for i in 0..RECENT_INVALID + 2 {
            r.invalid(&format!("{i}.torrent"), "bad");
        }
        let v = r.view();
        assert_eq!((v.started, v.already_there, v.invalid), (1, 1, 10));
        assert_eq!(v.recent_invalid.len(), RECENT_INVALID);
        assert_eq!(v.recent_invalid[0].file, "2.torrent");
        assert_eq!(v.dir, "/w");
    }
}
