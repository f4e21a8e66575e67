//! Assembly of received blocks into their pieces: copied in, or read in
//! place through a slot lent for one read. Pure logic, like the rest of
//! the picker: no I/O.

use p2p_proto::wire::{BLOCK_LEN, BlockRef};

use super::{BlockState, Picker, Received};
use crate::engine::piecebuf::PieceBuf;

impl Picker {
    /// Stores a block's bytes. The caller has checked it against a request it sent.
    pub fn received(&mut self, key: u64, block: BlockRef, bytes: &[u8]) -> Received {
        if bytes.len() != block.length as usize {
            return Received::Unwanted;
        }
        self.store(key, block, Some(bytes))
    }

    /// A block whose bytes a peer's read already put into the slot that
    /// [`Picker::slots_mut`] gave for it. The caller has checked it against
    /// a request it sent.
    pub fn received_in_place(&mut self, key: u64, block: BlockRef) -> Received {
        self.store(key, block, None)
    }

    /// A place to read each of `blocks` into, straight from a socket, for
    /// the longest run of them that has one: blocks of started pieces,
    /// asked for and of one peer only (`Requested(1)`: no other peer may
    /// deliver it meanwhile) and not a web seed's, each once. A slot holds
    /// whatever the read put there until [`Picker::received_in_place`]
    /// says it is the block: a wrong guess leaves stray bytes only in
    /// blocks not yet received, which their delivery overwrites, so a
    /// received block is never touched.
    pub fn slots_mut<'a>(&'a mut self, blocks: &[BlockRef], out: &mut Vec<&'a mut [u8]>) {
        let mut run = 0;
        for b in blocks {
            let expected = self.block_ref(b.index, (b.begin / BLOCK_LEN) as usize);
            let fits = b.begin.is_multiple_of(BLOCK_LEN)
                && expected == *b
                && self.partial.get(&b.index).is_some_and(|p| {
                    p.web.is_none()
                        && p.blocks.get((b.begin / BLOCK_LEN) as usize)
                            == Some(&BlockState::Requested(1))
                });
            if !fits {
                break;
            }
            run += 1;
        }
        let blocks = &blocks[..run];
        for b in blocks {
            let size = self.piece_size(b.index) as usize;
            if let Some(p) = self.partial.get_mut(&b.index) {
                p.data
                    .get_or_insert_with(|| take_buffer(&mut self.spare, size));
            }
        }
        // Every piece's blocks as separate slices, so several pieces can
        // be lent at once.
        let mut pieces: Vec<(u32, Vec<Option<&'a mut [u8]>>)> = Vec::new();
        for (&index, p) in self.partial.iter_mut() {
            if let Some(data) = p.data.as_mut()
                && blocks.iter().any(|b| b.index == index)
            {
                let chunks = data.chunks_mut(BLOCK_LEN as usize).map(Some).collect();
                pieces.push((index, chunks));
            }
        }
        for b in blocks {
            let slot = pieces
                .iter_mut()
                .find(|(index, _)| *index == b.index)
                .and_then(|(_, chunks)| chunks.get_mut((b.begin / BLOCK_LEN) as usize))
                .and_then(Option::take);
            match slot {
                Some(slot) => out.push(slot),
                None => return,
            }
        }
    }

    /// Marks a block received, copying `bytes` into its piece (or taking
    /// it as already there when `None`).
    fn store(&mut self, key: u64, block: BlockRef, bytes: Option<&[u8]>) -> Received {
        let expected = self.block_ref(block.index, (block.begin / BLOCK_LEN) as usize);
        if !block.begin.is_multiple_of(BLOCK_LEN) || expected.length != block.length {
            return Received::Unwanted;
        }
        let size = self.piece_size(block.index) as usize;
        let Some(p) = self.partial.get_mut(&block.index) else {
            return Received::Unwanted;
        };
        let b = (block.begin / BLOCK_LEN) as usize;
        let duplicated = match p.blocks.get(b) {
            Some(BlockState::Requested(n)) => *n > 1,
            _ => return Received::Unwanted,
        };
        match bytes {
            Some(bytes) => {
                let data = p
                    .data
                    .get_or_insert_with(|| take_buffer(&mut self.spare, size));
                let start = block.begin as usize;
                data[start..start + bytes.len()].copy_from_slice(bytes);
            }
            // Read in place into a buffer that has since gone: not stored.
            None if p.data.is_none() => return Received::Unwanted,
            None => {}
        }
        p.blocks[b] = BlockState::Received;
        p.received += 1;
        if !p.contributors.contains(&key) {
            p.contributors.push(key);
        }
        if p.received < p.blocks.len() {
            return Received::Stored { duplicated };
        }
        let Some(whole) = self.partial.remove(&block.index) else {
            return Received::Unwanted;
        };
        let Some(data) = whole.data else {
            return Received::Unwanted;
        };
        Received::PieceComplete {
            index: block.index,
            data,
            duplicated,
            contributors: whole.contributors,
        }
    }
}

/// A buffer for a piece of `size` bytes: the last recycled one of that
/// size if any (the likeliest to be in the CPU's cache still; no zero-fill
/// needed: every byte is overwritten before the piece is whole), else a
/// new one.
fn take_buffer(spare: &mut Vec<PieceBuf>, size: usize) -> PieceBuf {
    match spare.iter().rposition(|b| b.len() == size) {
        Some(i) => spare.swap_remove(i),
        None => PieceBuf::zeroed(size),
    }
}
