//! The blocks asked of one peer and not yet delivered, with when each was
//! asked. Peers serve requests in order, so a block still missing well
//! after one asked later has arrived was dropped without a word (as
//! Transmission does when a request finds its queue full): it goes back to
//! the pool at once instead of holding its piece until the peer is snubbed.

use std::collections::HashMap;
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
    next_seq: u64,
    /// The place of the newest request among those answered.
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
        self.asked.insert(b, (at, self.next_seq));
        self.next_seq += 1;
    }

    /// The block arrived: whether it was asked for.
    pub fn answered(&mut self, b: &BlockRef) -> bool {
        let Some((_, seq)) = self.asked.remove(b) else {
            return false;
        };
        self.newest_answered = Some(self.newest_answered.map_or(seq, |n| n.max(seq)));
        true
    }

    /// The request ended without the block (rejected, cancelled).
    pub fn remove(&mut self, b: &BlockRef) -> bool {
        self.asked.remove(b).is_some()
    }

    /// Every block still asked for; the set is empty after.
    pub fn drain(&mut self) -> impl Iterator<Item = BlockRef> + '_ {
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
}
