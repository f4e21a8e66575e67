//! Things p2pgui starts outside itself: a p2pd when none answers, the file
//! manager on a torrent's folder, a desktop notification. Each is a child
//! process that is never waited on by the UI; a missing program is an
//! error to show, never a crash.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How to start a daemon: `p2pd --daemon` with the default home, found
/// next to p2pgui or on `PATH`.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The p2pd program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl Launcher {
    /// `p2pd --daemon` (with `--socket` when p2pgui was pointed at a socket
    /// of its own, so the new daemon listens where p2pgui looks).
    pub fn default_for(socket: Option<&Path>) -> Launcher {
        let beside = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("p2pd")))
            .filter(|p| p.is_file());
        let mut args: Vec<OsString> = vec!["--daemon".into()];
        if let Some(socket) = socket {
            args.push("--socket".into());
            args.push(socket.into());
        }
        Launcher {
            program: beside.unwrap_or_else(|| PathBuf::from("p2pd")),
            args,
        }
    }

    /// Starts it; `p2pd --daemon` returns once the daemon has forked.
    pub fn start(&self) -> Result<(), String> {
        let status = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} --daemon failed ({status}); run it in a terminal to see why",
                self.program.display()
            ))
        }
    }
}

/// Opens a folder in the desktop's file manager.
pub fn open_folder(path: &Path) -> Result<(), String> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    Command::new(opener)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("cannot open {} with {opener}: {e}", path.display()))
}

/// A desktop notification through `notify-send` (libnotify) where the
/// desktop has it; nothing at all where it does not. A D-Bus library would
/// bring an async runtime into p2pgui, which stays free of one.
pub fn notify(summary: &str, body: &str) {
    let child = Command::new("notify-send")
        .args(["--app-name=p2pgui", summary, body])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Ok(mut child) = child {
        // Reap it off the UI thread so no zombie is left behind.
        let _ = std::thread::Builder::new()
            .name("p2pgui-notify".into())
            .spawn(move || child.wait());
    }
}
