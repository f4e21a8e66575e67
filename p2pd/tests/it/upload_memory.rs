//! Memory a seeder spends on requests (issue 12 item 18): with 64 MiB
//! pieces, 30 requests of 16 KiB at spread-out pieces and offsets must not
//! make it read and keep whole pieces; and a peer that fills the whole
//! request queue we advertise (`reqq`, issue 13) without reading what it
//! asked for grows us by a bounded amount, then gets every block. The seeder runs in this process, so
//! its growth is this process's resident size (nextest runs each test in a
//! process of its own); the file is sparse and the pieces are trusted
//! (`assume_complete`), so nothing is hashed.

#![allow(clippy::unwrap_used)] // test helpers, like tests, may unwrap
#![cfg(target_os = "linux")]

use std::fs;
use std::net::SocketAddr;
use std::time::Duration;

use p2p_proto::metainfo::Metainfo;
use p2p_proto::wire::{BlockRef, Decoded, HANDSHAKE_LEN, Handshake, Message, PeerId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use p2pd::engine::Engine;

use crate::engine::{WAIT, add, engine};

const PIECE: u64 = 64 << 20;
const PIECES: u64 = 8;
const REQUESTS: u32 = 30;
const BLOCK: u32 = 16 * 1024;
/// The bound the issue asks for.
const MAX_GROWTH_BYTES: u64 = 64 << 20;
/// A full queue of requests, half of what it asks for: a peer's spans
/// (3 MiB), its write buffer (1 MiB) and allocator slack, never the blocks
/// asked for (32 MiB).
const FULL_QUEUE_MAX_GROWTH_BYTES: u64 = 16 << 20;

fn rss_bytes() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// A one-file torrent of `PIECES` pieces of `PIECE` bytes; the piece hashes
/// are never checked (the seeder is told its data is complete).
fn huge_torrent() -> Metainfo {
    let mut t = format!(
        "d4:infod6:lengthi{}e4:name8:huge.bin12:piece lengthi{PIECE}e6:pieces{}:",
        PIECE * PIECES,
        PIECES * 20
    )
    .into_bytes();
    t.extend(std::iter::repeat_n(7u8, (PIECES * 20) as usize));
    t.extend_from_slice(b"ee");
    Metainfo::from_bytes(&t).unwrap()
}

/// The kind of the next message (1 unchoke, 7 a block, 20 the extension
/// handshake, 0 anything else) and a block's length or the advertised reqq.
async fn read_message(s: &mut TcpStream, buf: &mut Vec<u8>) -> (u8, usize) {
    loop {
        if let Ok(Decoded::Done(msg, used)) = Message::decode(buf, 1 << 21) {
            let kind = match msg {
                Message::Unchoke => 1,
                Message::Extended { id: 0, payload } => {
                    let h = p2p_proto::wire::ExtHandshake::decode(payload).unwrap();
                    let reqq = h.reqq.unwrap_or(0) as usize;
                    buf.drain(..used);
                    return (20, reqq);
                }
                Message::Piece { data, .. } => {
                    let len = data.len();
                    buf.drain(..used);
                    return (7, len);
                }
                _ => 0,
            };
            buf.drain(..used);
            return (kind, 0);
        }
        let mut chunk = [0u8; 65536];
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the seeder closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A seeder of the huge torrent, and a connection to it that was unchoked:
/// (cancel, seeder, stream, read buffer, the reqq it advertised).
async fn unchoked_by_a_seeder(
    dir: &std::path::Path,
) -> (CancellationToken, Engine, TcpStream, Vec<u8>, usize) {
    let meta = huge_torrent();
    let file = fs::File::create(dir.join("huge.bin")).unwrap();
    file.set_len(PIECE * PIECES).unwrap();
    let cancel = CancellationToken::new();
    let seeder = engine(&cancel, |_| {}).await;
    let mut adding = add(&meta, dir, vec![]);
    adding.assume_complete = true;
    let ih = seeder.add(adding).await.unwrap();
    assert!(seeder.wait_complete(ih, WAIT).await);
    let to: SocketAddr = ([127, 0, 0, 1], seeder.listen_addr().port()).into();

    let mut s = TcpStream::connect(to).await.unwrap();
    let mut out = Handshake::new(ih, PeerId(*b"-XX0001-memorytest00"))
        .to_bytes()
        .to_vec();
    Message::Interested.encode(&mut out);
    s.write_all(&out).await.unwrap();
    let mut hs = [0u8; HANDSHAKE_LEN];
    s.read_exact(&mut hs).await.unwrap();
    let mut buf = Vec::new();
    let mut reqq = 0;
    tokio::time::timeout(WAIT, async {
        loop {
            match read_message(&mut s, &mut buf).await {
                (1, _) => break,
                (20, q) => reqq = q,
                _ => {}
            }
        }
    })
    .await
    .expect("an unchoke");
    (cancel, seeder, s, buf, reqq)
}

/// Reads `n` blocks; returns how many came and the highest resident size
/// seen (from `peak` on) while they came.
async fn read_blocks(s: &mut TcpStream, buf: &mut Vec<u8>, n: usize, peak: u64) -> (usize, u64) {
    let mut peak = peak;
    let got = tokio::time::timeout(WAIT, async {
        let mut got = 0;
        while got < n {
            let (kind, len) = read_message(s, buf).await;
            if kind == 7 {
                assert_eq!(len, BLOCK as usize);
                got += 1;
                if got % 16 == 0 || got == n {
                    peak = peak.max(rss_bytes());
                }
            }
        }
        got
    })
    .await
    .expect("every block");
    (got, peak)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spread_requests_in_huge_pieces_cost_memory_in_proportion_to_the_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let (cancel, seeder, mut s, mut buf, _) = unchoked_by_a_seeder(dir.path()).await;

    let before = rss_bytes();
    let mut requests = Vec::new();
    for i in 0..REQUESTS {
        let index = i % PIECES as u32;
        // Spread over each piece: a different 2 MiB stretch every time.
        let begin = ((i * 2) << 20) % PIECE as u32 + (i % 3) * BLOCK;
        Message::Request(BlockRef {
            index,
            begin,
            length: BLOCK,
        })
        .encode(&mut requests);
    }
    s.write_all(&requests).await.unwrap();
    let (got, peak) = read_blocks(&mut s, &mut buf, REQUESTS as usize, before).await;
    let after = rss_bytes();
    eprintln!(
        "seeder RSS: {} MiB before, {} MiB after {got} requests of 16 KiB in 64 MiB pieces \
         (peak {} MiB, growth {} MiB)",
        before >> 20,
        after >> 20,
        peak >> 20,
        peak.saturating_sub(before) >> 20
    );
    assert_eq!(got, REQUESTS as usize);
    assert!(
        peak.saturating_sub(before) < MAX_GROWTH_BYTES,
        "grew from {before} to {peak} bytes"
    );
    drop(s);
    cancel.cancel();
    assert!(seeder.shutdown(Duration::from_secs(10)).await);
}

/// Fills the advertised queue with requests spread over every piece, reads
/// nothing for a while (the seeder's write buffer fills and it stops
/// serving), measures, then reads every block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_filling_the_advertised_request_queue_costs_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (cancel, seeder, mut s, mut buf, reqq) = unchoked_by_a_seeder(dir.path()).await;
    assert!(
        reqq >= 2000,
        "we advertise as deep a queue as libtorrent: {reqq}"
    );

    let before = rss_bytes();
    let blocks_per_piece = (PIECE / u64::from(BLOCK)) as u32;
    let mut requests = Vec::new();
    for i in 0..reqq as u32 {
        // Every piece in turn, a different stretch of it each round.
        let index = i % PIECES as u32;
        let block = (i / PIECES as u32 * 37) % blocks_per_piece;
        Message::Request(BlockRef {
            index,
            begin: block * BLOCK,
            length: BLOCK,
        })
        .encode(&mut requests);
    }
    s.write_all(&requests).await.unwrap();
    // Not reading: the seeder serves until its socket and write buffer are
    // full, then holds the rest of the queue as requests, not data.
    let mut peak = before;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        peak = peak.max(rss_bytes());
    }
    let (got, peak) = read_blocks(&mut s, &mut buf, reqq, peak).await;
    eprintln!(
        "seeder RSS: {} MiB before, peak {} MiB over a full queue of {got} requests \
         ({} MiB asked for)",
        before >> 20,
        peak >> 20,
        (got as u64 * u64::from(BLOCK)) >> 20
    );
    assert_eq!(got, reqq);
    assert!(
        peak.saturating_sub(before) < FULL_QUEUE_MAX_GROWTH_BYTES,
        "grew from {before} to {peak} bytes"
    );
    drop(s);
    cancel.cancel();
    assert!(seeder.shutdown(Duration::from_secs(10)).await);
}
