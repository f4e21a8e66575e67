//! The service manager's notify protocol (systemd's `sd_notify`): readiness,
//! a status line, watchdog pings, reload and stop. Silent when
//! `NOTIFY_SOCKET` is unset, and on systems without it. Decides nothing:
//! the daemon's main loop says when to ping.

use std::time::Duration;

/// Tells the service manager how the daemon is doing.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`'s companions from the environment: the
    /// watchdog timeout (`WATCHDOG_USEC`, for this process per `WATCHDOG_PID`).
    pub fn from_env() -> Notifier {
        Notifier {
            watchdog: watchdog_timeout(),
        }
    }

    /// How often to ping: half the manager's timeout, as sd_watchdog_enabled(3)
    /// advises. `None` when no watchdog is asked for.
    pub fn ping_interval(&self) -> Option<Duration> {
        self.watchdog.map(|t| (t / 2).max(Duration::from_millis(1)))
    }

    /// READY=1 with a status line; also ends a reload.
    pub fn ready(&self, status: &str) {
        send(&[State::Ready, State::Status(status)]);
    }

    /// A new status line.
    pub fn status(&self, status: &str) {
        send(&[State::Status(status)]);
    }

    /// WATCHDOG=1: the main loop is turning.
    pub fn ping(&self) {
        send(&[State::Watchdog]);
    }

    /// RELOADING=1: the configuration is being read again; [`Notifier::ready`] ends it.
    pub fn reloading(&self) {
        send(&[State::Reloading]);
    }

    /// STOPPING=1.
    pub fn stopping(&self) {
        send(&[State::Stopping]);
    }
}

enum State<'a> {
    Ready,
    Reloading,
    Stopping,
    Watchdog,
    Status(&'a str),
}

#[cfg(unix)]
fn send(states: &[State<'_>]) {
    use sd_notify::NotifyState;
    let mut out: Vec<NotifyState<'_>> = Vec::with_capacity(states.len() + 1);
    for s in states {
        match s {
            State::Ready => out.push(NotifyState::Ready),
            State::Reloading => {
                out.push(NotifyState::Reloading);
                // systemd 253's Type=notify-reload wants the time with it.
                if let Ok(now) = NotifyState::monotonic_usec_now() {
                    out.push(now);
                }
            }
            State::Stopping => out.push(NotifyState::Stopping),
            State::Watchdog => out.push(NotifyState::Watchdog),
            State::Status(s) => out.push(NotifyState::Status(s)),
        }
    }
    if let Err(e) = sd_notify::notify(&out) {
        tracing::warn!("cannot notify the service manager: {e}");
    }
}

/// No notify socket here: the status line goes to the log (a Windows
/// service reports running and stopped through its service main instead).
#[cfg(not(unix))]
fn send(states: &[State<'_>]) {
    for s in states {
        if let State::Status(status) = s {
            tracing::debug!("status: {status}");
        }
    }
}

#[cfg(unix)]
fn watchdog_timeout() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}

#[cfg(not(unix))]
fn watchdog_timeout() -> Option<Duration> {
    None
}
