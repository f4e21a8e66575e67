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
    asked: HashMap<BlockRef, Instant>,
    /// When the newest request among those answered was sent.
    newest_answered: Option<Instant>,
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
        self.asked.insert(b, at);
    }

    /// The block arrived: whether it was asked for.
    pub fn answered(&mut self, b: &BlockRef) -> bool {
        let Some(at) = self.asked.remove(b) else {
            return false;
        };
        self.newest_answered = Some(self.newest_answered.map_or(at, |n| n.max(at)));
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
            .filter(|&(_, &at)| at < newest && now.saturating_duration_since(at) >= DROPPED_AFTER)
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
