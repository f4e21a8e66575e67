//! A request the peer drops without a reject (Transmission does when its
//! queue is full) must not hold its piece until the peer is snubbed: once
//! later requests were answered and the grace passed, the block is
//! cancelled and asked for again on the same connection (issue 13).

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::fs;
use std::net::SocketAddr;

use p2p_proto::bitfield::Bitfield;
use p2p_proto::metainfo::Metainfo;
use p2p_proto::wire::{BlockRef, Decoded, HANDSHAKE_LEN, Handshake, Message, PeerId};
use p2pd::engine::Encryption;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::engine::{add, engine, make_torrent};

const PIECE: u64 = 64 * 1024;
/// The first block of the second piece: asked for early, dropped once.
const DROPPED: BlockRef = BlockRef {
    index: 1,
    begin: 0,
    length: 16 * 1024,
};

/// What the scripted seeder saw of the dropped block, in order.
#[derive(Debug, PartialEq)]
enum Seen {
    Request,
    Cancel,
}

/// Serves `data` to one leecher, answering every request but the first
/// for [`DROPPED`], which it ignores without a word; returns what it saw
/// of that block once the leecher has every piece.
async fn scripted_seeder(listener: TcpListener, meta: Metainfo, data: Vec<u8>) -> Vec<Seen> {
    let (mut s, _) = listener.accept().await.unwrap();
    let mut hs = [0u8; HANDSHAKE_LEN];
    s.read_exact(&mut hs).await.unwrap();
    let mut out = Handshake::new(meta.info_hash, PeerId(*b"-XX0001-droppingseed"))
        .to_bytes()
        .to_vec();
    let mut all = Bitfield::new(meta.piece_count());
    for i in 0..meta.piece_count() {
        all.set(i, true);
    }
    Message::Bitfield(all.as_bytes()).encode(&mut out);
    Message::Unchoke.encode(&mut out);
    s.write_all(&out).await.unwrap();

    let mut seen = Vec::new();
    let mut haves = 0;
    let mut buf = Vec::new();
    while haves < meta.piece_count() {
        let mut reply = Vec::new();
        let used = {
            let mut used = 0;
            loop {
                match Message::decode(&buf[used..], 1 << 20).unwrap() {
                    Decoded::Done(msg, n) => {
                        used += n;
                        match msg {
                            Message::Request(b) if b == DROPPED && seen.is_empty() => {
                                seen.push(Seen::Request);
                            }
                            Message::Request(b) => {
                                if b == DROPPED {
                                    seen.push(Seen::Request);
                                }
                                let start = b.index as usize * PIECE as usize + b.begin as usize;
                                Message::Piece {
                                    index: b.index,
                                    begin: b.begin,
                                    data: &data[start..start + b.length as usize],
                                }
                                .encode(&mut reply);
                            }
                            Message::Cancel(b) if b == DROPPED => seen.push(Seen::Cancel),
                            Message::Have(_) => haves += 1,
                            _ => {}
                        }
                    }
                    Decoded::NeedMore(_) => break used,
                }
            }
        };
        buf.drain(..used);
        if !reply.is_empty() {
            s.write_all(&reply).await.unwrap();
        }
        if haves == meta.piece_count() {
            break;
        }
        let mut chunk = [0u8; 65536];
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the leecher hung up");
        buf.extend_from_slice(&chunk[..n]);
    }
    seen
}

#[tokio::test]
async fn a_request_dropped_without_a_reject_is_cancelled_and_asked_again() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let meta = make_torrent(
        src.path(),
        "dropped.bin",
        &[("", 8 * PIECE as usize)],
        PIECE,
    );
    let data = fs::read(src.path().join("dropped.bin")).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let seeder = tokio::spawn(scripted_seeder(listener, meta.clone(), data.clone()));

    let cancel = CancellationToken::new();
    // The scripted peers here speak plaintext only.
    let leecher = engine(&cancel, |c| c.encryption = Encryption::Disable).await;
    let ih = leecher
        .add(add(&meta, dst.path(), vec![addr]))
        .await
        .unwrap();
    // Before, the block came back only when the peer was snubbed (30 s
    // without any block), with no cancel sent: the seen sequence was
    // Request, Request, or nothing more at all. The bound only stops a hang.
    let seen = tokio::time::timeout(std::time::Duration::from_secs(120), seeder)
        .await
        .expect("the leecher never finished")
        .unwrap();
    assert_eq!(seen, [Seen::Request, Seen::Cancel, Seen::Request]);
    assert!(
        leecher
            .wait_complete(ih, std::time::Duration::from_secs(10))
            .await
    );
    assert!(
        fs::read(dst.path().join("dropped.bin")).unwrap() == data,
        "the downloaded file differs from the source"
    );
    cancel.cancel();
}
