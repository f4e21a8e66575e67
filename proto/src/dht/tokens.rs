//! Announce tokens (BEP 5): a `get_peers` answer carries a token bound to
//! the querier's IP, and `announce_peer` must give it back. The token is
//! a keyed hash of the IP with a secret rotated every [`ROTATE_SECS`]; the
//! previous secret is still accepted, so a token lives 5 to 10 minutes.
//!
//! Must not draw randomness or read a clock: fresh secrets and `now` come in.

use std::fmt;
use std::net::IpAddr;

use sha1::{Digest, Sha1};

/// How often the secret changes (BEP 5: five minutes).
pub const ROTATE_SECS: u64 = 5 * 60;
/// Bytes of a token we hand out (libtorrent and mainline hand out 4 to 8).
pub const TOKEN_BYTES: usize = 8;
/// Bytes of a secret.
pub const SECRET_BYTES: usize = 16;

/// The current and previous secrets.
#[derive(Clone)]
pub struct Tokens {
    current: [u8; SECRET_BYTES],
    previous: [u8; SECRET_BYTES],
    rotated_at: u64,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("secrets", &"<hidden>")
            .field("rotated_at", &self.rotated_at)
            .finish()
    }
}

impl Tokens {
    /// Starts with one random `secret`, at `now`.
    pub fn new(secret: [u8; SECRET_BYTES], now: u64) -> Tokens {
        Tokens {
            current: secret,
            previous: secret,
            rotated_at: now,
        }
    }

    /// Rotates when [`ROTATE_SECS`] have passed, taking a fresh secret from
    /// `fresh` (called only then). A caller that slept through two periods
    /// rotates twice, so no token older than two periods survives.
    pub fn rotate_if_due(&mut self, now: u64, mut fresh: impl FnMut() -> [u8; SECRET_BYTES]) {
        let elapsed = now.saturating_sub(self.rotated_at);
        if elapsed < ROTATE_SECS {
            return;
        }
        self.previous = if elapsed >= 2 * ROTATE_SECS {
            fresh()
        } else {
            self.current
        };
        self.current = fresh();
        self.rotated_at = now;
    }

    /// The token to hand to a querier at `ip`.
    pub fn token_for(&self, ip: IpAddr) -> [u8; TOKEN_BYTES] {
        token(&self.current, ip)
    }

    /// Whether `token` is one we handed to `ip` under the current or the previous secret.
    pub fn is_valid(&self, ip: IpAddr, token_given: &[u8]) -> bool {
        token_given == token(&self.current, ip) || token_given == token(&self.previous, ip)
    }
}

fn token(secret: &[u8; SECRET_BYTES], ip: IpAddr) -> [u8; TOKEN_BYTES] {
    let mut h = Sha1::new();
    h.update(secret);
    // An IPv4 peer seen through a dual-stack socket gets the same token.
    match ip.to_canonical() {
        IpAddr::V4(v4) => h.update(v4.octets()),
        IpAddr::V6(v6) => h.update(v6.octets()),
    }
    let digest = h.finalize();
    let mut out = [0u8; TOKEN_BYTES];
    out.copy_from_slice(&digest[..TOKEN_BYTES]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn a_token_is_valid_for_its_ip_only() {
        let t = Tokens::new([1; 16], 0);
        let tok = t.token_for(ip("10.0.0.1"));
        assert!(t.is_valid(ip("10.0.0.1"), &tok));
        assert!(!t.is_valid(ip("10.0.0.2"), &tok));
        assert!(!t.is_valid(ip("10.0.0.1"), &tok[..4]));
        assert!(
            t.is_valid(ip("::ffff:10.0.0.1"), &tok),
            "v4-mapped is the same host"
        );
    }

    #[test]
    fn a_token_survives_one_rotation_and_not_two() {
        let mut t = Tokens::new([1; 16], 0);
        let mut next = 2u8;
        let mut fresh = || {
            next += 1;
            [next; 16]
        };
        let tok = t.token_for(ip("::1"));
        t.rotate_if_due(ROTATE_SECS - 1, &mut fresh);
        assert_eq!(t.token_for(ip("::1")), tok, "not due yet");
        t.rotate_if_due(ROTATE_SECS, &mut fresh);
        assert_ne!(t.token_for(ip("::1")), tok);
        assert!(t.is_valid(ip("::1"), &tok));
        t.rotate_if_due(2 * ROTATE_SECS, &mut fresh);
        assert!(!t.is_valid(ip("::1"), &tok));
    }

    #[test]
    fn sleeping_through_two_periods_drops_every_old_token() {
        let mut t = Tokens::new([1; 16], 0);
        let tok = t.token_for(ip("10.1.1.1"));
        let mut n = 5u8;
        t.rotate_if_due(3 * ROTATE_SECS, || {
            n += 1;
            [n; 16]
        });
        assert!(!t.is_valid(ip("10.1.1.1"), &tok));
    }

    #[test]
    fn debug_hides_the_secrets() {
        let t = Tokens::new([0xab; 16], 0);
        assert!(!format!("{t:?}").contains("171"));
    }
}
