//! Who may connect to a private torrent (BEP 27; every group torrent is
//! private): only an IP address the tracker listed in the swarm's recent
//! announce answers, or one the user named. An unknown address makes the
//! manager announce again and waits for
//! that answer before it is judged, so a member who joined a moment ago is
//! let in, and a peer who only knows the info-hash gets nothing: no
//! handshake, no metadata, no piece. The manager spaces those announces
//! at least [`REFRESH_GAP`] apart, so strangers cannot flood the tracker.
//!
//! Addresses, not ports: incoming connections come from ephemeral ports.
//! Does not announce itself (the manager does) and does not touch sockets.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// An address listed by the tracker stays vouched for this long after the
/// last answer that listed it (answers are random subsets of large swarms).
const LISTED_FOR: Duration = Duration::from_secs(30 * 60);
/// Least time between two announces asked for by unknown addresses.
pub(crate) const REFRESH_GAP: Duration = Duration::from_secs(10);
/// Longest an unknown address waits for the tracker's answer.
const REFRESH_WAIT: Duration = Duration::from_secs(5);

/// The addresses allowed to connect to one torrent.
#[derive(Debug)]
pub(crate) struct Vouch {
    /// Private torrent: only vouched addresses are served.
    required: bool,
    /// A tracker is announced to, so an unknown address is worth an announce.
    can_refresh: bool,
    /// Addresses the user named (a magnet's `x.pe`, extra peers).
    named: HashSet<IpAddr>,
    state: Mutex<State>,
    /// Counts the tracker's answers (and failures), so a waiter sees the next one.
    answers: watch::Sender<u64>,
    /// Wakes the manager's announce loop for an early announce.
    refresh: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Address -> when an answer last listed it.
    listed: HashMap<IpAddr, Instant>,
    /// An early announce was asked for and has not been answered.
    pending: bool,
}

impl Vouch {
    pub fn new(private: bool, can_refresh: bool, named: &[SocketAddr]) -> Vouch {
        Vouch {
            required: private,
            can_refresh,
            named: named.iter().map(|a| a.ip()).collect(),
            state: Mutex::new(State::default()),
            answers: watch::channel(0).0,
            refresh: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tracker answered and listed these peers.
    pub fn listed(&self, addrs: impl IntoIterator<Item = SocketAddr>, now: Instant) {
        let mut st = self.lock();
        for a in addrs {
            st.listed.insert(a.ip(), now);
        }
        st.listed
            .retain(|_, at| now.saturating_duration_since(*at) <= LISTED_FOR);
        st.pending = false;
        drop(st);
        self.answers.send_modify(|n| *n += 1);
    }

    /// The tracker could not be reached: waiters stop waiting.
    pub fn unanswered(&self) {
        self.lock().pending = false;
        self.answers.send_modify(|n| *n += 1);
    }

    /// Resolves when someone asks for an early announce.
    pub async fn refresh_wanted(&self) {
        self.refresh.notified().await;
    }

    fn vouched(&self, ip: IpAddr, now: Instant) -> bool {
        !self.required
            || self.named.contains(&ip)
            || self
                .lock()
                .listed
                .get(&ip)
                .is_some_and(|at| now.saturating_duration_since(*at) <= LISTED_FOR)
    }

    /// Whether a peer connecting from `ip` may be served: at once when
    /// vouched for, else after the next announce (one for every unknown
    /// address asking meanwhile) has answered, if within [`REFRESH_WAIT`].
    pub async fn admit(&self, ip: IpAddr) -> bool {
        let mut answers = self.answers.subscribe();
        let now = Instant::now();
        if self.vouched(ip, now) {
            return true;
        }
        if !self.can_refresh {
            return false;
        }
        {
            let mut st = self.lock();
            if !st.pending {
                st.pending = true;
                self.refresh.notify_one();
            }
        }
        let _ = tokio::time::timeout(REFRESH_WAIT, answers.changed()).await;
        self.vouched(ip, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[tokio::test]
    async fn a_public_torrent_admits_anyone() {
        let v = Vouch::new(false, true, &[]);
        assert!(v.admit(addr("10.0.0.9:1").ip()).await);
    }

    #[tokio::test]
    async fn a_private_torrent_admits_listed_and_named_addresses_whatever_their_port() {
        let v = Vouch::new(true, false, &[addr("10.0.0.2:6881")]);
        v.listed([addr("10.0.0.1:6881")], Instant::now());
        assert!(v.admit(addr("10.0.0.1:40000").ip()).await);
        assert!(v.admit(addr("10.0.0.2:40001").ip()).await);
        assert!(!v.admit(addr("10.0.0.3:6881").ip()).await);
    }

    #[tokio::test]
    async fn an_unknown_address_waits_for_one_announce_then_is_judged_by_its_answer() {
        let v = std::sync::Arc::new(Vouch::new(true, true, &[]));
        let waiting = tokio::spawn({
            let v = v.clone();
            async move { v.admit(addr("10.0.0.5:1").ip()).await }
        });
        v.refresh_wanted().await;
        v.listed([addr("10.0.0.5:6881")], Instant::now());
        assert!(waiting.await.unwrap_or(false));

        // A stranger asks for another announce, and is not in its answer.
        let stranger = tokio::spawn({
            let v = v.clone();
            async move { v.admit(addr("10.0.0.6:1").ip()).await }
        });
        v.refresh_wanted().await;
        v.listed([addr("10.0.0.5:6881")], Instant::now());
        assert!(!stranger.await.unwrap_or(true));
        assert!(v.admit(addr("10.0.0.5:2").ip()).await);
    }

    #[tokio::test]
    async fn a_tracker_that_cannot_answer_lets_no_unknown_address_in() {
        let v = std::sync::Arc::new(Vouch::new(true, true, &[]));
        let waiting = tokio::spawn({
            let v = v.clone();
            async move { v.admit(addr("10.0.0.5:1").ip()).await }
        });
        v.refresh_wanted().await;
        v.unanswered();
        assert!(!waiting.await.unwrap_or(true));
    }
}
