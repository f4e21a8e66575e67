//! The disk threads: one hashes every completed piece, one writes the good
//! ones, for all torrents of an engine.
//!
//! Long-lived threads fed by channels cost one wake-up per burst of pieces,
//! where a blocking task per piece cost two thread hand-offs per piece. The
//! hasher hands the writer batches of verified pieces, so consecutive pieces
//! go out as one vectored write (with direct I/O, fewer and larger writes
//! are much cheaper), and hashing goes on while a write waits for the disk.
//! SHA-1 runs at about 1.9 GB/s per core here, above what one machine's
//! peers deliver, so one hashing thread does not hold a download back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use p2p_proto::wire::PeerId;
use sha1::{Digest, Sha1};
use tokio_util::task::task_tracker::TaskTrackerToken;

use super::piecebuf::PieceBuf;
use super::storage::Storage;

/// Verified pieces are written once this many bytes are waiting...
const WRITE_BATCH: usize = 4 << 20;
/// ...or when no new piece has come for this long.
const WRITE_DELAY: Duration = Duration::from_millis(2);

/// The torrent a piece belongs to, as the disk threads see it: what to
/// check the piece against, where to write it, and whom to tell how it
/// ended. The seam between the disk and the torrent: the disk knows
/// nothing else of torrents.
pub(crate) trait PieceOwner: Send + Sync {
    /// The SHA-1 the piece must have.
    fn expected_hash(&self, index: u32) -> [u8; 20];
    /// Where its files are.
    fn storage(&self) -> &Storage;
    /// These pieces are checked and written (in order, consecutive).
    fn pieces_written(&self, pieces: Vec<(u32, PieceBuf)>);
    /// This piece did not make it; its buffer comes back.
    fn piece_ended(&self, index: u32, data: PieceBuf, end: PieceEnd);
}

/// How a piece that was not written ended.
#[derive(Debug)]
pub(crate) enum PieceEnd {
    /// Its hash is wrong: these peers sent its blocks.
    BadHash(Vec<(SocketAddr, PeerId)>),
    /// Writing it failed.
    WriteFailed(std::io::Error),
    /// Dropped unchecked (the disk threads are gone).
    Lost,
}

/// A whole piece to verify and write.
pub(crate) struct DiskJob {
    pub owner: Arc<dyn PieceOwner>,
    pub index: u32,
    pub data: PieceBuf,
    /// Peers that sent its blocks (to blame if it fails).
    pub contributors: Vec<(SocketAddr, PeerId)>,
    /// Keeps the torrent's task tracker open until the piece is settled, so
    /// a stopping torrent saves its resume record after its last write.
    pub tracked: TaskTrackerToken,
}

/// Handle to the disk threads; they end when every handle is dropped and the
/// queued pieces are written.
#[derive(Debug, Clone)]
pub(crate) struct Disk {
    tx: Sender<DiskJob>,
}

impl Disk {
    pub fn start() -> std::io::Result<Disk> {
        let (tx, rx) = mpsc::channel();
        let (batches_tx, batches_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("p2p-write".into())
            .spawn(move || {
                while let Ok(mut batch) = batches_rx.recv() {
                    write_all(&mut batch);
                }
            })?;
        std::thread::Builder::new()
            .name("p2p-hash".into())
            .spawn(move || hash_loop(&rx, &batches_tx))?;
        Ok(Disk { tx })
    }

    /// Queues a piece. If the threads are gone (they never exit while a
    /// handle lives, unless one panicked), the piece is dropped and will be
    /// downloaded again.
    pub fn submit(&self, job: DiskJob) {
        if let Err(mpsc::SendError(job)) = self.tx.send(job) {
            settle(job, Outcome::Lost);
        }
    }
}

/// What went wrong with a piece, before its contributors are attached.
enum Outcome {
    BadHash,
    WriteFailed(std::io::Error),
    Lost,
}

/// The address of a job's owner, to group and order jobs by torrent.
fn owner_key(job: &DiskJob) -> *const () {
    Arc::as_ptr(&job.owner).cast::<()>()
}

/// Hashes pieces as they come; hands the good ones to the writer in batches
/// of [`WRITE_BATCH`] bytes, or whatever it has after [`WRITE_DELAY`] without
/// a new piece.
fn hash_loop(rx: &Receiver<DiskJob>, writer: &Sender<Vec<DiskJob>>) {
    let mut good: Vec<DiskJob> = Vec::new();
    let mut good_bytes = 0;
    let hand_over = |good: &mut Vec<DiskJob>| {
        if let Err(mpsc::SendError(lost)) = writer.send(std::mem::take(good)) {
            for job in lost {
                settle(job, Outcome::Lost);
            }
        }
    };
    loop {
        let next = if good.is_empty() {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(WRITE_DELAY)
        };
        match next {
            Ok(job) => {
                let expected = job.owner.expected_hash(job.index);
                if Sha1::digest(&job.data[..]).as_slice() != expected {
                    settle(job, Outcome::BadHash);
                    continue;
                }
                good_bytes += job.data.len();
                good.push(job);
                if good_bytes >= WRITE_BATCH {
                    hand_over(&mut good);
                    good_bytes = 0;
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                hand_over(&mut good);
                good_bytes = 0;
            }
            Err(RecvTimeoutError::Disconnected) => {
                hand_over(&mut good);
                return;
            }
        }
    }
}

/// Writes verified pieces, each run of consecutive pieces of one torrent
/// in one call, then settles them.
fn write_all(good: &mut Vec<DiskJob>) {
    good.sort_by_key(|j| (owner_key(j), j.index));
    let mut jobs = std::mem::take(good).into_iter().peekable();
    while let Some(first) = jobs.next() {
        let mut run = vec![first];
        while let Some(next) = jobs.next_if(|n| {
            let last = &run[run.len() - 1];
            owner_key(n) == owner_key(last) && n.index == last.index + 1
        }) {
            run.push(next);
        }
        let storage = run[0].owner.storage();
        let (offset, _) = storage.piece_span(run[0].index);
        let bufs: Vec<&[u8]> = run.iter().map(|j| &j.data[..]).collect();
        let result = storage.write_run(offset, &bufs);
        drop(bufs);
        match result {
            Ok(()) => {
                let owner = run[0].owner.clone();
                // The jobs' tracker tokens are dropped after the torrent
                // has taken the pieces.
                let (pieces, _tracked): (Vec<_>, Vec<_>) = run
                    .into_iter()
                    .map(|j| ((j.index, j.data), j.tracked))
                    .unzip();
                owner.pieces_written(pieces);
            }
            Err(e) => {
                for job in run {
                    let copy = std::io::Error::new(e.kind(), e.to_string());
                    settle(job, Outcome::WriteFailed(copy));
                }
            }
        }
    }
}

/// Tells the torrent how a piece ended and gives its buffer back.
fn settle(job: DiskJob, outcome: Outcome) {
    let DiskJob {
        owner,
        index,
        data,
        contributors,
        tracked: _tracked,
    } = job;
    let end = match outcome {
        Outcome::BadHash => PieceEnd::BadHash(contributors),
        Outcome::WriteFailed(e) => PieceEnd::WriteFailed(e),
        Outcome::Lost => PieceEnd::Lost,
    };
    owner.piece_ended(index, data, end);
}
