//! The 160-bit DHT node id and the XOR metric (BEP 5).

use std::fmt;

/// Bytes in a node id or info-hash.
pub const ID_LEN: usize = 20;

/// A node id, or any 160-bit key in the same space (an info-hash or a lookup target).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub [u8; ID_LEN]);

impl NodeId {
    /// XOR distance to `other`, comparable as a big-endian number.
    pub fn distance(&self, other: &NodeId) -> [u8; ID_LEN] {
        let mut d = [0u8; ID_LEN];
        for (i, b) in d.iter_mut().enumerate() {
            *b = self.0[i] ^ other.0[i];
        }
        d
    }

    /// How many leading bits `self` and `other` share (160 when equal).
    pub fn common_prefix_bits(&self, other: &NodeId) -> usize {
        for (i, (a, b)) in self.0.iter().zip(other.0.iter()).enumerate() {
            let x = a ^ b;
            if x != 0 {
                return i * 8 + x.leading_zeros() as usize;
            }
        }
        ID_LEN * 8
    }

    /// The id from a byte slice, if it is exactly 20 bytes long.
    pub fn from_slice(b: &[u8]) -> Option<NodeId> {
        <[u8; ID_LEN]>::try_from(b).ok().map(NodeId)
    }

    /// The bit at `index` (0 is the most significant bit of the first byte).
    pub fn bit(&self, index: usize) -> bool {
        self.0[index / 8] & (0x80 >> (index % 8)) != 0
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_counts_leading_equal_bits() {
        let a = NodeId([0; 20]);
        let mut b = a;
        b.0[1] = 0b0010_0000;
        assert_eq!(a.common_prefix_bits(&b), 10);
        assert_eq!(a.common_prefix_bits(&a), 160);
        assert!(b.bit(10));
        assert!(!b.bit(9));
    }

    #[test]
    fn distance_is_xor() {
        let a = NodeId([0xff; 20]);
        let b = NodeId([0x0f; 20]);
        assert_eq!(a.distance(&b), [0xf0; 20]);
    }
}
