//! What the queue remembers of each running torrent between looks: when
//! payload last arrived (a download with none for a while is stalled) and
//! since when it seeds (for the seeding-time goal); and whether a seed goal
//! is reached. Time comes in as an argument.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::{Ratio, format_seed_time};

/// One look at a running torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// Payload bytes received since it started.
    pub downloaded: u64,
    /// It has every piece.
    pub seeding: bool,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    downloaded: u64,
    payload_at: Instant,
    seeding_since: Option<Instant>,
}

/// The torrents seen running, by info-hash.
#[derive(Debug, Default)]
pub struct Watch {
    seen: HashMap<InfoHash, Seen>,
}

impl Watch {
    /// Takes a look at a running torrent; returns whether it is stalled
    /// (downloading, nothing received for `stalled_after`) and how long it
    /// has seeded. A torrent first seen now has its whole grace ahead.
    pub fn look(
        &mut self,
        id: InfoHash,
        look: Look,
        now: Instant,
        stalled_after: Duration,
    ) -> (bool, Duration) {
        let s = self.seen.entry(id).or_insert(Seen {
            downloaded: look.downloaded,
            payload_at: now,
            seeding_since: None,
        });
        if look.downloaded != s.downloaded {
            s.downloaded = look.downloaded;
            s.payload_at = now;
        }
        if look.seeding {
            let since = *s.seeding_since.get_or_insert(now);
            return (false, now.saturating_duration_since(since));
        }
        s.seeding_since = None;
        (
            now.saturating_duration_since(s.payload_at) >= stalled_after,
            Duration::ZERO,
        )
    }

    /// Notes that a torrent completed now (its seeding time starts).
    pub fn completed(&mut self, id: InfoHash, now: Instant) {
        if let Some(s) = self.seen.get_mut(&id) {
            s.seeding_since.get_or_insert(now);
        }
    }

    /// Forgets the torrents not in `running`: a torrent started again
    /// starts its grace and its seeding time over.
    pub fn keep_only(&mut self, running: impl Fn(&InfoHash) -> bool) {
        self.seen.retain(|id, _| running(id));
    }
}

/// The seed goals in effect for one torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Goal {
    /// Share ratio.
    pub ratio: Option<Ratio>,
    /// Seeding time.
    pub time_secs: Option<u64>,
}

/// Which goal a seeding torrent reached, for people, if any.
pub fn reached(goal: Goal, uploaded: u64, size: u64, seeded: Duration) -> Option<String> {
    if let Some(r) = goal.ratio.filter(|r| r.reached(uploaded, size)) {
        return Some(format!("ratio {r} reached"));
    }
    goal.time_secs
        .filter(|&t| seeded.as_secs() >= t)
        .map(|t| format!("seeding time {} reached", format_seed_time(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn a_download_is_stalled_only_after_a_whole_period_without_payload() {
        let (mut w, t0, id) = (Watch::default(), Instant::now(), InfoHash([1; 20]));
        let down = |n| Look {
            downloaded: n,
            seeding: false,
        };
        assert!(!w.look(id, down(0), t0, 5 * MIN).0);
        assert!(!w.look(id, down(0), t0 + 4 * MIN, 5 * MIN).0);
        assert!(w.look(id, down(0), t0 + 5 * MIN, 5 * MIN).0);
        // Payload again: the period starts over.
        assert!(!w.look(id, down(10), t0 + 6 * MIN, 5 * MIN).0);
        assert!(w.look(id, down(10), t0 + 11 * MIN, 5 * MIN).0);
        // Stopped and started again: a new grace.
        w.keep_only(|_| false);
        assert!(!w.look(id, down(0), t0 + 30 * MIN, 5 * MIN).0);
    }

    #[test]
    fn seeding_time_counts_from_completion_and_a_seed_is_never_stalled() {
        let (mut w, t0, id) = (Watch::default(), Instant::now(), InfoHash([2; 20]));
        w.look(
            id,
            Look {
                downloaded: 0,
                seeding: false,
            },
            t0,
            MIN,
        );
        w.completed(id, t0 + MIN);
        let seed = Look {
            downloaded: 5,
            seeding: true,
        };
        assert_eq!(w.look(id, seed, t0 + 10 * MIN, MIN), (false, 9 * MIN));
    }

    #[test]
    fn the_first_goal_reached_is_named() {
        let goal = Goal {
            ratio: Ratio::from_hundredths(100),
            time_secs: Some(3600),
        };
        assert_eq!(reached(goal, 99, 100, MIN), None);
        assert_eq!(
            reached(goal, 100, 100, MIN).as_deref(),
            Some("ratio 1.00 reached")
        );
        assert_eq!(
            reached(goal, 0, 100, 60 * MIN).as_deref(),
            Some("seeding time 1h reached")
        );
        let none = Goal {
            ratio: None,
            time_secs: None,
        };
        assert_eq!(reached(none, 1 << 40, 1, 1000 * MIN), None);
    }
}
