//! Serving a peer's requests: a queue of requested blocks and a small cache
//! of whole pieces, filled by blocking reads off the async workers, so one
//! disk read serves every block of a piece. The next pieces the queue needs
//! (up to [`READ_AHEAD`] bytes, in one blocking task) are read while the
//! current ones are being sent, so the socket never waits for the disk
//! between pieces and a fast peer costs one thread hand-off per batch.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use p2p_proto::wire::{BlockRef, Message, encode_piece_header};
use tokio::task::{JoinError, JoinHandle};

use super::{Conn, MAX_QUEUED_REQUESTS, PeerError, WRITE_HIGH_WATER};

type Loaded = io::Result<Vec<(u32, Vec<u8>)>>;
type Load = JoinHandle<Loaded>;

/// Most bytes of requested pieces read in one go (at least one piece).
const READ_AHEAD: u64 = 1 << 20;
/// Most bytes of pieces kept in memory per peer (at least two pieces).
const CACHE_BYTES: u64 = 2 << 20;

/// Requests to serve and the pieces read for them.
#[derive(Debug, Default)]
pub(crate) struct Uploader {
    queue: VecDeque<BlockRef>,
    cache: VecDeque<(u32, Arc<Vec<u8>>)>,
    loading: Option<Load>,
    /// Evicted cache buffers, reused so a new piece is read into memory
    /// that is already allocated and initialised (no zero-fill per piece).
    spare: Vec<Vec<u8>>,
}

impl Uploader {
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// Resolves when the pieces being read are in memory (cancel-safe).
    pub async fn loaded(&mut self) -> Result<Loaded, JoinError> {
        match self.loading.as_mut() {
            Some(handle) => handle.await,
            None => std::future::pending().await,
        }
    }

    pub fn finish_load(
        &mut self,
        r: Result<Loaded, JoinError>,
        piece_length: u64,
    ) -> Result<(), PeerError> {
        self.loading = None;
        let pieces = r.map_err(io::Error::other)??;
        let keep = (CACHE_BYTES / piece_length.max(1)).max(2) as usize;
        for (index, data) in pieces {
            self.cache.push_back((index, Arc::new(data)));
        }
        while self.cache.len() > keep {
            if let Some((_, old)) = self.cache.pop_front()
                && let Ok(buf) = Arc::try_unwrap(old)
                && self.spare.len() < keep
            {
                self.spare.push(buf);
            }
        }
        Ok(())
    }

    fn cached(&self, index: u32) -> Option<Arc<Vec<u8>>> {
        self.cache
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, d)| d.clone())
    }

    /// The next queued pieces that are neither cached nor being read, in
    /// queue order, at most `max`.
    fn next_to_load(&self, max: usize) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        for i in self.queue.iter().map(|b| b.index) {
            if out.len() == max {
                break;
            }
            if !out.contains(&i) && !self.cache.iter().any(|(c, _)| *c == i) {
                out.push(i);
            }
        }
        out
    }

    /// Queues a request; false when the queue is full.
    pub fn push(&mut self, b: BlockRef) -> bool {
        if self.queue.len() >= MAX_QUEUED_REQUESTS {
            return false;
        }
        if !self.queue.contains(&b) {
            self.queue.push_back(b);
        }
        true
    }

    pub fn remove(&mut self, b: BlockRef) {
        self.queue.retain(|q| *q != b);
    }

    /// Drops every queued request (we choked the peer); returns them.
    pub fn clear_queue(&mut self) -> Vec<BlockRef> {
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
            let Some(data) = self.upload.cached(b.index) else {
                self.prefetch();
                return;
            };
            self.upload.queue.pop_front();
            let range = b.begin as usize..b.begin as usize + b.length as usize;
            if data.get(range.clone()).is_none() {
                continue;
            }
            self.shared.throttle_upload(u64::from(b.length)).await;
            self.outbox.push_shared(
                |buf| encode_piece_header(b.index, b.begin, b.length, buf),
                data,
                range,
            );
            self.stats
                .uploaded
                .fetch_add(u64::from(b.length), Ordering::Relaxed);
            self.shared.count_upload(u64::from(b.length));
        }
        self.prefetch();
    }

    /// Starts reading the next pieces the queue will need, if none are being read.
    fn prefetch(&mut self) {
        if self.upload.is_loading() {
            return;
        }
        let piece_length = self.shared.meta.info.piece_length.max(1);
        let indexes = self
            .upload
            .next_to_load((READ_AHEAD / piece_length).max(1) as usize);
        if indexes.is_empty() {
            return;
        }
        let storage = self.shared.storage.clone();
        let spare_count = self.upload.spare.len();
        let mut spare = self
            .upload
            .spare
            .split_off(spare_count.saturating_sub(indexes.len()));
        let load = tokio::task::spawn_blocking(move || {
            indexes
                .into_iter()
                .map(|index| {
                    let (offset, len) = storage.piece_span(index);
                    let mut buf = spare.pop().unwrap_or_default();
                    buf.resize(len, 0);
                    storage.read(offset, &mut buf)?;
                    Ok((index, buf))
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
