//! A piece's bytes in memory, starting on a [`ALIGN`]-byte boundary so that
//! storage can hand it to the disk with direct I/O (no page-cache copy).
//! Safe code only: the buffer over-allocates and starts at the first aligned
//! byte inside it.

use std::ops::{Deref, DerefMut};

/// Alignment of the first byte: a multiple of every common logical block size.
pub const ALIGN: usize = 4096;

/// A fixed-length, aligned byte buffer.
pub struct PieceBuf {
    raw: Vec<u8>,
    start: usize,
    len: usize,
}

impl PieceBuf {
    /// `len` zero bytes (zeroed lazily by the allocator for large sizes).
    pub fn zeroed(len: usize) -> PieceBuf {
        let raw = vec![0u8; len + ALIGN];
        // `raw` is never grown, so its address (and this offset) stays put.
        let start = (ALIGN - raw.as_ptr().addr() % ALIGN) % ALIGN;
        PieceBuf { raw, start, len }
    }
}

impl Deref for PieceBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }
}

impl DerefMut for PieceBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.len]
    }
}

impl PartialEq for PieceBuf {
    fn eq(&self, other: &PieceBuf) -> bool {
        **self == **other
    }
}

impl Eq for PieceBuf {}

impl std::fmt::Debug for PieceBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PieceBuf({} bytes)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_aligned_and_holds_exactly_len_bytes() {
        for len in [0, 1, 16_384, 262_144, 262_144 + 7] {
            let mut b = PieceBuf::zeroed(len);
            assert_eq!(b.len(), len);
            assert_eq!(b.as_ptr().addr() % ALIGN, 0);
            assert!(b.iter().all(|&x| x == 0));
            b.fill(7);
            assert!(b.iter().all(|&x| x == 7));
        }
    }
}
