//! The `on_complete` program: run when a download completes, as an argument
//! list (never through a shell), with the torrent's name, data path and
//! info-hash in its environment. Its exit status and the first line of its
//! stderr are logged. It runs in a task of its own, never in the engine's;
//! at most [`MAX_RUNNING`] at once (more wait, up to [`MAX_WAITING`]), and
//! one still running after the timeout is killed with its process group.
//! At shutdown, running programs are killed the same way.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::Semaphore;
use tokio::sync::broadcast::Receiver;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::{EngineEvent, next_event};

/// Programs run at once.
const MAX_RUNNING: usize = 4;
/// Completions waiting for a free run before new ones are dropped (logged).
const MAX_WAITING: usize = 256;
/// Longest stderr line kept for the log.
const MAX_STDERR_LINE: usize = 512;
/// Time the first stderr line has to arrive once the program has ended.
const STDERR_GRACE: Duration = Duration::from_secs(1);

/// What a completed download's program is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Completed {
    /// The torrent's name (its file or folder name in the download folder).
    pub name: String,
    /// Where its data is.
    pub path: PathBuf,
    /// Its info-hash.
    pub info_hash: InfoHash,
}

impl Completed {
    /// The environment variables the program gets, on top of the daemon's.
    pub fn env(&self) -> [(&'static str, OsString); 3] {
        [
            ("P2P_TORRENT_NAME", OsString::from(&self.name)),
            ("P2P_TORRENT_PATH", self.path.clone().into_os_string()),
            ("P2P_INFO_HASH", OsString::from(self.info_hash.to_hex())),
        ]
    }
}

/// The program and its limits.
#[derive(Debug)]
pub(crate) struct OnComplete {
    argv: Vec<String>,
    timeout: Duration,
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
}

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// It exited (or died of a signal) by itself.
    Exited(ExitStatus),
    /// Killed after the timeout.
    TimedOut,
    /// Killed because the daemon stops.
    Stopped,
}

impl OnComplete {
    /// `argv` is the program then its arguments; `None` when it is empty.
    pub fn new(argv: &[String], timeout: Duration) -> Option<OnComplete> {
        (!argv.is_empty()).then(|| OnComplete {
            argv: argv.to_vec(),
            timeout,
            slots: Arc::new(Semaphore::new(MAX_RUNNING)),
            waiting: Arc::default(),
        })
    }

    /// Runs the program for `done` once a slot is free and logs how it
    /// ended. Returns `None` when it could not start.
    pub async fn run(&self, done: &Completed, cancel: &CancellationToken) -> Option<Ended> {
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            tracing::warn!(torrent = %done.name, "on_complete: {MAX_WAITING} completions wait already; not run for this one");
            return None;
        }
        let slot = tokio::select! {
            biased;
            _ = cancel.cancelled() => None,
            s = self.slots.clone().acquire_owned() => s.ok(),
        };
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        let _slot = slot?;
        let (ended, stderr) = match self.spawn_and_wait(done, cancel).await {
            Ok(run) => run,
            Err(e) => {
                tracing::warn!(torrent = %done.name, "on_complete: cannot run {}: {e}", self.argv[0]);
                return None;
            }
        };
        let stderr = stderr.map(|l| format!("; stderr: {l}")).unwrap_or_default();
        match &ended {
            Ended::Exited(s) if s.success() => {
                tracing::info!(torrent = %done.name, "on_complete: {} exited with {s}{stderr}", self.argv[0]);
            }
            Ended::Exited(s) => {
                tracing::warn!(torrent = %done.name, "on_complete: {} exited with {s}{stderr}", self.argv[0]);
            }
            Ended::TimedOut => {
                tracing::warn!(torrent = %done.name, "on_complete: {} killed after {:?}{stderr}", self.argv[0], self.timeout);
            }
            Ended::Stopped => {
                tracing::warn!(torrent = %done.name, "on_complete: {} killed: the daemon stops{stderr}", self.argv[0]);
            }
        }
        Some(ended)
    }

    async fn spawn_and_wait(
        &self,
        done: &Completed,
        cancel: &CancellationToken,
    ) -> std::io::Result<(Ended, Option<String>)> {
        let mut cmd = tokio::process::Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..])
            .envs(done.env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Its own group: a timeout kills what it started too.
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = cmd.spawn()?;
        let (line_tx, line_rx) = tokio::sync::oneshot::channel();
        let stderr = child.stderr.take();
        let reader = tokio::spawn(async move {
            let Some(stderr) = stderr else { return };
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            let _ = (&mut reader)
                .take(MAX_STDERR_LINE as u64)
                .read_until(b'\n', &mut line)
                .await;
            let line = String::from_utf8_lossy(&line).trim_end().to_owned();
            let _ = line_tx.send((!line.is_empty()).then_some(line));
            // The rest is drained, so a chatty program never blocks on a
            // full pipe.
            let _ = tokio::io::copy(&mut reader, &mut tokio::io::sink()).await;
        });
        let ended = tokio::select! {
            status = child.wait() => Ended::Exited(status?),
            _ = tokio::time::sleep(self.timeout) => Ended::TimedOut,
            _ = cancel.cancelled() => Ended::Stopped,
        };
        if !matches!(ended, Ended::Exited(_)) {
            kill_group(&mut child).await;
        }
        // Something it left running may hold the pipe open: the first line
        // is there by now, or is not coming.
        let line = tokio::time::timeout(STDERR_GRACE, line_rx)
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        reader.abort();
        Ok((ended, line))
    }
}

/// Kills a child and the process group it leads, and reaps it.
async fn kill_group(child: &mut tokio::process::Child) {
    #[cfg(target_os = "linux")]
    if let Some(pid) = child
        .id()
        .and_then(|p| rustix::process::Pid::from_raw(p as i32))
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill().await;
}

/// Runs the program for each completion the engine reports, until `cancel`.
/// `locate` gives a torrent's download folder.
pub(crate) async fn forward(
    mut rx: Receiver<EngineEvent>,
    hook: Arc<OnComplete>,
    locate: impl Fn(InfoHash) -> PathBuf + Send + 'static,
    tasks: TaskTracker,
    cancel: CancellationToken,
) {
    while let Some(event) = next_event(&mut rx, &cancel, "on_complete").await {
        let EngineEvent::Completed { info_hash, name } = event else {
            continue;
        };
        let done = Completed {
            path: locate(info_hash).join(&name),
            name,
            info_hash,
        };
        let (hook, cancel) = (hook.clone(), cancel.clone());
        tasks.spawn(async move { hook.run(&done, &cancel).await });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(name: &str) -> Completed {
        Completed {
            name: name.into(),
            path: PathBuf::from("/dl").join(name),
            info_hash: InfoHash([0xab; 20]),
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_program_gets_the_environment_and_its_arguments_byte_exact() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let name = "a; touch PWNED $(touch PWNED2) `x`";
        let script = "printf '%s|%s|%s|%s' \"$P2P_TORRENT_NAME\" \"$P2P_TORRENT_PATH\" \"$P2P_INFO_HASH\" \"$1\" > \"$0\"; echo 'all done' >&2; echo more >&2";
        let argv = [
            "/bin/sh".to_owned(),
            "-c".to_owned(),
            script.to_owned(),
            out.to_str().unwrap().to_owned(),
            "$(touch PWNED3)".to_owned(),
        ];
        let hook = OnComplete::new(&argv, Duration::from_secs(30)).unwrap();
        let ended = hook.run(&done(name), &CancellationToken::new()).await;
        assert!(matches!(ended, Some(Ended::Exited(s)) if s.success()));
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            format!("{name}|/dl/{name}|{}|$(touch PWNED3)", "ab".repeat(20))
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_program_that_exits_is_done_even_if_what_it_left_running_holds_stderr() {
        // The sleep outlives the timeout: waiting for the pipe would kill.
        let argv = ["/bin/sh", "-c", "echo bye >&2; sleep 3 & exit 3"].map(String::from);
        let hook = OnComplete::new(&argv, Duration::from_secs(1)).unwrap();
        let ended = hook.run(&done("x"), &CancellationToken::new()).await;
        assert!(matches!(ended, Some(Ended::Exited(s)) if s.code() == Some(3)));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_program_past_its_timeout_is_killed_with_what_it_started() {
        let argv = ["/bin/sh", "-c", "sleep 300 & sleep 300"].map(String::from);
        let hook = OnComplete::new(&argv, Duration::from_millis(200)).unwrap();
        let ended = hook.run(&done("x"), &CancellationToken::new()).await;
        assert_eq!(ended, Some(Ended::TimedOut));
        let cancel = CancellationToken::new();
        cancel.cancel();
        // Cancelled before a slot is taken: nothing runs.
        assert_eq!(hook.run(&done("y"), &cancel).await, None);
    }

    #[tokio::test]
    async fn a_missing_program_is_logged_not_run() {
        let argv = ["/nonexistent/p2p-hook".to_owned()];
        let hook = OnComplete::new(&argv, Duration::from_secs(1)).unwrap();
        assert_eq!(hook.run(&done("x"), &CancellationToken::new()).await, None);
        assert!(OnComplete::new(&[], Duration::from_secs(1)).is_none());
    }
}
