//! A peer's reads put the blocks it expects next straight into their
//! pieces, guessing they come in the order asked. A seeder that answers in
//! another order, puts other messages between blocks, sends a block never
//! asked for and splits its writes anywhere must still give a whole,
//! correct file without one failed piece: a wrong guess may leave stray
//! bytes only where a block has not arrived yet (issue 13).

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::fs;
use std::net::SocketAddr;
use std::time::Duration;

use p2p_proto::bitfield::Bitfield;
use p2p_proto::metainfo::Metainfo;
use p2p_proto::wire::{BlockRef, Decoded, HANDSHAKE_LEN, Handshake, Message, PeerId};
use p2pd::engine::Encryption;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::engine::{add, engine, make_torrent};

const PIECE: u64 = 64 * 1024;
/// Bytes per write: blocks and headers are split at odd places.
const WRITE_CHUNK: usize = 7001;

/// Serves `data` to one leecher until it has every piece. The requests of
/// each read are answered together: every other batch backwards, the
/// others in order with a `have` before every seventh block; each batch
/// starts with a block of the last piece whether asked or not.
async fn scrambling_seeder(listener: TcpListener, meta: Metainfo, data: Vec<u8>) -> usize {
    let (mut s, _) = listener.accept().await.unwrap();
    let mut hs = [0u8; HANDSHAKE_LEN];
    s.read_exact(&mut hs).await.unwrap();
    let mut out = Handshake::new(meta.info_hash, PeerId(*b"-XX0001-scramblingsd"))
        .to_bytes()
        .to_vec();
    let n = meta.piece_count();
    let mut all = Bitfield::new(n);
    for i in 0..n {
        all.set(i, true);
    }
    Message::Bitfield(all.as_bytes()).encode(&mut out);
    Message::Unchoke.encode(&mut out);
    s.write_all(&out).await.unwrap();

    let piece = |b: BlockRef, out: &mut Vec<u8>| {
        let start = b.index as usize * PIECE as usize + b.begin as usize;
        Message::Piece {
            index: b.index,
            begin: b.begin,
            data: &data[start..start + b.length as usize],
        }
        .encode(out);
    };
    let last = BlockRef {
        index: n as u32 - 1,
        begin: 0,
        length: 16 * 1024,
    };
    let (mut haves, mut batches, mut buf) = (0, 0, Vec::new());
    while haves < n {
        let mut asked = Vec::new();
        let mut used = 0;
        while let Decoded::Done(msg, len) = Message::decode(&buf[used..], 1 << 20).unwrap() {
            used += len;
            match msg {
                Message::Request(b) => asked.push(b),
                Message::Have(_) => haves += 1,
                _ => {}
            }
        }
        buf.drain(..used);
        if !asked.is_empty() {
            let mut reply = Vec::new();
            piece(last, &mut reply);
            if batches % 2 == 1 {
                asked.reverse();
            }
            for (k, b) in asked.iter().enumerate() {
                if batches % 2 == 0 && k % 7 == 3 {
                    Message::Have(k as u32 % n as u32).encode(&mut reply);
                }
                piece(*b, &mut reply);
            }
            batches += 1;
            for chunk in reply.chunks(WRITE_CHUNK) {
                s.write_all(chunk).await.unwrap();
            }
        }
        if haves == n {
            break;
        }
        let mut chunk = [0u8; 65536];
        let got = s.read(&mut chunk).await.unwrap();
        assert!(got > 0, "the leecher hung up");
        buf.extend_from_slice(&chunk[..got]);
    }
    batches
}

#[tokio::test]
async fn blocks_out_of_order_between_other_messages_give_a_correct_file_and_no_failed_piece() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    // 40 whole pieces of 4 blocks and a short last piece (a short block).
    let len = 40 * PIECE as usize + 20_000;
    let meta = make_torrent(src.path(), "scrambled.bin", &[("", len)], PIECE);
    let data = fs::read(src.path().join("scrambled.bin")).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let seeder = tokio::spawn(scrambling_seeder(listener, meta.clone(), data.clone()));

    let cancel = CancellationToken::new();
    // The scrambling seeder speaks plaintext only, and plaintext TCP is
    // the link whose blocks are read in place.
    let leecher = engine(&cancel, |c| c.encryption = Encryption::Disable).await;
    let ih = leecher
        .add(add(&meta, dst.path(), vec![addr]))
        .await
        .unwrap();
    // The bound only stops a hang.
    let batches = tokio::time::timeout(Duration::from_secs(120), seeder)
        .await
        .expect("the leecher never finished")
        .unwrap();
    assert!(
        batches >= 4,
        "only {batches} batches: both orders were not tried"
    );
    assert!(leecher.wait_complete(ih, Duration::from_secs(10)).await);
    let stats = leecher.stats(ih).unwrap();
    assert_eq!(stats.hash_failures, 0, "{stats:?}");
    assert!(
        fs::read(dst.path().join("scrambled.bin")).unwrap() == data,
        "the downloaded file differs from the source"
    );
    cancel.cancel();
}
