//! The last hour of the overview's charts, kept in memory: one sample every
//! [`SAMPLE_EVERY`] (announces per second, seeders, leechers, online
//! users), the oldest dropped past [`MAX_SAMPLES`]. Takes its readings from
//! the caller (the housekeeping task); reads no clock and no store.

use std::collections::VecDeque;
use std::time::Duration;

use parking_lot::Mutex;

/// Time between samples.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Samples kept: one hour.
pub const MAX_SAMPLES: usize = 360;

/// One reading.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// Unix seconds.
    pub at: i64,
    /// Announces per second.
    pub announces_per_second: f64,
    /// Seeders over every swarm.
    pub seeders: u64,
    /// Leechers over every swarm.
    pub leechers: u64,
    /// Users with a live session.
    pub online: u64,
}

/// The ring of samples.
#[derive(Debug, Default)]
pub struct Samples {
    ring: Mutex<VecDeque<Sample>>,
}

impl Samples {
    /// Adds a reading, dropping the oldest past an hour's worth.
    pub fn push(&self, s: Sample) {
        let mut ring = self.ring.lock();
        if ring.len() >= MAX_SAMPLES {
            ring.pop_front();
        }
        ring.push_back(s);
    }

    /// Every sample kept, oldest first.
    pub fn all(&self) -> Vec<Sample> {
        self.ring.lock().iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_last_hour_oldest_first() {
        let s = Samples::default();
        for at in 0..(MAX_SAMPLES as i64 + 5) {
            s.push(Sample {
                at,
                ..Sample::default()
            });
        }
        let all = s.all();
        assert_eq!(all.len(), MAX_SAMPLES);
        assert_eq!(all[0].at, 5);
        assert_eq!(all[MAX_SAMPLES - 1].at, MAX_SAMPLES as i64 + 4);
    }
}
