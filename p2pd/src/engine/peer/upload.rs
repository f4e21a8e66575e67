//! Serving a peer's requests: a queue of requested blocks and a small cache
//! of spans read for them, filled by blocking reads off the async workers.
//! A span is the [`SPAN`]-aligned window of a piece around a requested
//! block, never a whole piece, so what is read and kept is in proportion to
//! what was asked (a 16 KiB request costs at most one window, whatever the
//! piece length). The next spans the queue needs (up to [`READ_AHEAD`]
//! bytes, in one blocking task) are read while the current ones are being
//! sent, so the socket never waits for the disk between spans.
//!
//! Memory: per peer at most [`CACHE_BYTES`] of spans plus one read-ahead
//! (a block waiting in the write buffer holds its span only while the
//! next request reads the same span; else it is copied);
//! across peers every span held counts against [`ALL_PEERS_CACHE_BYTES`],
//! past which a peer reads just the blocks it serves next.

use std::collections::{HashSet, VecDeque};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use p2p_proto::wire::{BlockRef, Message, encode_piece_header};
use tokio::task::{JoinError, JoinHandle};

use super::{Conn, MAX_QUEUED_REQUESTS, PeerError, WRITE_HIGH_WATER};

/// One read: (piece, offset in the piece, bytes).
type Span = (u32, u32, Vec<u8>);
type Loaded = io::Result<Vec<Span>>;
type Load = JoinHandle<Loaded>;

/// Read unit: the aligned window of a piece that holds a requested block.
const SPAN: u32 = 256 * 1024;
/// Most bytes read in one go (at least one span).
const READ_AHEAD: u64 = 1 << 20;
/// Most bytes of spans kept in memory per peer (at least two spans).
const CACHE_BYTES: u64 = 2 << 20;
/// Most bytes of spans held by all peers of the engine together.
pub(crate) const ALL_PEERS_CACHE_BYTES: u64 = 128 << 20;
/// Spare buffers kept for reuse per peer.
const SPARES: usize = 4;
/// Queued requests looked at for the next spans to read: well past
/// [`READ_AHEAD`], and a deep queue costs no more per look than a short one.
const LOOKAHEAD_REQUESTS: usize = 256;

/// Requests to serve and the spans read for them.
#[derive(Debug)]
pub(crate) struct Uploader {
    queue: VecDeque<BlockRef>,
    /// The blocks in `queue`: a request asked twice is queued once, in
    /// constant time however deep the peer's queue.
    queued: HashSet<BlockRef>,
    cache: VecDeque<(u32, u32, Arc<Vec<u8>>)>,
    loading: Option<Load>,
    /// Evicted buffers, reused so a new span is read into memory that is
    /// already allocated and initialised (no zero-fill per span).
    spare: Vec<Vec<u8>>,
    /// Bytes of the engine's upload memory this peer holds (cache, the
    /// read in progress, spares), counted in `all_peers`.
    charged: u64,
    all_peers: Arc<AtomicU64>,
}

impl Drop for Uploader {
    fn drop(&mut self) {
        self.all_peers.fetch_sub(self.charged, Ordering::Relaxed);
    }
}

/// The span to read for block `b` of a piece of `piece_size` bytes: the
/// aligned window around its start, stretched to its end.
fn span_of(b: BlockRef, piece_size: u64) -> (u32, usize) {
    let start = b.begin - b.begin % SPAN;
    let end = (u64::from(start) + u64::from(SPAN))
        .max(u64::from(b.begin) + u64::from(b.length))
        .min(piece_size);
    (start, (end - u64::from(start)) as usize)
}

impl Uploader {
    pub fn new(all_peers: Arc<AtomicU64>) -> Uploader {
        Uploader {
            queue: VecDeque::new(),
            queued: HashSet::new(),
            cache: VecDeque::new(),
            loading: None,
            spare: Vec::new(),
            charged: 0,
            all_peers,
        }
    }

    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// Resolves when the spans being read are in memory (cancel-safe).
    pub async fn loaded(&mut self) -> Result<Loaded, JoinError> {
        match self.loading.as_mut() {
            Some(handle) => handle.await,
            None => std::future::pending().await,
        }
    }

    fn charge(&mut self, bytes: u64) {
        self.charged += bytes;
        self.all_peers.fetch_add(bytes, Ordering::Relaxed);
    }

    fn release(&mut self, bytes: u64) {
        let bytes = bytes.min(self.charged);
        self.charged -= bytes;
        self.all_peers.fetch_sub(bytes, Ordering::Relaxed);
    }

    fn held(&self) -> u64 {
        self.cache
            .iter()
            .map(|(_, _, d)| d.len() as u64)
            .sum::<u64>()
            + self.spare.iter().map(|s| s.capacity() as u64).sum::<u64>()
    }

    pub fn finish_load(&mut self, r: Result<Loaded, JoinError>) -> Result<(), PeerError> {
        self.loading = None;
        let spans = match r.map_err(io::Error::other).and_then(|r| r) {
            Ok(spans) => spans,
            Err(e) => {
                self.settle_charge();
                return Err(e.into());
            }
        };
        for (index, start, data) in spans {
            self.cache.push_back((index, start, Arc::new(data)));
        }
        // Spans no coming request reads go first, then the oldest.
        let needed: Vec<bool> = (0..self.cache.len()).map(|i| self.needed(i)).collect();
        let mut keep = needed.iter();
        let mut dead = Vec::new();
        self.cache.retain(|entry| {
            let live = keep.next().copied().unwrap_or(true);
            if !live {
                dead.push(entry.2.clone());
            }
            live
        });
        let mut cached: u64 = self.cache.iter().map(|(_, _, d)| d.len() as u64).sum();
        while cached > CACHE_BYTES && self.cache.len() > 2 {
            if let Some((_, _, old)) = self.cache.pop_front() {
                cached -= old.len() as u64;
                dead.push(old);
            }
        }
        for old in dead {
            if let Ok(buf) = Arc::try_unwrap(old)
                && self.spare.len() < SPARES
            {
                self.spare.push(buf);
            }
        }
        self.settle_charge();
        Ok(())
    }

    /// Whether one of the next queued requests reads cached span `i`.
    fn needed(&self, i: usize) -> bool {
        let (index, start, ref d) = self.cache[i];
        let end = start as usize + d.len();
        self.queue
            .iter()
            .take(LOOKAHEAD_REQUESTS)
            .any(|b| b.index == index && start <= b.begin && (b.begin + b.length) as usize <= end)
    }

    /// Room for more spans without evicting one a coming request reads.
    fn room(&self) -> u64 {
        let needed: u64 = (0..self.cache.len())
            .filter(|&i| self.needed(i))
            .map(|i| self.cache[i].2.len() as u64)
            .sum();
        CACHE_BYTES.saturating_sub(needed)
    }

    /// Makes the charge match what is held now (nothing is being read).
    fn settle_charge(&mut self) {
        let held = self.held();
        if held > self.charged {
            self.charge(held - self.charged);
        } else {
            self.release(self.charged - held);
        }
    }

    /// The cached span holding block `b`, and where the block starts in it.
    fn cached(&self, b: BlockRef) -> Option<(Arc<Vec<u8>>, usize)> {
        self.cache.iter().find_map(|(i, start, d)| {
            let at = b.begin.checked_sub(*start)? as usize;
            (*i == b.index && at + b.length as usize <= d.len()).then(|| (d.clone(), at))
        })
    }

    /// The spans the queue needs next that are neither cached nor among
    /// themselves, in queue order, up to `budget` bytes (at least one).
    fn next_to_load(&self, piece_size: impl Fn(u32) -> u64, budget: u64) -> Vec<(u32, u32, usize)> {
        let mut out: Vec<(u32, u32, usize)> = Vec::new();
        let mut bytes = 0u64;
        for b in self.queue.iter().take(LOOKAHEAD_REQUESTS) {
            let covered = |(i, s, len): &(u32, u32, usize)| {
                *i == b.index && *s <= b.begin && (b.begin + b.length) as usize <= *s as usize + len
            };
            if self.cached(*b).is_some() || out.iter().any(covered) {
                continue;
            }
            let (start, len) = span_of(*b, piece_size(b.index));
            if !out.is_empty() && bytes + len as u64 > budget {
                break;
            }
            bytes += len as u64;
            out.push((b.index, start, len));
        }
        out
    }

    /// Queues a request; false when the queue is full.
    pub fn push(&mut self, b: BlockRef) -> bool {
        if self.queue.len() >= MAX_QUEUED_REQUESTS {
            return false;
        }
        if self.queued.insert(b) {
            self.queue.push_back(b);
        }
        true
    }

    pub fn remove(&mut self, b: BlockRef) {
        if self.queued.remove(&b) {
            self.queue.retain(|q| *q != b);
        }
    }

    /// The next block to serve, taken off the queue.
    fn pop(&mut self) -> Option<BlockRef> {
        let b = self.queue.pop_front()?;
        self.queued.remove(&b);
        Some(b)
    }

    /// Drops every queued request (we choked the peer); returns them.
    pub fn clear_queue(&mut self) -> Vec<BlockRef> {
        self.queued.clear();
        self.queue.drain(..).collect()
    }
}

impl Conn {
    /// Moves queued blocks into the write buffer while it has room.
    pub(super) async fn serve_requests(&mut self) {
        while !self.am_choking && self.outbox.pending() < WRITE_HIGH_WATER {
            let Some(&b) = self.upload.queue.front() else {
                return;
            };
            let Some((data, at)) = self.upload.cached(b) else {
                self.prefetch();
                return;
            };
            self.upload.pop();
            let range = at..at + b.length as usize;
            self.shared.throttle_upload(u64::from(b.length)).await;
            // A block queued by reference keeps its whole span alive until
            // it is written: only while the next request reads the same
            // span. Otherwise it is copied, so blocks spread over many
            // spans cost the write buffer their own bytes, not a span each.
            let next = self.upload.queue.front().copied();
            let span_goes_on = next.is_some_and(|n| {
                self.upload
                    .cached(n)
                    .is_some_and(|(d, _)| Arc::ptr_eq(&d, &data))
            });
            if span_goes_on {
                self.outbox.push_shared(
                    |buf| encode_piece_header(b.index, b.begin, b.length, buf),
                    data,
                    range,
                );
            } else {
                self.outbox.push(&Message::Piece {
                    index: b.index,
                    begin: b.begin,
                    data: &data[range],
                });
            }
            self.stats
                .uploaded
                .fetch_add(u64::from(b.length), Ordering::Relaxed);
            self.shared.count_upload(u64::from(b.length));
        }
        self.prefetch();
    }

    /// Starts reading the next spans the queue will need, if none are
    /// being read and there is room for them: a peer that reads slower than
    /// we read (its socket full) must not make us read, evict and read
    /// again the spans it has yet to get.
    fn prefetch(&mut self) {
        if self.upload.is_loading() {
            return;
        }
        let front_ready = self
            .upload
            .queue
            .front()
            .is_some_and(|b| self.upload.cached(*b).is_some());
        let room = self.upload.room();
        if front_ready && room < u64::from(SPAN) {
            return;
        }
        let meta = self.shared.meta.clone();
        let piece_size = |i: u32| meta.piece_size(i as usize).unwrap_or(0);
        let all = self.upload.all_peers.load(Ordering::Relaxed);
        let spans = if all + READ_AHEAD <= ALL_PEERS_CACHE_BYTES {
            self.upload.next_to_load(piece_size, READ_AHEAD.min(room))
        } else {
            // Every peer's cache together is at its bound: read just the
            // next block, and give back the spare buffers.
            for s in std::mem::take(&mut self.upload.spare) {
                self.upload.release(s.capacity() as u64);
            }
            let next = self.upload.queue.front().copied();
            next.filter(|b| self.upload.cached(*b).is_none())
                .map(|b| vec![(b.index, b.begin, b.length as usize)])
                .unwrap_or_default()
        };
        if spans.is_empty() {
            return;
        }
        let bytes: u64 = spans.iter().map(|s| s.2 as u64).sum();
        self.upload.charge(bytes);
        let storage = self.shared.storage.clone();
        let mut spare = std::mem::take(&mut self.upload.spare);
        let load = tokio::task::spawn_blocking(move || {
            spans
                .into_iter()
                .map(|(index, start, len)| {
                    let (offset, _) = storage.piece_span(index);
                    let mut buf = spare.pop().unwrap_or_default();
                    buf.resize(len, 0);
                    storage.read(offset + u64::from(start), &mut buf)?;
                    Ok((index, start, buf))
                })
                .collect()
        });
        self.upload.loading = Some(load);
    }

    /// A request from the peer: checked, then queued or refused.
    pub(super) fn on_request(&mut self, b: BlockRef) -> Result<(), PeerError> {
        let size = self.shared.meta.piece_size(b.index as usize);
        let valid = size.is_some_and(|s| {
            b.length > 0
                && b.length <= p2p_proto::wire::MAX_REQUEST_LEN
                && u64::from(b.begin) + u64::from(b.length) <= s
        });
        if !valid {
            return Err(PeerError::Violation(format!("bad request {b:?}")));
        }
        let have = self.shared.lock().picker.have().get(b.index as usize);
        if (self.am_choking || !have || !self.upload.push(b)) && self.fast {
            self.send(&Message::Reject(b));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(index: u32, begin: u32) -> BlockRef {
        BlockRef {
            index,
            begin,
            length: 16 * 1024,
        }
    }

    #[test]
    fn a_block_in_a_huge_piece_reads_one_window_not_the_piece() {
        assert_eq!(
            span_of(block(0, 40 << 20), 64 << 20),
            (40 << 20, SPAN as usize)
        );
        // A block across a window boundary stretches the window to its end.
        let b = BlockRef {
            index: 0,
            begin: SPAN - 1024,
            length: 128 * 1024,
        };
        assert_eq!(span_of(b, 64 << 20), (0, (SPAN + 127 * 1024) as usize));
        // A short piece is read no further than its end.
        assert_eq!(span_of(block(3, 0), 20_000), (0, 20_000));
    }

    #[test]
    fn spread_requests_plan_one_window_each_up_to_the_read_ahead() {
        let mut u = Uploader::new(Arc::default());
        for i in 0..30 {
            assert!(u.push(block(i, (i % 4) * (16 << 20))));
        }
        // Two blocks of one window need one read.
        assert!(u.push(block(0, 16 * 1024)));
        let plan = u.next_to_load(|_| 64 << 20, READ_AHEAD);
        assert_eq!(plan.len(), (READ_AHEAD / u64::from(SPAN)) as usize);
        assert!(plan.iter().all(|&(_, _, len)| len == SPAN as usize));
        assert_eq!(plan[0], (0, 0, SPAN as usize));
        assert_eq!(plan[1], (1, 16 << 20, SPAN as usize));
    }
}
