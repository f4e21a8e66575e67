//! The service manager's notify protocol (systemd's `sd_notify`): READY=1
//! with a status line, watchdog pings, STOPPING=1. Silent without
//! `NOTIFY_SOCKET` and on systems without it; says nothing about when.

use std::time::Duration;

/// Half the watchdog timeout the manager asks for (`WATCHDOG_USEC`), as
/// sd_watchdog_enabled(3) advises; `None` without a watchdog.
pub fn ping_interval() -> Option<Duration> {
    #[cfg(unix)]
    return sd_notify::watchdog_enabled().map(|t| (t / 2).max(Duration::from_millis(1)));
    #[cfg(not(unix))]
    None
}

/// READY=1 and a status line.
pub fn ready(status: &str) {
    #[cfg(unix)]
    send(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(status),
    ]);
    #[cfg(not(unix))]
    let _ = status;
}

/// WATCHDOG=1.
pub fn ping() {
    #[cfg(unix)]
    send(&[sd_notify::NotifyState::Watchdog]);
}

/// STOPPING=1.
pub fn stopping() {
    #[cfg(unix)]
    send(&[sd_notify::NotifyState::Stopping]);
}

#[cfg(unix)]
fn send(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot notify the service manager: {e}");
    }
}
