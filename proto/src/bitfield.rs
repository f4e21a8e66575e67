//! Which pieces a peer has: one bit per piece, high bit first, as the BEP 3
//! `bitfield` message carries it (<https://www.bittorrent.org/beps/bep_0003.html>).
//!
//! Not here: choosing pieces or anything else that knows about peers.

use std::fmt;

/// A fixed-length set of piece indices, stored in BEP 3 wire order: piece 0
/// is the high bit of byte 0. Spare bits in the last byte are always zero.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitfield {
    bytes: Vec<u8>,
    len: usize,
    ones: usize,
}

/// Why bytes from a peer (or a resume file) are not a bitfield for this torrent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BitfieldError {
    /// The byte count does not match the number of pieces.
    #[error("bitfield of {got} bytes for {pieces} pieces: expected {expected} bytes")]
    WrongLength {
        /// Bytes received.
        got: usize,
        /// Bytes needed for `pieces` bits.
        expected: usize,
        /// Number of pieces in the torrent.
        pieces: usize,
    },
    /// Bits past the last piece are set (BEP 3 says clients should drop the connection).
    #[error("bitfield for {pieces} pieces has spare bits set in its last byte (0x{last_byte:02x})")]
    SpareBitsSet {
        /// Number of pieces in the torrent.
        pieces: usize,
        /// The offending last byte.
        last_byte: u8,
    },
}

impl Bitfield {
    /// `len` pieces, none of them set.
    pub fn new(len: usize) -> Self {
        Bitfield {
            bytes: vec![0; len.div_ceil(8)],
            len,
            ones: 0,
        }
    }

    /// `len` pieces, all of them set.
    pub fn full(len: usize) -> Self {
        let mut bytes = vec![0xff; len.div_ceil(8)];
        if let Some(last) = bytes.last_mut() {
            *last &= last_byte_mask(len);
        }
        Bitfield {
            bytes,
            len,
            ones: len,
        }
    }

    /// Reads a wire-format bitfield for `len` pieces. The byte count must be
    /// exactly `ceil(len / 8)` and the spare bits must be zero.
    pub fn from_bytes(bytes: &[u8], len: usize) -> Result<Self, BitfieldError> {
        let expected = len.div_ceil(8);
        if bytes.len() != expected {
            return Err(BitfieldError::WrongLength {
                got: bytes.len(),
                expected,
                pieces: len,
            });
        }
        if let Some(&last) = bytes.last()
            && last & !last_byte_mask(len) != 0
        {
            return Err(BitfieldError::SpareBitsSet {
                pieces: len,
                last_byte: last,
            });
        }
        let ones = bytes.iter().map(|b| b.count_ones() as usize).sum();
        Ok(Bitfield {
            bytes: bytes.to_vec(),
            len,
            ones,
        })
    }

    /// The wire form, `ceil(len / 8)` bytes with zero spare bits.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of pieces (bits), not bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a bitfield of zero pieces.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether piece `i` is set; `false` when `i` is out of range.
    pub fn get(&self, i: usize) -> bool {
        i < self.len && self.bytes[i / 8] & bit(i) != 0
    }

    /// Sets or clears piece `i`; does nothing when `i` is out of range.
    pub fn set(&mut self, i: usize, v: bool) {
        if i >= self.len {
            return;
        }
        let byte = &mut self.bytes[i / 8];
        let was = *byte & bit(i) != 0;
        match (was, v) {
            (false, true) => {
                *byte |= bit(i);
                self.ones += 1;
            }
            (true, false) => {
                *byte &= !bit(i);
                self.ones -= 1;
            }
            _ => {}
        }
    }

    /// Number of set pieces, kept as a counter so this is O(1).
    pub fn count_ones(&self) -> usize {
        self.ones
    }

    /// True when every piece is set (also for zero pieces).
    pub fn all(&self) -> bool {
        self.ones == self.len
    }

    /// True when no piece is set.
    pub fn none(&self) -> bool {
        self.ones == 0
    }

    /// Indices of set pieces, ascending. Skips whole zero bytes.
    pub fn iter_ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.bytes
            .iter()
            .enumerate()
            .flat_map(|(n, &b)| bits_of(b, n * 8))
    }

    /// Indices of clear pieces, ascending. Skips whole full bytes.
    pub fn iter_zeros(&self) -> impl Iterator<Item = usize> + '_ {
        let len = self.len;
        self.bytes
            .iter()
            .enumerate()
            .flat_map(|(n, &b)| bits_of(!b, n * 8))
            .take_while(move |&i| i < len)
    }
}

impl fmt::Debug for Bitfield {
    /// `Bitfield(12/100)`: set pieces over all pieces, not the bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bitfield({}/{})", self.ones, self.len)
    }
}

/// The mask of bit `i` within its byte (high bit first).
fn bit(i: usize) -> u8 {
    0x80 >> (i % 8)
}

/// The bits of the last byte that belong to pieces (the rest are spare).
fn last_byte_mask(len: usize) -> u8 {
    match len % 8 {
        0 => 0xff,
        r => !(0xff >> r),
    }
}

/// Indices of the set bits of `byte`, which holds pieces `base..base + 8`.
fn bits_of(byte: u8, base: usize) -> impl Iterator<Item = usize> {
    let mut rest = byte;
    std::iter::from_fn(move || {
        if rest == 0 {
            return None;
        }
        let offset = rest.leading_zeros() as usize;
        rest &= !(0x80 >> offset);
        Some(base + offset)
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_new_bitfield_has_no_pieces_and_the_right_byte_length() {
        let b = Bitfield::new(10);
        assert_eq!(b.len(), 10);
        assert_eq!(b.as_bytes(), &[0, 0]);
        assert!(b.none());
        assert!(!b.all());
        assert_eq!(b.count_ones(), 0);
    }

    #[test]
    fn a_full_bitfield_has_every_piece_and_zero_spare_bits() {
        let b = Bitfield::full(10);
        assert_eq!(b.as_bytes(), &[0xff, 0xc0]);
        assert!(b.all());
        assert_eq!(b.count_ones(), 10);
        assert_eq!(Bitfield::full(16).as_bytes(), &[0xff, 0xff]);
    }

    #[test]
    fn an_empty_bitfield_is_both_all_and_none() {
        let b = Bitfield::new(0);
        assert!(b.is_empty());
        assert!(b.all());
        assert!(b.none());
        assert_eq!(Bitfield::full(0), b);
        assert_eq!(Bitfield::from_bytes(&[], 0), Ok(b));
    }

    #[test]
    fn piece_zero_is_the_high_bit_of_the_first_byte() {
        let mut b = Bitfield::new(9);
        b.set(0, true);
        b.set(8, true);
        assert_eq!(b.as_bytes(), &[0x80, 0x80]);
    }

    #[test]
    fn out_of_range_get_is_false_and_set_is_ignored() {
        let mut b = Bitfield::new(3);
        b.set(3, true);
        b.set(100, true);
        assert!(!b.get(3));
        assert!(!b.get(usize::MAX));
        assert_eq!(b.as_bytes(), &[0]);
        assert_eq!(b.count_ones(), 0);
    }

    #[test]
    fn setting_twice_counts_once_and_clearing_twice_uncounts_once() {
        let mut b = Bitfield::new(5);
        b.set(2, true);
        b.set(2, true);
        assert_eq!(b.count_ones(), 1);
        b.set(2, false);
        b.set(2, false);
        assert_eq!(b.count_ones(), 0);
        assert!(b.none());
    }

    #[test]
    fn from_bytes_with_the_wrong_byte_count_names_both_lengths() {
        let err = Bitfield::from_bytes(&[0, 0, 0], 10).unwrap_err();
        assert_eq!(
            err,
            BitfieldError::WrongLength {
                got: 3,
                expected: 2,
                pieces: 10
            }
        );
        assert!(err.to_string().contains("3 bytes"), "{err}");
        assert!(Bitfield::from_bytes(&[0xff], 10).is_err());
    }

    #[test]
    fn from_bytes_with_spare_bits_set_is_refused() {
        let err = Bitfield::from_bytes(&[0xff, 0xe0], 10).unwrap_err();
        assert_eq!(
            err,
            BitfieldError::SpareBitsSet {
                pieces: 10,
                last_byte: 0xe0
            }
        );
        assert!(Bitfield::from_bytes(&[0xff, 0xc0], 10).is_ok());
        assert!(Bitfield::from_bytes(&[0x01], 7).is_err());
    }

    #[test]
    fn from_bytes_counts_the_set_pieces() {
        let b = Bitfield::from_bytes(&[0b1010_0000, 0x80], 9).unwrap();
        assert_eq!(b.count_ones(), 3);
        assert_eq!(b.iter_ones().collect::<Vec<_>>(), vec![0, 2, 8]);
    }

    #[test]
    fn iter_ones_and_iter_zeros_partition_the_pieces_in_order() {
        let mut b = Bitfield::new(11);
        for i in [0, 3, 7, 8, 10] {
            b.set(i, true);
        }
        assert_eq!(b.iter_ones().collect::<Vec<_>>(), vec![0, 3, 7, 8, 10]);
        assert_eq!(b.iter_zeros().collect::<Vec<_>>(), vec![1, 2, 4, 5, 6, 9]);
    }

    #[test]
    fn iter_zeros_stops_before_the_spare_bits() {
        assert_eq!(
            Bitfield::new(3).iter_zeros().collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(Bitfield::full(3).iter_zeros().count(), 0);
    }

    #[test]
    fn debug_shows_the_count_not_the_bytes() {
        let mut b = Bitfield::new(100);
        for i in 0..12 {
            b.set(i * 3, true);
        }
        assert_eq!(format!("{b:?}"), "Bitfield(12/100)");
    }

    proptest! {
        #[test]
        fn count_ones_matches_the_bits_after_any_sets_and_clears(
            len in 0usize..200,
            ops in proptest::collection::vec((0usize..220, any::<bool>()), 0..300),
        ) {
            let mut b = Bitfield::new(len);
            let mut model = vec![false; len];
            for (i, v) in ops {
                b.set(i, v);
                if i < len {
                    model[i] = v;
                }
            }
            let ones: Vec<usize> = (0..len).filter(|&i| model[i]).collect();
            let zeros: Vec<usize> = (0..len).filter(|&i| !model[i]).collect();
            prop_assert_eq!(b.count_ones(), ones.len());
            prop_assert_eq!(b.iter_ones().collect::<Vec<_>>(), ones);
            prop_assert_eq!(b.iter_zeros().collect::<Vec<_>>(), zeros);
            prop_assert_eq!(b.all(), model.iter().all(|&x| x));
            prop_assert_eq!(b.none(), !model.iter().any(|&x| x));
            let again = Bitfield::from_bytes(b.as_bytes(), len);
            prop_assert_eq!(again, Ok(b));
        }

        #[test]
        fn from_bytes_never_panics_and_accepts_only_canonical_input(
            bytes in proptest::collection::vec(any::<u8>(), 0..8),
            len in 0usize..70,
        ) {
            if let Ok(b) = Bitfield::from_bytes(&bytes, len) {
                prop_assert_eq!(b.as_bytes(), &bytes[..]);
                prop_assert_eq!(b.count_ones(), b.iter_ones().count());
                prop_assert!(b.iter_ones().all(|i| i < len));
            }
        }
    }
}
