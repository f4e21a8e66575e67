//! Which downloads run: the queue's decision as a plain function of the
//! downloads in queue order and the limits, and the queue moves. No clock,
//! no engine: the caller says what each download is doing.

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::QueueMove;

/// What a download waits for a slot as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Pieces are missing.
    Download,
    /// It has every piece.
    Seed,
}

/// What a download is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// Not in the engine.
    Idle,
    /// Running (checking, downloading or seeding): it holds a slot.
    Active,
    /// Downloading with no payload for a while: runs on without a slot.
    Stalled,
    /// In the engine but stopped by an error or a full disk: neither holds
    /// a slot nor waits for one.
    Inert,
}

/// One download, not paused, as the plan sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The download.
    pub id: InfoHash,
    /// What slot it needs.
    pub kind: Kind,
    /// What it does now.
    pub run: Run,
}

/// Slots; 0 is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Downloads at once.
    pub downloads: u32,
    /// Seeds at once.
    pub seeds: u32,
}

/// What to change so that the first downloads in order hold the slots.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Idle downloads that get a slot.
    pub start: Vec<InfoHash>,
    /// Running downloads beyond the slots: they stop and wait.
    pub stop: Vec<InfoHash>,
    /// Every download waiting for a slot, in queue order.
    pub queued: Vec<InfoHash>,
}

/// The plan for `candidates` (in queue order) under `limits`: each kind's
/// first downloads that are not stalled hold its slots, the rest wait.
pub fn decide(candidates: &[Candidate], limits: Limits) -> Plan {
    let mut plan = Plan::default();
    let (mut downloads, mut seeds) = (0u32, 0u32);
    for c in candidates {
        if matches!(c.run, Run::Stalled | Run::Inert) {
            continue;
        }
        let (used, limit) = match c.kind {
            Kind::Download => (&mut downloads, limits.downloads),
            Kind::Seed => (&mut seeds, limits.seeds),
        };
        if limit == 0 || *used < limit {
            *used += 1;
            if c.run == Run::Idle {
                plan.start.push(c.id);
            }
        } else {
            if c.run == Run::Active {
                plan.stop.push(c.id);
            }
            plan.queued.push(c.id);
        }
    }
    plan
}

/// `order` with `id` moved; unchanged when `id` is not in it.
pub fn moved(order: &[InfoHash], id: InfoHash, to: QueueMove) -> Vec<InfoHash> {
    let mut out = order.to_vec();
    let Some(at) = out.iter().position(|&x| x == id) else {
        return out;
    };
    let last = out.len() - 1;
    let dest = match to {
        QueueMove::Top => 0,
        QueueMove::Up => at.saturating_sub(1),
        QueueMove::Down => (at + 1).min(last),
        QueueMove::Bottom => last,
    };
    let item = out.remove(at);
    out.insert(dest, item);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ih(n: u8) -> InfoHash {
        InfoHash([n; 20])
    }

    fn c(n: u8, kind: Kind, run: Run) -> Candidate {
        Candidate {
            id: ih(n),
            kind,
            run,
        }
    }

    const TWO_DOWNLOADS: Limits = Limits {
        downloads: 2,
        seeds: 0,
    };

    #[test]
    fn five_idle_downloads_with_two_slots_start_the_first_two_and_queue_three() {
        let all: Vec<_> = (1..=5).map(|n| c(n, Kind::Download, Run::Idle)).collect();
        let plan = decide(&all, TWO_DOWNLOADS);
        assert_eq!(plan.start, [ih(1), ih(2)]);
        assert_eq!(plan.queued, [ih(3), ih(4), ih(5)]);
        assert!(plan.stop.is_empty());
    }

    #[test]
    fn a_completed_download_frees_its_slot_for_the_next_in_order() {
        let all = [
            c(1, Kind::Seed, Run::Active),
            c(2, Kind::Download, Run::Active),
            c(3, Kind::Download, Run::Idle),
            c(4, Kind::Download, Run::Idle),
        ];
        let plan = decide(&all, TWO_DOWNLOADS);
        assert_eq!(plan.start, [ih(3)]);
        assert_eq!(plan.queued, [ih(4)]);
    }

    #[test]
    fn a_stalled_download_runs_on_without_its_slot() {
        let all = [
            c(1, Kind::Download, Run::Stalled),
            c(2, Kind::Download, Run::Active),
            c(3, Kind::Download, Run::Idle),
            c(4, Kind::Download, Run::Idle),
        ];
        let plan = decide(&all, TWO_DOWNLOADS);
        assert_eq!((plan.start, plan.queued), (vec![ih(3)], vec![ih(4)]));
        assert!(plan.stop.is_empty());
    }

    #[test]
    fn failed_downloads_neither_hold_a_slot_nor_wait() {
        let all = [
            c(1, Kind::Download, Run::Inert),
            c(2, Kind::Download, Run::Idle),
        ];
        let plan = decide(
            &all,
            Limits {
                downloads: 1,
                seeds: 0,
            },
        );
        assert_eq!((plan.start, plan.queued), (vec![ih(2)], vec![]));
    }

    #[test]
    fn a_download_moved_to_the_top_takes_the_slot_of_the_last_running_one() {
        let all = [
            c(5, Kind::Download, Run::Idle),
            c(1, Kind::Download, Run::Active),
            c(2, Kind::Download, Run::Active),
        ];
        let plan = decide(&all, TWO_DOWNLOADS);
        assert_eq!(plan.start, [ih(5)]);
        assert_eq!(plan.stop, [ih(2)]);
        assert_eq!(plan.queued, [ih(2)]);
    }

    #[test]
    fn seeds_have_slots_of_their_own_and_zero_means_unlimited() {
        let all = [
            c(1, Kind::Seed, Run::Active),
            c(2, Kind::Seed, Run::Active),
            c(3, Kind::Download, Run::Idle),
        ];
        let limits = Limits {
            downloads: 0,
            seeds: 1,
        };
        let plan = decide(&all, limits);
        assert_eq!(plan.stop, [ih(2)]);
        assert_eq!(plan.start, [ih(3)]);
        let unlimited = decide(
            &all,
            Limits {
                downloads: 0,
                seeds: 0,
            },
        );
        assert!(unlimited.stop.is_empty() && unlimited.queued.is_empty());
    }

    #[test]
    fn moves_go_one_place_or_to_either_end_and_stop_at_the_ends() {
        let order: Vec<_> = (1..=4).map(ih).collect();
        assert_eq!(
            moved(&order, ih(3), QueueMove::Top),
            [ih(3), ih(1), ih(2), ih(4)]
        );
        assert_eq!(
            moved(&order, ih(3), QueueMove::Up),
            [ih(1), ih(3), ih(2), ih(4)]
        );
        assert_eq!(
            moved(&order, ih(2), QueueMove::Down),
            [ih(1), ih(3), ih(2), ih(4)]
        );
        assert_eq!(
            moved(&order, ih(1), QueueMove::Bottom),
            [ih(2), ih(3), ih(4), ih(1)]
        );
        assert_eq!(moved(&order, ih(1), QueueMove::Up), order);
        assert_eq!(moved(&order, ih(4), QueueMove::Down), order);
        assert_eq!(moved(&order, ih(9), QueueMove::Top), order);
    }
}
