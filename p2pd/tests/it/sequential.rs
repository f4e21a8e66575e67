//! Sequential (streaming) mode between engines over loopback, read from the
//! leecher's own piece-completion order: pieces arrive in order within the
//! read-ahead window, a media file's last piece comes right after its
//! first, and the mode can be switched while the download runs.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap

use std::fs;
use std::time::Duration;

use p2p_proto::bitfield::Bitfield;
use p2p_proto::infohash::InfoHash;
use p2p_proto::metainfo::Metainfo;
use p2pd::engine::Engine;
use tokio_util::sync::CancellationToken;

use crate::engine::{WAIT, add, engine, make_torrent, seed};

const PIECE: u64 = 256 * 1024;
const PIECES: u64 = 64;
/// The picker's read-ahead window for 256 KiB pieces (4 MiB).
const WINDOW: usize = 16;

/// Pieces in the order the leecher verified them (polled every 5 ms: a
/// batch seen at once is in index order), until it completes.
async fn completion_order(e: &Engine, ih: InfoHash) -> Vec<(usize, Vec<usize>)> {
    let mut seen = Bitfield::new(PIECES as usize);
    let mut out = Vec::new();
    for _ in 0..(WAIT.as_millis() / 5) {
        let have = e.have(ih).unwrap();
        let new: Vec<usize> = have.iter_ones().filter(|&i| !seen.get(i)).collect();
        if !new.is_empty() {
            // The first piece not had before this batch: the window's start.
            let front = (0..PIECES as usize).find(|&i| !seen.get(i)).unwrap_or(0);
            for &i in &new {
                seen.set(i, true);
            }
            out.push((front, new));
        }
        if have.all() {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the download did not complete");
}

async fn streamed(name: &str, sequential: bool) -> (Vec<(usize, Vec<usize>)>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let meta: Metainfo = make_torrent(
        &dir.path().join("seed"),
        name,
        &[("", (PIECE * PIECES) as usize)],
        PIECE,
    );
    let cancel = CancellationToken::new();
    // About 4 s of transfer: many polls per piece.
    let seeder = engine(&cancel, |c| c.upload_rate_limit = Some(4_000_000)).await;
    let leecher = engine(&cancel, |_| {}).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let mut a = add(&meta, &dir.path().join("leech"), vec![seeder.listen_addr()]);
    a.sequential = sequential;
    let ih = leecher.add(a).await.unwrap();
    assert_eq!(leecher.is_sequential(ih), Some(sequential));
    let order = completion_order(&leecher, ih).await;
    assert!(leecher.wait_complete(ih, WAIT).await);
    assert_eq!(
        fs::read(dir.path().join("leech").join(name)).unwrap(),
        fs::read(dir.path().join("seed").join(name)).unwrap()
    );
    cancel.cancel();
    (order, dir)
}

fn assert_within_window(order: &[(usize, Vec<usize>)], except: &[usize]) {
    for (front, batch) in order {
        for i in batch.iter().filter(|i| !except.contains(i)) {
            assert!(
                *i < front + WINDOW,
                "piece {i} verified while piece {front} was missing: {order:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_mode_verifies_pieces_in_order_within_the_read_ahead_window() {
    let (order, _dir) = streamed("data.bin", true).await;
    assert_within_window(&order, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_media_file_gets_its_last_piece_right_after_its_first() {
    let (order, _dir) = streamed("film.mp4", true).await;
    let last = PIECES as usize - 1;
    let flat: Vec<usize> = order.iter().flat_map(|(_, b)| b.clone()).collect();
    let at = flat.iter().position(|&i| i == last).unwrap();
    // Picked second; but the pieces already asked for are served first
    // (a p2pd seeder answers its queue in index order), so it lands within
    // the first pipeline's worth of pieces: far sooner than the window
    // would reach it (it would be at least the 47th).
    assert!(at < 2 * WINDOW, "the last piece came {at}th: {flat:?}");
    assert_within_window(&order, &[last]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sequential_mode_pieces_come_out_of_order() {
    // The control: rarest first (random at the start) does not keep the
    // window, so the check above is not one that passes anyway.
    let (order, _dir) = streamed("data.bin", false).await;
    let broken = order
        .iter()
        .any(|(front, batch)| batch.iter().any(|i| *i >= front + WINDOW));
    assert!(broken, "{order:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_mode_switches_on_and_off_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        &dir.path().join("seed"),
        "x.bin",
        &[("", (PIECE * 8) as usize)],
        PIECE,
    );
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |c| c.upload_rate_limit = Some(500_000)).await;
    let leecher = engine(&cancel, |_| {}).await;
    seed(&seeder, &meta, &dir.path().join("seed")).await;
    let ih = leecher
        .add(add(
            &meta,
            &dir.path().join("leech"),
            vec![seeder.listen_addr()],
        ))
        .await
        .unwrap();
    assert_eq!(leecher.is_sequential(ih), Some(false));
    leecher.set_sequential(ih, true).unwrap();
    assert_eq!(leecher.is_sequential(ih), Some(true));
    leecher.set_sequential(ih, false).unwrap();
    assert_eq!(leecher.is_sequential(ih), Some(false));
    assert!(leecher.set_sequential(InfoHash([9; 20]), true).is_err());
    cancel.cancel();
}
