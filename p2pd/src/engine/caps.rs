//! The engine's connection caps and upload slots, which change while it runs
//! (run-time settings): peers per torrent, peers in all, and peers unchoked
//! per torrent. Every connection holds a permit of the total cap.
//!
//! A lowered cap closes nothing: connections above it drain as peers leave,
//! and no new one is made until the count is under the cap again. Lowered
//! upload slots take effect at the next choking round.
//!
//! Not here: who may connect (admission, vouch), what a connection does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The live limits, shared by the engine and its torrents.
#[derive(Debug)]
pub(crate) struct Caps {
    per_torrent: AtomicUsize,
    upload_slots: AtomicUsize,
    permits: std::sync::Arc<Semaphore>,
    total: Mutex<Total>,
}

/// The total cap and the permits still to take back after lowering it
/// while more connections than the new cap were open.
#[derive(Debug)]
struct Total {
    cap: usize,
    debt: usize,
}

impl Caps {
    /// Caps of `per_torrent` and `total` connections, `upload_slots` unchoked.
    pub fn new(per_torrent: usize, total: usize, upload_slots: usize) -> Caps {
        let total = total.min(Semaphore::MAX_PERMITS);
        Caps {
            per_torrent: AtomicUsize::new(per_torrent),
            upload_slots: AtomicUsize::new(upload_slots),
            permits: std::sync::Arc::new(Semaphore::new(total)),
            total: Mutex::new(Total {
                cap: total,
                debt: 0,
            }),
        }
    }

    /// Most peers per torrent now.
    pub fn per_torrent(&self) -> usize {
        self.per_torrent.load(Ordering::Relaxed)
    }

    /// Peers unchoked by rate per torrent now.
    pub fn upload_slots(&self) -> usize {
        self.upload_slots.load(Ordering::Relaxed)
    }

    /// Most peers in all now.
    pub fn total(&self) -> usize {
        self.lock().cap
    }

    /// A permit for one more connection, if the total cap allows it.
    pub fn try_connection(&self) -> Option<OwnedSemaphorePermit> {
        self.pay_debt(&mut self.lock());
        self.permits.clone().try_acquire_owned().ok()
    }

    /// Sets every cap; see the module doc for connections above a lowered one.
    pub fn set(&self, per_torrent: usize, total: usize, upload_slots: usize) {
        self.per_torrent.store(per_torrent, Ordering::Relaxed);
        self.upload_slots.store(upload_slots, Ordering::Relaxed);
        let total = total.min(Semaphore::MAX_PERMITS);
        let mut t = self.lock();
        if total < t.cap {
            t.debt += t.cap - total;
        } else {
            let raise = total - t.cap;
            let forgiven = raise.min(t.debt);
            t.debt -= forgiven;
            self.permits.add_permits(raise - forgiven);
        }
        t.cap = total;
        self.pay_debt(&mut t);
    }

    /// Takes back the permits a lowered cap owes, as far as they are free.
    fn pay_debt(&self, t: &mut Total) {
        if t.debt > 0 {
            t.debt -= self.permits.forget_permits(t.debt);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Total> {
        self.total.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(caps: &Caps, n: usize) -> Vec<OwnedSemaphorePermit> {
        (0..n).map_while(|_| caps.try_connection()).collect()
    }

    #[test]
    fn a_lowered_total_lets_open_connections_drain_before_new_ones() {
        let caps = Caps::new(50, 10, 4);
        let mut open = take(&caps, 10);
        assert_eq!(open.len(), 10);
        caps.set(50, 4, 4);
        assert!(caps.try_connection().is_none());
        // Seven leave: three are open, one more fits under the cap of four.
        open.truncate(3);
        let more = take(&caps, 5);
        assert_eq!(more.len(), 1);
        drop((open, more));
        assert_eq!(take(&caps, 10).len(), 4);
    }

    #[test]
    fn a_raised_total_first_cancels_what_a_lowering_still_owed() {
        let caps = Caps::new(50, 10, 4);
        let open = take(&caps, 10);
        caps.set(50, 2, 4);
        caps.set(50, 6, 4);
        assert!(caps.try_connection().is_none());
        drop(open);
        assert_eq!(take(&caps, 20).len(), 6);
        caps.set(80, 8, 2);
        assert_eq!(
            (caps.per_torrent(), caps.total(), caps.upload_slots()),
            (80, 8, 2)
        );
    }
}
