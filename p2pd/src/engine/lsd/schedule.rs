//! When to announce which torrents on the LAN (BEP 14): each torrent every
//! five minutes while we have it, a new one at the next round, and at most
//! one round a minute, in which up to [`MAX_PER_ROUND`] info-hashes share
//! as few datagrams as they fit. Plain Rust with `now` passed in, so the
//! rules are tested without waiting; sends nothing itself.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use tokio::time::Instant;

/// How often each torrent is announced while we have it.
pub(crate) const REANNOUNCE: Duration = Duration::from_secs(5 * 60);
/// Least time between two rounds: BEP 14 asks for no more than one
/// announce a minute, against multicast storms on large networks.
pub(crate) const ROUND_GAP: Duration = Duration::from_secs(60);
/// Most info-hashes in one round (five datagrams per IP family); past
/// that, torrents take turns, the longest unannounced first.
pub(crate) const MAX_PER_ROUND: usize = 5 * p2p_proto::lsd::MAX_INFO_HASHES;

/// What was announced when.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    last_round: Option<Instant>,
    sent: HashMap<InfoHash, Instant>,
}

impl Schedule {
    /// The info-hashes to announce now out of `have` (our public
    /// torrents), recorded as sent; empty when no round is allowed or due.
    pub fn due(&mut self, now: Instant, have: &[InfoHash]) -> Vec<InfoHash> {
        // Forgotten torrents drop out; one added again waits for a round
        // like a new one, and rounds are a minute apart.
        let present: HashSet<&InfoHash> = have.iter().collect();
        self.sent.retain(|ih, _| present.contains(ih));
        if self
            .last_round
            .is_some_and(|at| now.saturating_duration_since(at) < ROUND_GAP)
        {
            return Vec::new();
        }
        let age = |ih: &InfoHash| {
            self.sent
                .get(ih)
                .map(|at| now.saturating_duration_since(*at))
        };
        if !have
            .iter()
            .any(|ih| age(ih).is_none_or(|a| a >= REANNOUNCE))
        {
            return Vec::new();
        }
        // A round that goes out anyway takes along what would fall due
        // before the next one may: fewer, fuller datagrams.
        let mut due: Vec<(Option<Duration>, InfoHash)> = have
            .iter()
            .filter_map(|ih| {
                let a = age(ih);
                a.is_none_or(|a| a + ROUND_GAP > REANNOUNCE)
                    .then_some((a, *ih))
            })
            .collect();
        // Never announced first (None sorts first, so reverse the ages), then the oldest.
        due.sort_by(|x, y| match (x.0, y.0) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(a), Some(b)) => b.cmp(&a),
        });
        due.truncate(MAX_PER_ROUND);
        let due: Vec<InfoHash> = due.into_iter().map(|(_, ih)| ih).collect();
        for ih in &due {
            self.sent.insert(*ih, now);
        }
        self.last_round = Some(now);
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ih(b: u8) -> InfoHash {
        InfoHash([b; 20])
    }

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn a_torrent_is_announced_at_once_then_every_five_minutes() {
        let mut s = Schedule::default();
        let t0 = Instant::now();
        assert_eq!(s.due(t0, &[ih(1)]), [ih(1)]);
        assert!(s.due(t0 + 2 * ROUND_GAP, &[ih(1)]).is_empty());
        assert!(s.due(t0 + REANNOUNCE - SEC, &[ih(1)]).is_empty());
        assert_eq!(s.due(t0 + REANNOUNCE, &[ih(1)]), [ih(1)]);
    }

    #[test]
    fn a_new_torrent_waits_for_the_minute_after_the_last_round() {
        let mut s = Schedule::default();
        let t0 = Instant::now();
        assert_eq!(s.due(t0, &[ih(1)]), [ih(1)]);
        assert!(s.due(t0 + 30 * SEC, &[ih(1), ih(2)]).is_empty());
        assert_eq!(s.due(t0 + ROUND_GAP, &[ih(1), ih(2)]), [ih(2)]);
    }

    #[test]
    fn a_round_takes_along_what_falls_due_before_the_next_one() {
        let mut s = Schedule::default();
        let t0 = Instant::now();
        assert_eq!(s.due(t0, &[ih(1)]), [ih(1)]);
        // ih(1) is 4.5 minutes old: due before the next round may go out.
        let t1 = t0 + REANNOUNCE - 30 * SEC;
        assert_eq!(s.due(t1, &[ih(1), ih(2)]), [ih(2), ih(1)]);
        assert!(s.due(t1 + ROUND_GAP, &[ih(1), ih(2)]).is_empty());
    }

    #[test]
    fn no_torrent_goes_out_twice_within_a_minute_even_removed_and_added_again() {
        let mut s = Schedule::default();
        let t0 = Instant::now();
        assert_eq!(s.due(t0, &[ih(1)]), [ih(1)]);
        assert!(s.due(t0 + SEC, &[]).is_empty());
        assert!(s.due(t0 + 2 * SEC, &[ih(1)]).is_empty());
        assert_eq!(s.due(t0 + ROUND_GAP, &[ih(1)]), [ih(1)]);
    }

    #[test]
    fn past_the_round_cap_torrents_take_turns_longest_waiting_first() {
        let mut s = Schedule::default();
        let have: Vec<InfoHash> = (0..=255u8).map(ih).collect();
        let t0 = Instant::now();
        let mut seen = std::collections::HashSet::new();
        for round in 0..3u32 {
            let due = s.due(t0 + ROUND_GAP * round, &have);
            assert!(due.len() <= MAX_PER_ROUND);
            seen.extend(due);
        }
        assert_eq!(seen.len(), have.len());
    }
}
