//! SHA-1 of several pieces at once: up to sixteen messages of one length
//! hashed in lockstep, each in one 32-bit lane of AVX-512 registers, or up
//! to eight in AVX2 registers on CPUs without AVX-512.
//!
//! Why: one SHA-1 is a chain of dependent rounds, and SHA-NI (the `sha1`
//! crate) does about 1.6 GB/s on one core, most of a loopback download's
//! CPU. Independent pieces fill every lane of the same instructions: sixteen
//! hash at 5.1-5.8 GB/s on an Intel core with AVX-512 (`vpternlogd` is each
//! round's boolean function, `vprold` its rotations), eight at 3.4 GB/s on
//! a Zen 3 core with AVX2 (shift pairs for rotations). Below a few pieces of
//! one length the lanes left empty cost more than they save, and the pieces
//! go through the `sha1` crate one by one, as on CPUs with neither.
//!
//! Must not: hash anything but whole messages (no streaming), or guess:
//! the wide paths are checked against the `sha1` crate in the tests below.
//! This crate and p2pd's `sockopt.rs` are the workspace's only `unsafe` code:
//! here, unaligned vector loads and stores and the calls into the AVX-512
//! and AVX2 code after the CPU said it has them.

use sha1::{Digest, Sha1};

/// Messages hashed together.
pub const LANES: usize = 16;
/// Fewest messages of one length worth the wide path: sixteen lanes cost
/// about as much as 4.3 messages through SHA-NI.
const WIDE_FROM: usize = 5;

const IV: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

/// The SHA-1 of each message, in order.
pub fn digest_all(messages: &[&[u8]]) -> Vec<[u8; 20]> {
    let mut out = vec![[0u8; 20]; messages.len()];
    let mut done = vec![false; messages.len()];
    if let Some(path) = LanePath::here() {
        for first in 0..messages.len() {
            if done[first] {
                continue;
            }
            let len = messages[first].len();
            let same: Vec<usize> = (first..messages.len())
                .filter(|&i| !done[i] && messages[i].len() == len)
                .collect();
            for group in same.chunks(path.lanes) {
                if group.len() < path.wide_from {
                    break;
                }
                let lanes: Vec<&[u8]> = group.iter().map(|&i| messages[i]).collect();
                for (&i, d) in group.iter().zip((path.digest)(&lanes)) {
                    out[i] = d;
                    done[i] = true;
                }
            }
        }
    }
    for (i, m) in messages.iter().enumerate() {
        if !done[i] {
            out[i] = Sha1::digest(m).into();
        }
    }
    out
}

/// A way of hashing several messages of one length at once.
struct LanePath {
    lanes: usize,
    /// Fewest messages worth it: below, the empty lanes cost more than
    /// hashing the messages one by one through SHA-NI.
    wide_from: usize,
    digest: fn(&[&[u8]]) -> Vec<[u8; 20]>,
}

impl LanePath {
    /// The widest this CPU has, if any.
    fn here() -> Option<LanePath> {
        #[cfg(target_arch = "x86_64")]
        {
            if wide::available() {
                return Some(LanePath {
                    lanes: LANES,
                    wide_from: WIDE_FROM,
                    digest: wide::digest,
                });
            }
            if avx2::available() {
                return Some(LanePath {
                    lanes: avx2::LANES,
                    wide_from: avx2::WIDE_FROM,
                    digest: avx2::digest,
                });
            }
        }
        None
    }
}

/// Pads what is left of a message after its whole blocks, compresses it
/// into `state` and gives the digest.
fn finish(mut state: [u32; 5], tail: &[u8], total_len: usize) -> [u8; 20] {
    let mut last = [[0u8; 64]; 2];
    let flat = last.as_flattened_mut();
    flat[..tail.len()].copy_from_slice(tail);
    flat[tail.len()] = 0x80;
    let blocks = if tail.len() < 56 { 1 } else { 2 };
    let bits = (total_len as u64).wrapping_mul(8);
    flat[blocks * 64 - 8..blocks * 64].copy_from_slice(&bits.to_be_bytes());
    sha1::block_api::compress(&mut state, &last[..blocks]);
    let mut out = [0u8; 20];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// Rounds `$s..$s + 20` of a block through the caller's own `round!`.
macro_rules! twenty {
    ($s:expr, $f:tt, $k:expr) => {
        round!($s, $f, $k);
        round!($s + 1, $f, $k);
        round!($s + 2, $f, $k);
        round!($s + 3, $f, $k);
        round!($s + 4, $f, $k);
        round!($s + 5, $f, $k);
        round!($s + 6, $f, $k);
        round!($s + 7, $f, $k);
        round!($s + 8, $f, $k);
        round!($s + 9, $f, $k);
        round!($s + 10, $f, $k);
        round!($s + 11, $f, $k);
        round!($s + 12, $f, $k);
        round!($s + 13, $f, $k);
        round!($s + 14, $f, $k);
        round!($s + 15, $f, $k);
        round!($s + 16, $f, $k);
        round!($s + 17, $f, $k);
        round!($s + 18, $f, $k);
        round!($s + 19, $f, $k);
    };
}

/// Digests of 1..=`N` messages of one length, each in a lane of
/// `compress` (which runs their whole blocks); the tails are padded and
/// finished one by one. Empty lanes repeat the first message and their
/// results are dropped.
fn digest_lanes<const N: usize>(
    messages: &[&[u8]],
    compress: impl FnOnce(&mut [[u32; 5]; N], &[&[[u8; 64]]; N]),
) -> Vec<[u8; 20]> {
    assert!(!messages.is_empty() && messages.len() <= N);
    let len = messages[0].len();
    assert!(messages.iter().all(|m| m.len() == len));
    let lanes: [&[[u8; 64]]; N] =
        std::array::from_fn(|l| messages.get(l).unwrap_or(&messages[0]).as_chunks().0);
    let mut states = [IV; N];
    compress(&mut states, &lanes);
    let whole = lanes[0].len() * 64;
    messages
        .iter()
        .zip(states)
        .map(|(m, s)| finish(s, &m[whole..], len))
        .collect()
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod wide {
    use std::arch::x86_64::*;

    use super::LANES;

    pub fn available() -> bool {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw")
    }

    /// Digests of 1..=[`LANES`] messages of one length. The caller has
    /// checked [`available`].
    pub fn digest(messages: &[&[u8]]) -> Vec<[u8; 20]> {
        // SAFETY: `available` found AVX-512F and AVX-512BW on this CPU, all that `compress`
        // is compiled for.
        super::digest_lanes::<LANES>(messages, |states, lanes| unsafe { compress(states, lanes) })
    }

    /// Runs the blocks of sixteen equally long messages through SHA-1's
    /// compression, lane `l` of every register holding message `l`'s word.
    #[target_feature(enable = "avx512f,avx512bw")]
    fn compress(states: &mut [[u32; 5]; LANES], lanes: &[&[[u8; 64]]; LANES]) {
        let mut h: [__m512i; 5] = std::array::from_fn(|w| {
            let word: [u32; LANES] = std::array::from_fn(|l| states[l][w]);
            // SAFETY: `word` is 64 readable bytes.
            unsafe { _mm512_loadu_si512(word.as_ptr().cast()) }
        });
        // SHA-1 reads its words big-endian.
        let bswap = _mm512_set4_epi32(0x0c0d_0e0f, 0x0809_0a0b, 0x0405_0607, 0x0001_0203);
        let k = [0x5A82_7999u32, 0x6ED9_EBA1, 0x8F1B_BCDC, 0xCA62_C1D6]
            .map(|k| _mm512_set1_epi32(k as i32));
        #[expect(clippy::needless_range_loop, reason = "block i of every lane")]
        for i in 0..lanes[0].len() {
            let rows: [__m512i; LANES] = std::array::from_fn(|l| {
                // SAFETY: a block is 64 readable bytes.
                unsafe { _mm512_loadu_si512(lanes[l][i].as_ptr().cast()) }
            });
            let mut w = transpose(rows).map(|v| _mm512_shuffle_epi8(v, bswap));
            let [mut a, mut b, mut c, mut d, mut e] = h;
            macro_rules! round {
                ($t:expr, $f:literal, $k:expr) => {{
                    // Words 16.. are scheduled in place of the word 16 before.
                    let wt = if $t >= 16 {
                        let x = _mm512_ternarylogic_epi32::<0x96>(
                            w[($t + 13) & 15],
                            w[($t + 8) & 15],
                            w[($t + 2) & 15],
                        );
                        let x = _mm512_rol_epi32::<1>(_mm512_xor_si512(x, w[$t & 15]));
                        w[$t & 15] = x;
                        x
                    } else {
                        w[$t & 15]
                    };
                    let f = _mm512_ternarylogic_epi32::<$f>(b, c, d);
                    let t = _mm512_add_epi32(
                        _mm512_add_epi32(_mm512_rol_epi32::<5>(a), f),
                        _mm512_add_epi32(e, _mm512_add_epi32(wt, $k)),
                    );
                    e = d;
                    d = c;
                    c = _mm512_rol_epi32::<30>(b);
                    b = a;
                    a = t;
                }};
            }
            // Ch(b, c, d), parity, Maj(b, c, d), parity, as vpternlogd tables.
            twenty!(0, 0xCA, k[0]);
            twenty!(20, 0x96, k[1]);
            twenty!(40, 0xE8, k[2]);
            twenty!(60, 0x96, k[3]);
            h = [
                _mm512_add_epi32(h[0], a),
                _mm512_add_epi32(h[1], b),
                _mm512_add_epi32(h[2], c),
                _mm512_add_epi32(h[3], d),
                _mm512_add_epi32(h[4], e),
            ];
        }
        for (w, v) in h.into_iter().enumerate() {
            let mut word = [0u32; LANES];
            // SAFETY: `word` is 64 writable bytes.
            unsafe { _mm512_storeu_si512(word.as_mut_ptr().cast(), v) };
            for (state, x) in states.iter_mut().zip(word) {
                state[w] = x;
            }
        }
    }

    /// Rows (one message's 16 words each) to columns (word `j` of every
    /// message in `out[j]`).
    #[target_feature(enable = "avx512f")]
    fn transpose(r: [__m512i; LANES]) -> [__m512i; LANES] {
        // Pairs, then quads, of 32-bit words: afterwards `q[4j + m]` holds,
        // in its 128-bit chunk `c`, word `4c + m` of messages 4j..4j+4.
        let mut p = [_mm512_setzero_si512(); LANES];
        for j in 0..8 {
            p[2 * j] = _mm512_unpacklo_epi32(r[2 * j], r[2 * j + 1]);
            p[2 * j + 1] = _mm512_unpackhi_epi32(r[2 * j], r[2 * j + 1]);
        }
        let mut q = [_mm512_setzero_si512(); LANES];
        for j in 0..4 {
            q[4 * j] = _mm512_unpacklo_epi64(p[4 * j], p[4 * j + 2]);
            q[4 * j + 1] = _mm512_unpackhi_epi64(p[4 * j], p[4 * j + 2]);
            q[4 * j + 2] = _mm512_unpacklo_epi64(p[4 * j + 1], p[4 * j + 3]);
            q[4 * j + 3] = _mm512_unpackhi_epi64(p[4 * j + 1], p[4 * j + 3]);
        }
        // Then the 128-bit chunks: chunk `c` of the four groups side by side.
        let mut out = [_mm512_setzero_si512(); LANES];
        for m in 0..4 {
            let x0 = _mm512_shuffle_i32x4::<0x88>(q[m], q[4 + m]);
            let x1 = _mm512_shuffle_i32x4::<0xDD>(q[m], q[4 + m]);
            let y0 = _mm512_shuffle_i32x4::<0x88>(q[8 + m], q[12 + m]);
            let y1 = _mm512_shuffle_i32x4::<0xDD>(q[8 + m], q[12 + m]);
            out[m] = _mm512_shuffle_i32x4::<0x88>(x0, y0);
            out[8 + m] = _mm512_shuffle_i32x4::<0xDD>(x0, y0);
            out[4 + m] = _mm512_shuffle_i32x4::<0x88>(x1, y1);
            out[12 + m] = _mm512_shuffle_i32x4::<0xDD>(x1, y1);
        }
        out
    }
}

/// The same rounds eight lanes wide, for CPUs with AVX2 and no AVX-512
/// (AMD before Zen 4, most desktops): no rotate and no three-input logic,
/// so each costs a shift pair or two operations more.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use std::arch::x86_64::*;

    /// Messages hashed together on this path.
    pub const LANES: usize = 8;
    /// Fewest messages of one length worth this path: eight lanes cost
    /// about as much as four messages through SHA-NI (3.4 GB/s against
    /// 1.7 on a Zen 3 core).
    pub const WIDE_FROM: usize = 5;

    pub fn available() -> bool {
        std::is_x86_feature_detected!("avx2")
    }

    /// Digests of 1..=[`LANES`] messages of one length. The caller has
    /// checked [`available`].
    pub fn digest(messages: &[&[u8]]) -> Vec<[u8; 20]> {
        // SAFETY: `available` found AVX2 on this CPU, all that `compress`
        // is compiled for.
        super::digest_lanes::<LANES>(messages, |states, lanes| unsafe { compress(states, lanes) })
    }

    /// Runs the blocks of eight equally long messages through SHA-1's
    /// compression, lane `l` of every register holding message `l`'s word.
    #[target_feature(enable = "avx2")]
    fn compress(states: &mut [[u32; 5]; LANES], lanes: &[&[[u8; 64]]; LANES]) {
        let mut h: [__m256i; 5] = std::array::from_fn(|w| {
            let word: [u32; LANES] = std::array::from_fn(|l| states[l][w]);
            // SAFETY: `word` is 32 readable bytes.
            unsafe { _mm256_loadu_si256(word.as_ptr().cast()) }
        });
        // SHA-1 reads its words big-endian.
        let bswap = _mm256_set_epi32(
            0x0c0d_0e0f,
            0x0809_0a0b,
            0x0405_0607,
            0x0001_0203,
            0x0c0d_0e0f,
            0x0809_0a0b,
            0x0405_0607,
            0x0001_0203,
        );
        let k = [0x5A82_7999u32, 0x6ED9_EBA1, 0x8F1B_BCDC, 0xCA62_C1D6]
            .map(|k| _mm256_set1_epi32(k as i32));
        macro_rules! rol {
            ($x:expr, $n:literal) => {{
                let x = $x;
                _mm256_or_si256(
                    _mm256_slli_epi32::<$n>(x),
                    _mm256_srli_epi32::<{ 32 - $n }>(x),
                )
            }};
        }
        // Each round's boolean function of (b, c, d).
        macro_rules! ch {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_xor_si256($d, _mm256_and_si256($b, _mm256_xor_si256($c, $d)))
            };
        }
        macro_rules! parity {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_xor_si256(_mm256_xor_si256($b, $c), $d)
            };
        }
        macro_rules! maj {
            ($b:expr, $c:expr, $d:expr) => {
                _mm256_or_si256(
                    _mm256_and_si256($b, $c),
                    _mm256_and_si256($d, _mm256_or_si256($b, $c)),
                )
            };
        }
        #[expect(clippy::needless_range_loop, reason = "block i of every lane")]
        for i in 0..lanes[0].len() {
            let load = |l: usize, half: usize| {
                // SAFETY: a block is 64 readable bytes, two halves of 32.
                unsafe { _mm256_loadu_si256(lanes[l][i].as_ptr().add(32 * half).cast()) }
            };
            let low = transpose(std::array::from_fn(|l| load(l, 0)));
            let high = transpose(std::array::from_fn(|l| load(l, 1)));
            let mut w: [__m256i; 16] = std::array::from_fn(|j| {
                _mm256_shuffle_epi8(if j < 8 { low[j] } else { high[j - 8] }, bswap)
            });
            let [mut a, mut b, mut c, mut d, mut e] = h;
            macro_rules! round {
                ($t:expr, $f:ident, $k:expr) => {{
                    // Words 16.. are scheduled in place of the word 16 before.
                    let wt = if $t >= 16 {
                        let x = _mm256_xor_si256(
                            _mm256_xor_si256(w[($t + 13) & 15], w[($t + 8) & 15]),
                            _mm256_xor_si256(w[($t + 2) & 15], w[$t & 15]),
                        );
                        let x = rol!(x, 1);
                        w[$t & 15] = x;
                        x
                    } else {
                        w[$t & 15]
                    };
                    let t = _mm256_add_epi32(
                        _mm256_add_epi32(rol!(a, 5), $f!(b, c, d)),
                        _mm256_add_epi32(e, _mm256_add_epi32(wt, $k)),
                    );
                    e = d;
                    d = c;
                    c = rol!(b, 30);
                    b = a;
                    a = t;
                }};
            }
            twenty!(0, ch, k[0]);
            twenty!(20, parity, k[1]);
            twenty!(40, maj, k[2]);
            twenty!(60, parity, k[3]);
            h = [
                _mm256_add_epi32(h[0], a),
                _mm256_add_epi32(h[1], b),
                _mm256_add_epi32(h[2], c),
                _mm256_add_epi32(h[3], d),
                _mm256_add_epi32(h[4], e),
            ];
        }
        for (w, v) in h.into_iter().enumerate() {
            let mut word = [0u32; LANES];
            // SAFETY: `word` is 32 writable bytes.
            unsafe { _mm256_storeu_si256(word.as_mut_ptr().cast(), v) };
            for (state, x) in states.iter_mut().zip(word) {
                state[w] = x;
            }
        }
    }

    /// Rows (eight words of one message each) to columns (word `j` of
    /// every message in `out[j]`).
    #[target_feature(enable = "avx2")]
    fn transpose(r: [__m256i; LANES]) -> [__m256i; LANES] {
        // Pairs of words, then quads: `u[j]` holds word j of messages 0-3
        // in its low half and word j + 4 in its high half (`u[4 + j]`:
        // messages 4-7).
        let t: [__m256i; LANES] = std::array::from_fn(|n| {
            let (x, y) = (r[n / 2 * 2], r[n / 2 * 2 + 1]);
            if n % 2 == 0 {
                _mm256_unpacklo_epi32(x, y)
            } else {
                _mm256_unpackhi_epi32(x, y)
            }
        });
        let mut u = [_mm256_setzero_si256(); LANES];
        for g in 0..2 {
            let b = 4 * g;
            u[b] = _mm256_unpacklo_epi64(t[b], t[b + 2]);
            u[b + 1] = _mm256_unpackhi_epi64(t[b], t[b + 2]);
            u[b + 2] = _mm256_unpacklo_epi64(t[b + 1], t[b + 3]);
            u[b + 3] = _mm256_unpackhi_epi64(t[b + 1], t[b + 3]);
        }
        let mut out = [_mm256_setzero_si256(); LANES];
        for j in 0..4 {
            out[j] = _mm256_permute2x128_si256::<0x20>(u[j], u[4 + j]);
            out[4 + j] = _mm256_permute2x128_si256::<0x31>(u[j], u[4 + j]);
        }
        out
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod wide {
    pub fn available() -> bool {
        false
    }

    pub fn digest(_messages: &[&[u8]]) -> Vec<[u8; 20]> {
        unreachable!("never called: not available")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seed: u32, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    fn reference(messages: &[&[u8]]) -> Vec<[u8; 20]> {
        messages.iter().map(|m| Sha1::digest(m).into()).collect()
    }

    #[test]
    fn every_lane_count_and_padding_case_matches_the_sha1_crate() {
        if !wide::available() {
            eprintln!("no AVX-512 here: its lanes are not tested");
        }
        for len in [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 16_384, 65_536 + 7] {
            let all: Vec<Vec<u8>> = (0..LANES as u32)
                .map(|s| message(s + len as u32, len))
                .collect();
            for n in 1..=LANES {
                let m: Vec<&[u8]> = all[..n].iter().map(Vec::as_slice).collect();
                assert_eq!(digest_all(&m), reference(&m), "{n} messages of {len} bytes");
                if wide::available() {
                    assert_eq!(wide::digest(&m), reference(&m), "wide, {n} x {len} bytes");
                }
                #[cfg(target_arch = "x86_64")]
                if avx2::available() && n <= avx2::LANES {
                    assert_eq!(avx2::digest(&m), reference(&m), "avx2, {n} x {len} bytes");
                }
            }
        }
    }

    #[test]
    fn mixed_lengths_come_back_in_order() {
        // 19 of one length (a wide group of 16 and 3 left), a different
        // last piece, and a few others between them.
        let mut all = Vec::new();
        for i in 0..26u32 {
            let len = match i {
                7 => 100,
                11 => 262_144 - 64,
                25 => 5_000,
                _ => 32_768,
            };
            all.push(message(i, len));
        }
        let m: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
        assert_eq!(digest_all(&m), reference(&m));
    }

    #[test]
    fn a_known_digest() {
        // FIPS 180 example "abc", in a full group so the wide path hashes it.
        let abc: Vec<&[u8]> = vec![b"abc"; LANES];
        let want = [
            0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
            0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d,
        ];
        assert!(digest_all(&abc).iter().all(|d| *d == want));
    }
}
