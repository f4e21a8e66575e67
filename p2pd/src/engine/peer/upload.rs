//! Serving a peer's requests: a queue of requested blocks and a small cache
//! of whole pieces, filled by blocking reads off the async workers, so one
//! disk read serves every block of a piece. The next piece the queue needs
//! is read while the current one is being sent, so the socket never waits
//! for the disk between pieces.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use p2p_proto::wire::{BlockRef, Message, encode_piece_header};
use tokio::task::{JoinError, JoinHandle};

use super::{Conn, MAX_QUEUED_REQUESTS, PeerError, WRITE_HIGH_WATER};

type Load = JoinHandle<io::Result<(u32, Vec<u8>)>>;

/// Pieces kept in memory per peer (the one being sent and the next).
const CACHED_PIECES: usize = 2;

/// Requests to serve and the pieces read for them.
#[derive(Debug, Default)]
pub(crate) struct Uploader {
    queue: VecDeque<BlockRef>,
    cache: VecDeque<(u32, Arc<Vec<u8>>)>,
    loading: Option<(u32, Load)>,
    /// The previous cache buffer, reused so a new piece is read into memory
    /// that is already allocated and initialised (no zero-fill per piece).
    spare: Option<Vec<u8>>,
}

impl Uploader {
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// Resolves when the piece being read is in memory (cancel-safe).
    pub async fn loaded(&mut self) -> Result<io::Result<(u32, Vec<u8>)>, JoinError> {
        match self.loading.as_mut() {
            Some((_, handle)) => handle.await,
            None => std::future::pending().await,
        }
    }

    pub fn finish_load(
        &mut self,
        r: Result<io::Result<(u32, Vec<u8>)>, JoinError>,
    ) -> Result<(), PeerError> {
        self.loading = None;
        let (index, data) = r.map_err(io::Error::other)??;
        self.cache.push_back((index, Arc::new(data)));
        while self.cache.len() > CACHED_PIECES {
            if let Some((_, old)) = self.cache.pop_front() {
                self.spare = Arc::try_unwrap(old).ok();
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

    /// The first queued piece that is neither cached nor being read.
    fn next_to_load(&self) -> Option<u32> {
        let loading = self.loading.as_ref().map(|(i, _)| *i);
        self.queue
            .iter()
            .map(|b| b.index)
            .find(|&i| Some(i) != loading && !self.cache.iter().any(|(c, _)| *c == i))
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
        while !self.am_choking && self.wbuf.len() - self.wpos < WRITE_HIGH_WATER {
            let Some(&b) = self.upload.queue.front() else {
                return;
            };
            let Some(data) = self.upload.cached(b.index) else {
                self.prefetch();
                return;
            };
            self.upload.queue.pop_front();
            let (start, end) = (b.begin as usize, b.begin as usize + b.length as usize);
            let Some(block) = data.get(start..end) else {
                continue;
            };
            self.shared.throttle_upload(u64::from(b.length)).await;
            encode_piece_header(b.index, b.begin, b.length, &mut self.wbuf);
            self.wbuf.extend_from_slice(block);
            self.stats
                .uploaded
                .fetch_add(u64::from(b.length), Ordering::Relaxed);
            self.shared.count_upload(u64::from(b.length));
        }
        self.prefetch();
    }

    /// Starts reading the next piece the queue will need, if none is being read.
    fn prefetch(&mut self) {
        if self.upload.is_loading() {
            return;
        }
        let Some(index) = self.upload.next_to_load() else {
            return;
        };
        let storage = self.shared.storage.clone();
        let mut buf = self.upload.spare.take().unwrap_or_default();
        let load = tokio::task::spawn_blocking(move || {
            let (offset, len) = storage.piece_span(index);
            buf.resize(len, 0);
            storage.read(offset, &mut buf)?;
            Ok((index, buf))
        });
        self.upload.loading = Some((index, load));
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
