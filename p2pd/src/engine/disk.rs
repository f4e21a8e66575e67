//! The disk threads: one hashes every completed piece, two write the good
//! ones, for all torrents of an engine.
//!
//! Long-lived threads fed by channels cost one wake-up per burst of pieces,
//! where a blocking task per piece cost two thread hand-offs per piece. The
//! hasher hands the writer batches of verified pieces, so consecutive pieces
//! go out as one vectored write (with direct I/O, fewer and larger writes
//! are much cheaper), and hashing goes on while a write waits for the disk.
//! The two writers take batches in turn; the order in which batches are
//! written does not matter (each piece has its own place in its files).
//! The hasher takes every piece queued (up to 16) at once: pieces of one
//! length are hashed side by side in the lanes of AVX-512 registers, or of
//! AVX2 where there is no AVX-512 (`p2p-sha1-wide`): 5-6 GB/s and 3.4 GB/s
//! on one core against 1.6 for one piece at a time with SHA-NI, so one
//! hashing thread does not hold a download back.
//! A second hashing thread was tried instead and did worse: on two cores it
//! takes CPU from the network side of the same transfer.
//!
//! The threads are supervised: a panic while handling a piece is caught,
//! the torrents whose pieces were in hand are failed with the reason, and
//! the thread goes on with the next piece. A piece the threads cannot take
//! fails its torrent too: dropping it silently would have the torrent
//! download it again, for ever.

use std::any::Any;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use p2p_proto::wire::PeerId;
use tokio_util::task::task_tracker::TaskTrackerToken;

use super::piecebuf::PieceBuf;
use super::storage::Storage;

/// Verified pieces are written once this many bytes are waiting...
const WRITE_BATCH: usize = 4 << 20;
/// ...or when no new piece has come for this long.
const WRITE_DELAY: Duration = Duration::from_millis(2);
/// Writes in flight: a second one keeps the disk busy while the first
/// one's pieces are settled and the next batch is prepared (a virtio disk
/// here: 1.85 GB/s with one 4 MiB direct write at a time, 2.05 with two).
const WRITERS: usize = 2;
/// How long the hasher waits for a full set of lanes after a piece comes.
/// At loopback rates the set fills in about 3 ms and costs a third of the
/// CPU of the same pieces hashed in small groups; a slow download's piece
/// is verified this much later.
const GATHER_WAIT: Duration = Duration::from_millis(2);

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
    /// A disk thread failed while it held pieces of this torrent (their
    /// buffers are gone): stop the torrent and show `reason`.
    fn disk_failed(&self, reason: String);
}

/// How a piece that was not written ended.
#[derive(Debug)]
pub(crate) enum PieceEnd {
    /// Its hash is wrong: these peers sent its blocks.
    BadHash(Vec<(SocketAddr, PeerId)>),
    /// Writing it failed.
    WriteFailed(std::io::Error),
    /// Dropped unchecked: the disk threads are gone (the torrent cannot
    /// go on; asking for the piece again would loop).
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
        let (batches_tx, batches_rx) = mpsc::channel::<Vec<DiskJob>>();
        let batches_rx = Arc::new(Mutex::new(batches_rx));
        for _ in 0..WRITERS {
            let batches_rx = batches_rx.clone();
            std::thread::Builder::new()
                .name("p2p-write".into())
                .spawn(move || {
                    while let Some(mut batch) = next_batch(&batches_rx) {
                        let owners = owners_of(&batch);
                        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| write_all(&mut batch)))
                        {
                            fail_all(&owners, "the disk writer", &*panic);
                        }
                    }
                })?;
        }
        std::thread::Builder::new()
            .name("p2p-hash".into())
            .spawn(move || hash_loop(&rx, &batches_tx))?;
        Ok(Disk { tx })
    }

    /// Queues a piece. If the threads are gone (they never exit while a
    /// handle lives), the piece is dropped and its torrent fails.
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

/// Hashes pieces as they come, together what is queued (see
/// [`sha1_wide`]); hands the good ones to the writer in batches of
/// [`WRITE_BATCH`] bytes, or whatever it has after [`WRITE_DELAY`] without
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
    let mut jobs: Vec<DiskJob> = Vec::with_capacity(p2p_sha1_wide::LANES);
    loop {
        let next = if good.is_empty() {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(WRITE_DELAY)
        };
        match next {
            Ok(job) => {
                jobs.push(job);
                gather(rx, &mut jobs);
                for job in check_all(&mut jobs) {
                    good_bytes += job.data.len();
                    good.push(job);
                    if good_bytes >= WRITE_BATCH {
                        hand_over(&mut good);
                        good_bytes = 0;
                    }
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

/// The next batch for a writer; `None` once the hasher is gone.
fn next_batch(batches: &Mutex<Receiver<Vec<DiskJob>>>) -> Option<Vec<DiskJob>> {
    // A writer that panicked holds no batch: the lock is still good.
    let rx = batches
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    rx.recv().ok()
}

/// Adds to `jobs` the pieces that come within [`GATHER_WAIT`], up to a
/// full set of lanes.
fn gather(rx: &Receiver<DiskJob>, jobs: &mut Vec<DiskJob>) {
    let until = Instant::now() + GATHER_WAIT;
    while jobs.len() < p2p_sha1_wide::LANES {
        let next = match rx.try_recv() {
            Ok(job) => Ok(job),
            Err(_) => rx.recv_timeout(until.saturating_duration_since(Instant::now())),
        };
        match next {
            Ok(job) => jobs.push(job),
            // Disconnected: the loop sees it on its next receive.
            Err(_) => return,
        }
    }
}

/// Hashes `jobs` (emptied) and gives back the pieces whose hash is right;
/// the others are settled. A panic fails the torrents of the pieces in hand.
fn check_all(jobs: &mut Vec<DiskJob>) -> Vec<DiskJob> {
    let digests = catch_unwind(AssertUnwindSafe(|| {
        let data: Vec<&[u8]> = jobs.iter().map(|j| &j.data[..]).collect();
        p2p_sha1_wide::digest_all(&data)
    }));
    let digests = match digests {
        Ok(d) => d,
        Err(panic) => {
            let owners = owners_of(jobs);
            jobs.clear();
            fail_all(&owners, "the disk hasher", &*panic);
            return Vec::new();
        }
    };
    let mut good = Vec::with_capacity(jobs.len());
    for (job, digest) in jobs.drain(..).zip(digests) {
        let owner = job.owner.clone();
        let expected = catch_unwind(AssertUnwindSafe(|| job.owner.expected_hash(job.index)));
        match expected {
            Ok(expected) if expected == digest => good.push(job),
            Ok(_) => settle(job, Outcome::BadHash),
            Err(panic) => {
                drop(job);
                fail_all(&[owner], "the disk hasher", &*panic);
            }
        }
    }
    good
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

/// The torrents of a batch, each once.
fn owners_of(batch: &[DiskJob]) -> Vec<Arc<dyn PieceOwner>> {
    let mut owners: Vec<Arc<dyn PieceOwner>> = Vec::new();
    for job in batch {
        if !owners
            .iter()
            .any(|o| std::ptr::addr_eq(Arc::as_ptr(o), Arc::as_ptr(&job.owner)))
        {
            owners.push(job.owner.clone());
        }
    }
    owners
}

/// A disk thread panicked while it held pieces of `owners`: each fails with
/// the panic's message (a second panic there is caught too: the thread
/// must live on for the other torrents).
fn fail_all(owners: &[Arc<dyn PieceOwner>], thread: &str, panic: &(dyn Any + Send)) {
    let what = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    let reason = format!("{thread} failed: {what}");
    for owner in owners {
        let _ = catch_unwind(AssertUnwindSafe(|| owner.disk_failed(reason.clone())));
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use p2p_proto::create::{Control, CreateOptions, create_torrent};
    use p2p_proto::metainfo::Metainfo;
    use tokio_util::task::TaskTracker;

    use super::*;
    use crate::engine::handles::FileHandles;

    /// What an owner was told.
    #[derive(Debug, PartialEq)]
    enum Told {
        Written(Vec<u32>),
        Failed(String),
        Ended(u32),
    }

    /// A torrent as the disk sees it; `storage: None` panics when asked
    /// (an injected fault in the writer), `hash_panics` in the hasher.
    struct Owner {
        meta: Metainfo,
        storage: Option<Storage>,
        hash_panics: bool,
        told: Mutex<mpsc::Sender<Told>>,
    }

    impl PieceOwner for Owner {
        fn expected_hash(&self, index: u32) -> [u8; 20] {
            assert!(!self.hash_panics, "injected fault in the hasher");
            self.meta.info.pieces[index as usize]
        }
        fn storage(&self) -> &Storage {
            self.storage.as_ref().expect("injected fault in the writer")
        }
        fn pieces_written(&self, pieces: Vec<(u32, PieceBuf)>) {
            let indices = pieces.iter().map(|(i, _)| *i).collect();
            let _ = self.told.lock().unwrap().send(Told::Written(indices));
        }
        fn piece_ended(&self, index: u32, _: PieceBuf, _: PieceEnd) {
            let _ = self.told.lock().unwrap().send(Told::Ended(index));
        }
        fn disk_failed(&self, reason: String) {
            let _ = self.told.lock().unwrap().send(Told::Failed(reason));
        }
    }

    fn torrent(dir: &std::path::Path) -> (Metainfo, Vec<u8>) {
        let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.join("one.bin"), &data).unwrap();
        let opts = CreateOptions {
            piece_length: Some(16384),
            ..CreateOptions::default()
        };
        let c = create_torrent(&dir.join("one.bin"), &opts, &Control::default()).unwrap();
        (c.metainfo, data)
    }

    fn job(owner: &Arc<Owner>, data: &[u8], index: u32, tracker: &TaskTracker) -> DiskJob {
        let start = index as usize * 16384;
        let piece = &data[start..(start + 16384).min(data.len())];
        let mut buf = PieceBuf::zeroed(piece.len());
        buf.copy_from_slice(piece);
        DiskJob {
            owner: owner.clone(),
            index,
            data: buf,
            contributors: Vec::new(),
            tracked: tracker.token(),
        }
    }

    #[test]
    fn a_panic_in_a_disk_thread_fails_its_torrent_and_the_thread_serves_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let (meta, data) = torrent(dir.path());
        let (tx, told) = mpsc::channel();
        let owner = |storage: Option<Storage>, hash_panics: bool| {
            Arc::new(Owner {
                meta: meta.clone(),
                storage,
                hash_panics,
                told: Mutex::new(tx.clone()),
            })
        };
        let dl = dir.path().join("dl");
        let healthy = owner(
            Some(Storage::new(&meta, &dl, false, Arc::new(FileHandles::new(4))).unwrap()),
            false,
        );
        let broken_writer = owner(None, false);
        let broken_hasher = owner(None, true);
        let tracker = TaskTracker::new();
        let disk = Disk::start().unwrap();
        let next = || told.recv_timeout(Duration::from_secs(10)).unwrap();

        disk.submit(job(&broken_writer, &data, 0, &tracker));
        assert_eq!(
            next(),
            Told::Failed("the disk writer failed: injected fault in the writer".into())
        );
        disk.submit(job(&broken_hasher, &data, 1, &tracker));
        assert_eq!(
            next(),
            Told::Failed("the disk hasher failed: injected fault in the hasher".into())
        );
        // Both threads live on: the next torrent's piece is checked and written.
        disk.submit(job(&healthy, &data, 2, &tracker));
        assert_eq!(next(), Told::Written(vec![2]));
        assert_eq!(
            std::fs::read(dl.join("one.bin")).unwrap()[32768..],
            data[32768..]
        );
        assert!(told.try_recv().is_err(), "nothing else was said");
    }
}
