//! Bytes owed to the peer's socket, in order. Small messages are encoded
//! into a buffer; block payloads stay in the piece cache and are referenced,
//! not copied; everything goes out in vectored writes. (Copying each block
//! into one send buffer cost the seeder about an eighth of its CPU.)

use std::collections::VecDeque;
use std::io::IoSlice;
use std::ops::Range;
use std::sync::Arc;

use p2p_proto::wire::Message;

/// Most slices handed to one vectored write.
pub(crate) const MAX_SLICES: usize = 64;

#[derive(Debug)]
enum Chunk {
    Owned(Vec<u8>),
    Shared(Arc<Vec<u8>>, Range<usize>),
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Owned(v) => v,
            Chunk::Shared(piece, range) => &piece[range.clone()],
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    chunks: VecDeque<Chunk>,
    /// Bytes of the front chunk already written.
    front_written: usize,
    /// Messages encoded after the last chunk.
    tail: Vec<u8>,
    /// Tail bytes already written (once every chunk is out).
    tail_written: usize,
    pending: usize,
}

impl Outbox {
    /// Bytes not yet written.
    pub fn pending(&self) -> usize {
        self.pending
    }

    pub fn is_empty(&self) -> bool {
        self.pending == 0
    }

    pub fn push(&mut self, msg: &Message<'_>) {
        let before = self.tail.len();
        msg.encode(&mut self.tail);
        self.pending += self.tail.len() - before;
    }

    /// Queues a message header (`encode_header` appends it) followed by
    /// `range` of `piece`, without copying the payload.
    pub fn push_shared(
        &mut self,
        encode_header: impl FnOnce(&mut Vec<u8>),
        piece: Arc<Vec<u8>>,
        range: Range<usize>,
    ) {
        let before = self.tail.len();
        encode_header(&mut self.tail);
        self.pending += self.tail.len() - before + range.len();
        let tail = std::mem::take(&mut self.tail);
        if self.tail_written > 0 {
            // Only reachable when no chunk is queued: the written part of
            // the tail is gone already.
            self.chunks
                .push_back(Chunk::Owned(tail[self.tail_written..].to_vec()));
            self.tail_written = 0;
        } else {
            self.chunks.push_back(Chunk::Owned(tail));
        }
        self.chunks.push_back(Chunk::Shared(piece, range));
    }

    /// Fills `out` with the next bytes to write; returns how many slices.
    pub fn slices<'a>(&'a self, out: &mut [IoSlice<'a>; MAX_SLICES]) -> usize {
        let mut n = 0;
        for (i, c) in self.chunks.iter().enumerate() {
            if n == MAX_SLICES {
                return n;
            }
            let bytes = c.bytes();
            let bytes = if i == 0 {
                &bytes[self.front_written..]
            } else {
                bytes
            };
            if !bytes.is_empty() {
                out[n] = IoSlice::new(bytes);
                n += 1;
            }
        }
        if n < MAX_SLICES && self.tail.len() > self.tail_written {
            out[n] = IoSlice::new(&self.tail[self.tail_written..]);
            n += 1;
        }
        n
    }

    /// `n` bytes were written.
    pub fn consumed(&mut self, mut n: usize) {
        self.pending -= n;
        while n > 0 {
            let Some(front) = self.chunks.front() else {
                self.tail_written += n;
                break;
            };
            let left = front.bytes().len() - self.front_written;
            if n < left {
                self.front_written += n;
                return;
            }
            n -= left;
            self.chunks.pop_front();
            self.front_written = 0;
        }
        if self.pending == 0 {
            self.tail.clear();
            self.tail_written = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(o: &mut Outbox, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while !o.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let n = o.slices(&mut slices);
            let mut took = 0;
            for s in &slices[..n] {
                let k = s.len().min(step - took);
                out.extend_from_slice(&s[..k]);
                took += k;
                if took == step {
                    break;
                }
            }
            o.consumed(took);
        }
        out
    }

    #[test]
    fn bytes_come_out_in_order_whatever_the_write_sizes() {
        let piece = Arc::new((0..=255u8).cycle().take(1000).collect::<Vec<u8>>());
        for step in [1, 3, 7, 100, 5000] {
            let mut o = Outbox::default();
            let mut want = Vec::new();
            o.push(&Message::Interested);
            Message::Interested.encode(&mut want);
            o.push_shared(|b| b.extend_from_slice(b"HDR"), piece.clone(), 10..500);
            want.extend_from_slice(b"HDR");
            want.extend_from_slice(&piece[10..500]);
            o.push(&Message::Have(7));
            Message::Have(7).encode(&mut want);
            assert_eq!(o.pending(), want.len());
            // Half-written tail, then a shared block behind it.
            let mut got = Vec::new();
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let n = o.slices(&mut slices);
            let first: Vec<u8> = slices[..n].iter().flat_map(|s| s.to_vec()).collect();
            got.extend_from_slice(&first[..first.len().min(step)]);
            o.consumed(first.len().min(step));
            o.push_shared(|b| b.extend_from_slice(b"H2"), piece.clone(), 0..3);
            want.extend_from_slice(b"H2");
            want.extend_from_slice(&piece[0..3]);
            got.extend(drain(&mut o, step));
            assert_eq!(got, want, "step {step}");
            assert_eq!(o.pending(), 0);
        }
    }
}
