//! The daemon's main loop, as the service manager sees it: watchdog pings
//! while it turns, SIGHUP re-reads the configuration and applies what can
//! change while running (the rate limits), naming the keys that wait for a
//! restart. Does not serve the socket or run torrents: those are tasks of
//! their own, and a main loop that hangs stops the pings.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::engine::Engine;
use crate::service_manager::Notifier;

/// Builds the settings again, as at start (file < environment < flags).
pub type Reload = Box<dyn Fn() -> anyhow::Result<Settings> + Send + Sync>;

/// Keys a reload applies to the running daemon.
pub const LIVE_KEYS: [&str; 2] = ["download_rate_limit", "upload_rate_limit"];

/// The signals the main loop answers, installed before readiness is
/// announced so that a reload sent right after it is never lost.
#[derive(Debug)]
pub struct Signals {
    hangup: Hangup,
    stall: test_hook::Stall,
}

/// SIGHUP, where there is one.
#[derive(Debug)]
struct Hangup {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers.
    pub fn install() -> anyhow::Result<Signals> {
        #[cfg(unix)]
        let hangup = {
            use anyhow::Context;
            use tokio::signal::unix::{SignalKind, signal};
            signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?
        };
        Ok(Signals {
            hangup: Hangup {
                #[cfg(unix)]
                signal: hangup,
            },
            stall: test_hook::Stall::install()?,
        })
    }
}

impl Hangup {
    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            if self.signal.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await;
    }
}

/// Runs until `cancel` fires.
pub async fn main_loop(
    engine: Engine,
    mut current: Settings,
    mut signals: Signals,
    notifier: Notifier,
    reload: Reload,
    cancel: CancellationToken,
) {
    let every = notifier.ping_interval();
    // Unused without a watchdog; an hour is only a placeholder period.
    let mut ticks = tokio::time::interval(every.unwrap_or(Duration::from_secs(3600)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticks.tick(), if every.is_some() => notifier.ping(),
            _ = signals.hangup.recv() => {
                notifier.reloading();
                let status = match reload() {
                    Ok(new) => apply(&engine, &mut current, &new),
                    Err(e) => {
                        tracing::error!("reload: {e:#}; nothing changed");
                        format!("reload failed, nothing changed: {e:#}")
                    }
                };
                notifier.ready(&status);
            }
            _ = signals.stall.requested() => test_hook::stall(&notifier),
        }
    }
}

/// Applies the live keys of `new`, logs the changed keys that wait for a
/// restart, and returns a status line saying both.
fn apply(engine: &Engine, current: &mut Settings, new: &Settings) -> String {
    let changed = changed_keys(current, new);
    let (live, later): (Vec<&str>, Vec<&str>) =
        changed.into_iter().partition(|k| LIVE_KEYS.contains(k));
    if !live.is_empty() {
        engine.set_rate_limits(new.download_rate_limit, new.upload_rate_limit);
        current.download_rate_limit = new.download_rate_limit;
        current.upload_rate_limit = new.upload_rate_limit;
    }
    let applied = if live.is_empty() {
        "nothing to apply".to_owned()
    } else {
        format!("applied {}", live.join(", "))
    };
    if later.is_empty() {
        tracing::info!("reload: {applied}");
        format!("reloaded: {applied}")
    } else {
        let later = later.join(", ");
        tracing::warn!("reload: {applied}; changed but applied only at the next restart: {later}");
        format!("reloaded: {applied}; waiting for a restart: {later}")
    }
}

/// The names (as in the configuration file) of the settings that differ.
pub fn changed_keys(old: &Settings, new: &Settings) -> Vec<&'static str> {
    // Destructured so that a new setting cannot be forgotten here.
    let Settings {
        shared_dir,
        torrents_dir,
        downloads_dir,
        state_dir,
        socket,
        listen_port,
        tracker,
        tracker_ca_file,
        max_peers_per_torrent,
        max_peers_total,
        upload_slots,
        download_rate_limit,
        upload_rate_limit,
        direct_writes,
        client_folders,
        only_client_folders,
        max_open_files,
        log_file,
        pid_file,
        system: _,
        socket_group_access,
    } = old;
    let mut out = Vec::new();
    let mut differs = |name: &'static str, same: bool| {
        if !same {
            out.push(name);
        }
    };
    differs("shared_dir", *shared_dir == new.shared_dir);
    differs("torrents_dir", *torrents_dir == new.torrents_dir);
    differs("downloads_dir", *downloads_dir == new.downloads_dir);
    differs("state_dir", *state_dir == new.state_dir);
    differs("socket", *socket == new.socket);
    differs("listen_port", *listen_port == new.listen_port);
    differs("tracker", *tracker == new.tracker);
    differs("tracker_ca_file", *tracker_ca_file == new.tracker_ca_file);
    differs(
        "max_peers_per_torrent",
        *max_peers_per_torrent == new.max_peers_per_torrent,
    );
    differs("max_peers_total", *max_peers_total == new.max_peers_total);
    differs("upload_slots", *upload_slots == new.upload_slots);
    differs(
        "download_rate_limit",
        *download_rate_limit == new.download_rate_limit,
    );
    differs(
        "upload_rate_limit",
        *upload_rate_limit == new.upload_rate_limit,
    );
    differs("direct_writes", *direct_writes == new.direct_writes);
    differs("client_folders", *client_folders == new.client_folders);
    differs(
        "only_client_folders",
        *only_client_folders == new.only_client_folders,
    );
    differs("max_open_files", *max_open_files == new.max_open_files);
    differs("log_file", *log_file == new.log_file);
    differs("pid_file", *pid_file == new.pid_file);
    differs(
        "socket_group_access",
        *socket_group_access == new.socket_group_access,
    );
    out
}

/// A way for the tests to hang the main loop, to see the watchdog pings
/// stop. Only in debug builds (the packages, built for release, hold no
/// trace of it) and only with `P2PD_TEST_HOOKS=1` set (elsewhere SIGUSR2
/// keeps its default action). A signal rather than a control request keeps
/// it out of the typed control protocol that p2pctl and p2pgui speak.
mod test_hook {
    use crate::service_manager::Notifier;

    /// SIGUSR2, when the hook is on.
    #[derive(Debug)]
    pub struct Stall {
        #[cfg(all(unix, debug_assertions))]
        signal: Option<tokio::signal::unix::Signal>,
    }

    impl Stall {
        pub fn install() -> anyhow::Result<Stall> {
            #[cfg(all(unix, debug_assertions))]
            {
                use anyhow::Context;
                use tokio::signal::unix::{SignalKind, signal};
                let on = std::env::var_os("P2PD_TEST_HOOKS").is_some_and(|v| v == "1");
                let signal = match on {
                    true => Some(
                        signal(SignalKind::user_defined2()).context("cannot listen for SIGUSR2")?,
                    ),
                    false => None,
                };
                Ok(Stall { signal })
            }
            #[cfg(not(all(unix, debug_assertions)))]
            Ok(Stall {})
        }

        pub async fn requested(&mut self) {
            #[cfg(all(unix, debug_assertions))]
            if let Some(s) = &mut self.signal
                && s.recv().await.is_some()
            {
                return;
            }
            std::future::pending::<()>().await;
        }
    }

    /// Hangs the calling thread for good, as a deadlocked loop would.
    pub fn stall(notifier: &Notifier) {
        tracing::warn!("test hook: the main loop stalls for good");
        notifier.status("main loop stalled (test hook)");
        loop {
            std::thread::park();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn settings(toml: &str) -> Settings {
        Config::from_toml(toml)
            .unwrap()
            .resolve(false, |k| (k == "HOME").then(|| "/h".to_owned()))
            .unwrap()
    }

    #[test]
    fn equal_settings_have_no_changed_keys() {
        assert!(changed_keys(&settings(""), &settings("")).is_empty());
    }

    #[test]
    fn each_changed_key_is_named_as_in_the_file() {
        let old = settings("");
        let new =
            settings("listen_port = 7001\nupload_rate_limit = 5\nclient_folders = [\"/srv\"]");
        assert_eq!(
            changed_keys(&old, &new),
            ["listen_port", "upload_rate_limit", "client_folders"]
        );
    }
}
