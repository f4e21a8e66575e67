//! LEDBAT congestion control (BEP 29, [RFC 6817](https://www.rfc-editor.org/rfc/rfc6817)):
//! the window grows while the one-way delay stays near its floor and
//! shrinks as a queue builds past the target, so uTP yields to other
//! traffic on the same link; loss halves it, as TCP would.
//!
//! Must not know packets or clocks: the connection feeds it bytes acked,
//! delay samples and "now" in microseconds.

/// Queuing delay LEDBAT aims for (BEP 29: 100 ms).
pub const TARGET_US: i64 = 100_000;
/// How long the base delay remembers a minimum (two minutes, in one-minute
/// buckets plus the current one).
const BASE_BUCKET_US: u64 = 60_000_000;
const BASE_BUCKETS: usize = 3;
/// Samples the current delay is the minimum of (RFC 6817's filter),
/// against the noise of one late packet.
const CURRENT_FILTER: usize = 4;
/// The largest window we grow to.
const MAX_CWND: usize = 64 << 20;

/// `a` is before `b` on the wrapping 32-bit microsecond clock.
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// The congestion window and what it is computed from.
#[derive(Debug, Clone)]
pub struct Ledbat {
    cwnd: usize,
    /// Fraction of a byte the window gained but could not add yet.
    carry: f64,
    slow_start: bool,
    /// (bucket index, minimum delay sample in it), newest last.
    base: Vec<(u64, u32)>,
    recent: [Option<u32>; CURRENT_FILTER],
    recent_at: usize,
}

impl Ledbat {
    /// A window of two packets of `mss` bytes, in slow start.
    pub fn new(mss: usize) -> Self {
        Ledbat {
            cwnd: 2 * mss,
            carry: 0.0,
            slow_start: true,
            base: Vec::with_capacity(BASE_BUCKETS),
            recent: [None; CURRENT_FILTER],
            recent_at: 0,
        }
    }

    /// Bytes that may be in flight.
    pub fn window(&self) -> usize {
        self.cwnd
    }

    /// Records a one-way delay sample (the peer's timestamp difference for
    /// our packets) taken at `now_us`.
    pub fn delay_sample(&mut self, sample: u32, now_us: u64) {
        let bucket = now_us / BASE_BUCKET_US;
        match self.base.last_mut() {
            Some((b, min)) if *b == bucket => {
                if before(sample, *min) {
                    *min = sample;
                }
            }
            _ => {
                if self.base.len() == BASE_BUCKETS {
                    self.base.remove(0);
                }
                self.base.push((bucket, sample));
            }
        }
        self.recent[self.recent_at] = Some(sample);
        self.recent_at = (self.recent_at + 1) % CURRENT_FILTER;
    }

    /// The delay above the floor of the last two minutes, if there are
    /// samples.
    pub fn queuing_delay_us(&self) -> Option<i64> {
        let base = self
            .base
            .iter()
            .map(|&(_, m)| m)
            .reduce(|a, b| if before(b, a) { b } else { a })?;
        let current = self
            .recent
            .iter()
            .flatten()
            .copied()
            .reduce(|a, b| if before(b, a) { b } else { a })?;
        Some(i64::from(current.wrapping_sub(base) as i32).max(0))
    }

    /// `bytes` were acknowledged; `limited` says whether the window, not
    /// the application, held back the sender (a window nobody fills must
    /// not grow).
    pub fn on_ack(&mut self, bytes: usize, mss: usize, limited: bool) {
        let qd = self.queuing_delay_us().unwrap_or(0);
        if self.slow_start {
            if qd > TARGET_US / 2 {
                self.slow_start = false;
            } else {
                if limited {
                    self.cwnd = (self.cwnd + bytes).min(MAX_CWND);
                }
                return;
            }
        }
        let off_target = ((TARGET_US - qd) as f64 / TARGET_US as f64).max(-1.0);
        if off_target > 0.0 && !limited {
            return;
        }
        let delta = off_target * bytes as f64 * mss as f64 / self.cwnd as f64 + self.carry;
        let whole = delta.trunc();
        self.carry = delta - whole;
        let grown = (self.cwnd as f64 + whole).clamp(mss as f64, MAX_CWND as f64);
        self.cwnd = grown as usize;
    }

    /// A packet was lost: halve, never below one packet.
    pub fn on_loss(&mut self, mss: usize) {
        self.slow_start = false;
        self.cwnd = (self.cwnd / 2).max(mss);
    }

    /// Nothing was acknowledged for a whole retransmission timeout: one packet.
    pub fn on_timeout(&mut self, mss: usize) {
        self.slow_start = false;
        self.cwnd = mss;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1000;

    fn after_acks(delay_above_base_us: u32) -> usize {
        let mut l = Ledbat::new(MSS);
        l.slow_start = false;
        l.cwnd = 50 * MSS;
        l.delay_sample(1_000_000, 0);
        for i in 0..100 {
            l.delay_sample(1_000_000 + delay_above_base_us, 1000 * i);
            l.on_ack(MSS, MSS, true);
        }
        l.window()
    }

    #[test]
    fn no_queuing_delay_grows_the_window_and_delay_past_the_target_shrinks_it() {
        assert!(after_acks(0) > 50 * MSS);
        assert!(after_acks(100_000).abs_diff(50 * MSS) < MSS);
        assert!(after_acks(200_000) < 50 * MSS);
    }

    #[test]
    fn the_base_delay_survives_the_clock_wrapping() {
        let mut l = Ledbat::new(MSS);
        l.delay_sample(u32::MAX - 10, 0);
        l.delay_sample(20, 1);
        assert_eq!(l.queuing_delay_us(), Some(0));
        for _ in 0..CURRENT_FILTER {
            l.delay_sample(31 + 50_000, 2);
        }
        assert_eq!(l.queuing_delay_us(), Some(50_042));
    }

    #[test]
    fn an_old_minimum_is_forgotten_after_two_minutes() {
        let mut l = Ledbat::new(MSS);
        l.delay_sample(1_000, 0);
        for m in 1..=3u64 {
            l.delay_sample(9_000, m * BASE_BUCKET_US);
        }
        assert_eq!(l.queuing_delay_us(), Some(0));
    }

    #[test]
    fn loss_halves_and_the_window_never_falls_below_one_packet() {
        let mut l = Ledbat::new(MSS);
        l.cwnd = 10 * MSS;
        l.on_loss(MSS);
        assert_eq!(l.window(), 5 * MSS);
        for _ in 0..10 {
            l.on_loss(MSS);
        }
        assert_eq!(l.window(), MSS);
        l.delay_sample(0, 0);
        for _ in 0..CURRENT_FILTER {
            l.delay_sample(10_000_000, 1);
        }
        l.on_ack(MSS, MSS, true);
        assert_eq!(l.window(), MSS);
    }

    #[test]
    fn an_unfilled_window_does_not_grow() {
        let mut l = Ledbat::new(MSS);
        l.on_ack(MSS, MSS, false);
        assert_eq!(l.window(), 2 * MSS);
    }
}
