//! The blocks asked of one peer and not yet delivered, with when each was
//! asked. Peers serve requests in order, so a block still missing well
//! after one asked later has arrived was dropped without a word (as
//! Transmission does when a request finds its queue full): it goes back to
//! the pool at once instead of holding its piece until the peer is snubbed.
//! The same order says which blocks come next, so a read can put them
//! straight into their pieces.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use p2p_proto::wire::BlockRef;

/// How long a block may stay missing once a later request was answered:
/// far above a pipeline's worth of data (about 2 s) and a seeder's pulse.
pub(super) const DROPPED_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub(super) struct InFlight {
    /// When each block was asked, and its place in the order of requests
    /// (requests sent in one batch share an instant, not a place).
    asked: HashMap<BlockRef, (Instant, u64)>,
    /// Blocks in the order asked, by their place; an entry whose block is
    /// no longer asked, or asked again later, is stale and skipped.
    order: VecDeque<(u64, BlockRef)>,
    next_seq: u64,
    /// The place of the newest request among those answered: the peer
    /// goes on after it.
    newest_answered: Option<u64>,
}

impl InFlight {
    pub fn len(&self) -> usize {
        self.asked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.asked.is_empty()
    }

    pub fn contains(&self, b: &BlockRef) -> bool {
        self.asked.contains_key(b)
    }

    pub fn insert(&mut self, b: BlockRef, at: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.asked.insert(b, (at, seq));
        self.order.push_back((seq, b));
        // Stale entries stay until they reach the front; blocks the peer
        // skipped keep them from getting there, so sweep now and then.
        if self.order.len() > 2 * self.asked.len() + 64 {
            let asked = &self.asked;
            self.order
                .retain(|(seq, b)| asked.get(b).is_some_and(|e| e.1 == *seq));
        }
    }

    /// The block arrived: whether it was asked for.
    pub fn answered(&mut self, b: &BlockRef) -> bool {
        let Some((_, seq)) = self.asked.remove(b) else {
            return false;
        };
        self.newest_answered = Some(self.newest_answered.map_or(seq, |n| n.max(seq)));
        true
    }

    /// Appends to `out` up to `max` blocks the peer should send next: those
    /// still asked, in the order asked, after the last one it sent.
    pub fn expected(&mut self, max: usize, out: &mut Vec<BlockRef>) {
        while let Some(&(seq, b)) = self.order.front() {
            if self.asked.get(&b).is_some_and(|e| e.1 == seq) {
                break;
            }
            self.order.pop_front();
        }
        let after = self.newest_answered;
        let asked = &self.asked;
        out.extend(
            self.order
                .iter()
                .filter(|(seq, b)| {
                    after.is_none_or(|a| *seq > a) && asked.get(b).is_some_and(|e| e.1 == *seq)
                })
                .map(|&(_, b)| b)
                .take(max),
        );
    }

    /// The request ended without the block (rejected, cancelled).
    pub fn remove(&mut self, b: &BlockRef) -> bool {
        self.asked.remove(b).is_some()
    }

    /// Every block still asked for; the set is empty after.
    pub fn drain(&mut self) -> impl Iterator<Item = BlockRef> + '_ {
        self.order.clear();
        self.asked.drain().map(|(b, _)| b)
    }

    /// Takes out the blocks the peer skipped: asked at least
    /// [`DROPPED_AFTER`] before `now` and before a request it answered.
    pub fn take_dropped(&mut self, now: Instant) -> Vec<BlockRef> {
        let Some(newest) = self.newest_answered else {
            return Vec::new();
        };
        let dropped: Vec<BlockRef> = self
            .asked
            .iter()
            .filter(|&(_, &(at, seq))| {
                seq < newest && now.saturating_duration_since(at) >= DROPPED_AFTER
            })
            .map(|(&b, _)| b)
            .collect();
        for b in &dropped {
            self.asked.remove(b);
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(i: u32) -> BlockRef {
        BlockRef {
            index: i,
            begin: 0,
            length: 16384,
        }
    }

    #[test]
    fn a_block_skipped_while_later_ones_arrive_is_taken_back_after_the_grace() {
        let t0 = Instant::now();
        let mut f = InFlight::default();
        for i in 0..3 {
            f.insert(block(i), t0 + Duration::from_millis(u64::from(i)));
        }
        assert!(f.answered(&block(0)));
        assert!(f.answered(&block(2)));
        // Block 1 was asked before block 2, which arrived: dropped, once
        // the grace has passed.
        assert!(f.take_dropped(t0 + Duration::from_secs(1)).is_empty());
        assert_eq!(
            f.take_dropped(t0 + DROPPED_AFTER + Duration::from_secs(1)),
            [block(1)]
        );
        assert!(f.is_empty());
    }

    #[test]
    fn requests_sent_at_one_instant_keep_their_order() {
        let t0 = Instant::now();
        let mut f = InFlight::default();
        for i in 0..3 {
            f.insert(block(i), t0);
        }
        assert!(f.answered(&block(2)));
        let mut dropped = f.take_dropped(t0 + DROPPED_AFTER);
        dropped.sort_by_key(|b| b.index);
        assert_eq!(dropped, [block(0), block(1)]);
    }

    #[test]
    fn a_slow_peer_answering_in_order_keeps_its_blocks() {
        let t0 = Instant::now();
        let mut f = InFlight::default();
        for i in 0..4 {
            f.insert(block(i), t0 + Duration::from_millis(u64::from(i)));
        }
        assert!(f.answered(&block(0)));
        // Long past the grace, but nothing asked after blocks 1-3 arrived.
        assert!(f.take_dropped(t0 + Duration::from_secs(60)).is_empty());
        assert_eq!(f.len(), 3);
        assert!(!f.answered(&block(9)), "never asked");
        assert!(f.remove(&block(1)) && !f.contains(&block(1)));
    }

    #[test]
    fn the_blocks_expected_next_are_those_asked_after_the_last_one_answered() {
        let t0 = Instant::now();
        let mut f = InFlight::default();
        for i in 0..6 {
            f.insert(block(i), t0);
        }
        let mut next = Vec::new();
        f.expected(3, &mut next);
        assert_eq!(next, [block(0), block(1), block(2)]);
        // Block 1 skipped, block 2 came: the peer goes on after block 2.
        assert!(f.answered(&block(0)) && f.answered(&block(2)));
        f.remove(&block(4));
        next.clear();
        f.expected(10, &mut next);
        assert_eq!(next, [block(3), block(5)]);
        // Asked again later, a block is expected at its new place.
        f.insert(block(4), t0);
        next.clear();
        f.expected(10, &mut next);
        assert_eq!(next, [block(3), block(5), block(4)]);
        f.drain().for_each(drop);
        next.clear();
        f.expected(10, &mut next);
        assert!(next.is_empty());
    }

    #[test]
    fn a_block_never_answered_does_not_let_the_order_grow_without_bound() {
        let t0 = Instant::now();
        let mut f = InFlight::default();
        f.insert(block(0), t0);
        for i in 1..10_000 {
            f.insert(block(i), t0);
            assert!(f.answered(&block(i)));
        }
        assert_eq!(f.len(), 1);
        assert!(
            f.order.len() <= 2 * f.len() + 65,
            "{} entries",
            f.order.len()
        );
    }
}
