//! The daemon's main loop, as the service manager sees it: watchdog pings
//! while it turns, and SIGHUP, which re-reads the configuration. A reload
//! hands the run-time keys (those `p2pctl config set` takes) to the
//! run-time settings service, where the state file's values stay on top,
//! and names what it could not apply: keys held by `config set` and keys
//! that wait for a restart. Does not serve the socket or run torrents:
//! those are tasks of their own, and a main loop that hangs stops the pings.

use std::sync::Arc;
use std::time::Duration;

use p2p_proto::ipc::SettingKey;
use tokio_util::sync::CancellationToken;

use super::runtime::Runtime;
use crate::config::Settings;
use crate::service_manager::Notifier;

/// Builds the settings again, as at start (file < environment < flags).
pub type Reload = Box<dyn Fn() -> anyhow::Result<Settings> + Send + Sync>;

/// The signals the main loop answers, installed before readiness is
/// announced so that a reload sent right after it is never lost.
#[derive(Debug)]
pub(crate) struct Signals {
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

/// Runs until `cancel` fires. `current` is the configuration as read at
/// start (before the state file's run-time settings).
pub(crate) async fn main_loop(
    runtime: Arc<Runtime>,
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
                    Ok(new) => apply(&runtime, &mut current, new).await,
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

/// Hands `new` to the run-time settings, keeps its run-time keys as the
/// configuration in effect, and returns a status line naming the keys
/// applied, those `config set` holds, and those waiting for a restart (the
/// last two at every reload until they are resolved).
async fn apply(runtime: &Runtime, current: &mut Settings, new: Settings) -> String {
    let changed = changed_keys(current, &new);
    let held = runtime.reload(&new).await;
    let mut applied = Vec::new();
    let mut later = Vec::new();
    for key in changed {
        match SettingKey::parse(key) {
            Ok(_) if held.contains(&key) => {}
            Ok(_) => applied.push(key),
            Err(_) => later.push(key),
        }
    }
    follow_runtime_keys(current, &new);
    let mut parts = vec![if applied.is_empty() {
        "nothing to apply".to_owned()
    } else {
        format!("applied {}", applied.join(", "))
    }];
    if !held.is_empty() {
        parts.push(format!(
            "kept as set by p2pctl config set: {}",
            held.join(", ")
        ));
    }
    if !later.is_empty() {
        parts.push(format!("waiting for a restart: {}", later.join(", ")));
    }
    let status = format!("reloaded: {}", parts.join("; "));
    if held.is_empty() && later.is_empty() {
        tracing::info!("{status}");
    } else {
        tracing::warn!("{status}");
    }
    status
}

/// Takes the run-time keys of `new` into `current`; the other keys keep
/// the values the daemon started with, so a reload goes on naming them
/// while they differ.
fn follow_runtime_keys(current: &mut Settings, new: &Settings) {
    current.download_rate_limit = new.download_rate_limit;
    current.upload_rate_limit = new.upload_rate_limit;
    current.alt_download_rate_limit = new.alt_download_rate_limit;
    current.alt_upload_rate_limit = new.alt_upload_rate_limit;
    current.alt_speed_schedule = new.alt_speed_schedule;
    current.max_peers_per_torrent = new.max_peers_per_torrent;
    current.max_peers_total = new.max_peers_total;
    current.upload_slots = new.upload_slots;
    current.tracker.clone_from(&new.tracker);
    current.max_active_downloads = new.max_active_downloads;
    current.max_active_seeds = new.max_active_seeds;
    current.seed_ratio_limit = new.seed_ratio_limit;
    current.seed_time_limit = new.seed_time_limit;
}

/// The names (as in the configuration file) of the settings that differ.
fn changed_keys(old: &Settings, new: &Settings) -> Vec<&'static str> {
    // Destructured so that a new setting cannot be forgotten here.
    let Settings {
        shared_dir,
        torrents_dir,
        downloads_dir,
        state_dir,
        socket,
        listen_port,
        tracker,
        tracker_instances,
        list_tracker_instances,
        tracker_ca_file,
        max_peers_per_torrent,
        max_peers_total,
        upload_slots,
        download_rate_limit,
        upload_rate_limit,
        alt_download_rate_limit,
        alt_upload_rate_limit,
        alt_speed_schedule,
        direct_writes,
        encryption,
        utp,
        client_folders,
        only_client_folders,
        max_open_files,
        lsd,
        dht,
        log_file,
        pid_file,
        system: _,
        socket_group_access,
        watch_dir,
        on_complete,
        on_complete_timeout,
        max_active_downloads,
        max_active_seeds,
        stalled_download_secs,
        seed_ratio_limit,
        seed_time_limit,
        seed_goal_action,
        seed_goals_apply_to_shared,
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
    differs(
        "tracker_instances",
        *tracker_instances == new.tracker_instances,
    );
    differs(
        "list_tracker_instances",
        *list_tracker_instances == new.list_tracker_instances,
    );
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
    differs(
        "alt_download_rate_limit",
        *alt_download_rate_limit == new.alt_download_rate_limit,
    );
    differs(
        "alt_upload_rate_limit",
        *alt_upload_rate_limit == new.alt_upload_rate_limit,
    );
    differs(
        "alt_speed_schedule",
        *alt_speed_schedule == new.alt_speed_schedule,
    );
    differs("direct_writes", *direct_writes == new.direct_writes);
    differs("encryption", *encryption == new.encryption);
    differs("utp", *utp == new.utp);
    differs("client_folders", *client_folders == new.client_folders);
    differs(
        "only_client_folders",
        *only_client_folders == new.only_client_folders,
    );
    differs("max_open_files", *max_open_files == new.max_open_files);
    differs("lsd", *lsd == new.lsd);
    differs("dht", *dht == new.dht);
    differs("log_file", *log_file == new.log_file);
    differs("pid_file", *pid_file == new.pid_file);
    differs(
        "socket_group_access",
        *socket_group_access == new.socket_group_access,
    );
    differs("watch_dir", *watch_dir == new.watch_dir);
    differs("on_complete", *on_complete == new.on_complete);
    differs(
        "on_complete_timeout",
        *on_complete_timeout == new.on_complete_timeout,
    );
    differs(
        "max_active_downloads",
        *max_active_downloads == new.max_active_downloads,
    );
    differs(
        "max_active_seeds",
        *max_active_seeds == new.max_active_seeds,
    );
    differs(
        "stalled_download_secs",
        *stalled_download_secs == new.stalled_download_secs,
    );
    differs(
        "seed_ratio_limit",
        *seed_ratio_limit == new.seed_ratio_limit,
    );
    differs("seed_time_limit", *seed_time_limit == new.seed_time_limit);
    differs(
        "seed_goal_action",
        *seed_goal_action == new.seed_goal_action,
    );
    differs(
        "seed_goals_apply_to_shared",
        *seed_goals_apply_to_shared == new.seed_goals_apply_to_shared,
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

    #[test]
    fn every_run_time_key_of_the_file_is_followed_by_a_reload() {
        let old = settings("");
        let new = settings(
            "download_rate_limit = 1\nupload_rate_limit = 2\nalt_download_rate_limit = 3\n\
             alt_upload_rate_limit = 4\nalt_speed_schedule = \"22:00-07:00\"\n\
             max_peers_per_torrent = 5\nmax_peers_total = 6\nupload_slots = 7\n\
             tracker = \"http://t.example/announce\"\nmax_open_files = 9\n\
             max_active_downloads = 2\nmax_active_seeds = 3\nseed_ratio_limit = 1.5\n\
             seed_time_limit = \"2h\"",
        );
        let changed = changed_keys(&old, &new);
        // alt_speed is switched only at run time: the file has no such key.
        for key in SettingKey::ALL
            .into_iter()
            .filter(|&k| k != SettingKey::AltSpeed)
        {
            assert!(
                changed.contains(&key.name()),
                "{} in {changed:?}",
                key.name()
            );
        }
        let mut current = old;
        follow_runtime_keys(&mut current, &new);
        assert_eq!(changed_keys(&current, &new), ["max_open_files"]);
    }
}
