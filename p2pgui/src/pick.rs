//! The system's file dialog (`rfd`; on Linux the XDG desktop portal over
//! D-Bus, so no GTK is linked), run on a thread of its own: the window
//! keeps drawing while it is open, and the answer comes back as an
//! [`Update::Picked`]. Where no portal answers (a headless machine, a
//! desktop without xdg-desktop-portal) the dialog gives nothing, and the
//! typed path fields stay the way in.
//!
//! Never blocks the UI thread; never decides what a pick does (the window
//! does, in [`crate::App::picked`]).

use std::path::PathBuf;
use std::sync::mpsc::Sender;

use crate::worker::{Update, Waker};

/// What a dialog was opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A .torrent to add (Add tab).
    OpenTorrent,
    /// The folder to download into (Add tab).
    DownloadFolder,
    /// Files to share (Share tab).
    ShareFiles,
    /// A folder to share (Share tab).
    ShareFolder,
}

impl Purpose {
    /// The button that opens it (also its accessible label).
    pub fn button(self) -> &'static str {
        match self {
            Purpose::OpenTorrent => "Choose .torrent…",
            Purpose::DownloadFolder => "Choose folder…",
            Purpose::ShareFiles => "Pick files…",
            Purpose::ShareFolder => "Pick a folder…",
        }
    }
}

/// Opens the dialog on a thread of its own; what is picked (nothing when
/// it was cancelled or no dialog could open) arrives as [`Update::Picked`].
pub fn open(purpose: Purpose, updates: Sender<Update>, waker: impl Waker) {
    let answer = updates.clone();
    let spawned = std::thread::Builder::new()
        .name("p2pgui-dialog".into())
        .spawn(move || {
            let dialog = rfd::FileDialog::new();
            let paths: Vec<PathBuf> = match purpose {
                Purpose::OpenTorrent => dialog
                    .set_title("Open a .torrent file")
                    .add_filter("Torrent files", &["torrent"])
                    .pick_file()
                    .into_iter()
                    .collect(),
                Purpose::DownloadFolder => dialog
                    .set_title("Download into")
                    .pick_folder()
                    .into_iter()
                    .collect(),
                Purpose::ShareFiles => dialog
                    .set_title("Files to share")
                    .pick_files()
                    .unwrap_or_default(),
                Purpose::ShareFolder => dialog
                    .set_title("Folder to share")
                    .pick_folder()
                    .into_iter()
                    .collect(),
            };
            if answer.send(Update::Picked { purpose, paths }).is_ok() {
                waker.wake();
            }
        });
    if let Err(e) = spawned {
        let _ = updates.send(Update::Local(Err(format!(
            "cannot open the file dialog: {e}; type the path instead"
        ))));
    }
}
