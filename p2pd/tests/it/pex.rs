//! Peer exchange (BEP 11) against scripted peers that speak the wire
//! protocol byte by byte: on a public torrent the engine offers ut_pex,
//! tells each peer where the others listen, and dials the peers it is told
//! of; on a private torrent (BEP 27) it offers nothing, sends nothing and
//! dials nobody it is told of.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use p2p_proto::create::{Control, CreateOptions, create_torrent};
use p2p_proto::infohash::InfoHash;
use p2p_proto::metainfo::Metainfo;
use p2p_proto::wire::{
    DEFAULT_MAX_MESSAGE_LEN, Decoded, ExtHandshake, HANDSHAKE_LEN, Handshake, Message, PeerId,
    PexMessage, UT_PEX,
};
use p2pd::engine::Encryption;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

use crate::engine::{add, data, engine};

/// Our scripted peers' id for ut_pex (anything but the engine's).
const THEIR_UT_PEX: u8 = 7;
/// Longer than the engine waits before its first message (5 s).
const QUIET: Duration = Duration::from_secs(8);

/// A torrent of one 256 KiB file under `dir`.
fn torrent(dir: &Path, private: bool) -> Metainfo {
    let file = dir.join("pex.bin");
    std::fs::write(&file, data(256 * 1024, 3)).unwrap();
    let opts = CreateOptions {
        piece_length: Some(64 * 1024),
        private,
        ..CreateOptions::default()
    };
    create_torrent(&file, &opts, &Control::default())
        .unwrap()
        .metainfo
}

/// A peer that connected to the engine, offered ut_pex, and said it
/// listens on `listen_port`.
struct Scripted {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The engine's extension handshake.
    theirs: ExtHandshake,
}

impl Scripted {
    async fn connect(to: SocketAddr, info_hash: InfoHash, tag: u8, listen_port: u16) -> Scripted {
        let mut stream = TcpStream::connect(to).await.unwrap();
        let mut id = *b"-XX0001-pexscripted0";
        id[19] = tag;
        stream
            .write_all(&Handshake::new(info_hash, PeerId(id)).to_bytes())
            .await
            .unwrap();
        let mut hs = [0u8; HANDSHAKE_LEN];
        stream.read_exact(&mut hs).await.unwrap();
        let mut ours = ExtHandshake::default();
        ours.m.insert(UT_PEX.to_owned(), THEIR_UT_PEX);
        ours.listen_port = Some(listen_port);
        let mut out = Vec::new();
        Message::Extended {
            id: 0,
            payload: &ours.encode(),
        }
        .encode(&mut out);
        stream.write_all(&out).await.unwrap();
        let mut peer = Scripted {
            stream,
            buf: Vec::new(),
            theirs: ExtHandshake::default(),
        };
        let (_, payload) = peer
            .next_extended(Instant::now() + Duration::from_secs(20))
            .await
            .expect("no extension handshake from the engine");
        peer.theirs = ExtHandshake::decode(&payload).unwrap();
        peer
    }

    /// The next extended message (id, payload) before `deadline`.
    async fn next_extended(&mut self, deadline: Instant) -> Option<(u8, Vec<u8>)> {
        loop {
            if let Decoded::Done(msg, used) =
                Message::decode(&self.buf, DEFAULT_MAX_MESSAGE_LEN).unwrap()
            {
                let found = match msg {
                    Message::Extended { id, payload } => Some((id, payload.to_vec())),
                    _ => None,
                };
                self.buf.drain(..used);
                if found.is_some() {
                    return found;
                }
                continue;
            }
            let mut chunk = [0u8; 4096];
            let n = timeout(
                deadline.saturating_duration_since(Instant::now()),
                self.stream.read(&mut chunk),
            )
            .await
            .ok()?
            .unwrap();
            assert!(n > 0, "the engine closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn send_pex(&mut self, id: u8, msg: &PexMessage) {
        let mut out = Vec::new();
        Message::Extended {
            id,
            payload: &msg.encode(),
        }
        .encode(&mut out);
        self.stream.write_all(&out).await.unwrap();
    }
}

async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

/// The info-hash of the first handshake made to `l` within `within`.
async fn dialled(l: &TcpListener, within: Duration) -> Option<InfoHash> {
    let (mut s, _) = timeout(within, l.accept()).await.ok()?.unwrap();
    let mut hs = [0u8; HANDSHAKE_LEN];
    s.read_exact(&mut hs).await.unwrap();
    match Handshake::decode(&hs).unwrap() {
        Decoded::Done(h, _) => Some(h.info_hash),
        Decoded::NeedMore(_) => None,
    }
}

#[tokio::test]
async fn a_public_torrent_tells_each_peer_where_the_others_listen_and_dials_the_peers_it_hears_of()
{
    let cancel = CancellationToken::new();
    let tmp = tempfile::tempdir().unwrap();
    let meta = torrent(tmp.path(), false);
    // The scripted peers here speak plaintext only.
    let e = engine(&cancel, |c| c.encryption = Encryption::Disable).await;
    let ih = e.add(add(&meta, tmp.path(), vec![])).await.unwrap();
    assert!(e.wait_complete(ih, Duration::from_secs(20)).await);

    let (_l1, at1) = listener().await;
    let (_l2, at2) = listener().await;
    let (l3, at3) = listener().await;
    let mut one = Scripted::connect(e.listen_addr(), ih, 1, at1.port()).await;
    let _two = Scripted::connect(e.listen_addr(), ih, 2, at2.port()).await;
    let engine_pex = *one.theirs.m.get(UT_PEX).expect("ut_pex offered");

    // The engine tells the first peer where the second listens.
    let deadline = Instant::now() + Duration::from_secs(20);
    let told = loop {
        let (id, payload) = one
            .next_extended(deadline)
            .await
            .expect("no ut_pex message within 20 s");
        if id == THEIR_UT_PEX {
            break PexMessage::decode(&payload).unwrap();
        }
    };
    assert_eq!(
        told.added.iter().map(|&(a, _)| a).collect::<Vec<_>>(),
        [at2]
    );
    assert!(told.dropped.is_empty());

    // And dials a peer the first one tells it of.
    let hint = PexMessage {
        added: vec![(at3, 0)],
        dropped: vec![],
    };
    one.send_pex(engine_pex, &hint).await;
    assert_eq!(dialled(&l3, Duration::from_secs(20)).await, Some(ih));
    cancel.cancel();
}

#[tokio::test]
async fn a_private_torrent_neither_offers_nor_sends_nor_takes_peer_exchange() {
    let cancel = CancellationToken::new();
    let tmp = tempfile::tempdir().unwrap();
    let meta = torrent(tmp.path(), true);
    assert!(meta.info.private);
    // The scripted peers here speak plaintext only.
    let e = engine(&cancel, |c| c.encryption = Encryption::Disable).await;
    // A private torrent takes incoming peers only from addresses it was
    // given (or a tracker listed): this one vouches for loopback.
    let (l1, at1) = listener().await;
    let ih = e.add(add(&meta, tmp.path(), vec![at1])).await.unwrap();
    assert!(e.wait_complete(ih, Duration::from_secs(20)).await);

    let (_l2, at2) = listener().await;
    let (l3, at3) = listener().await;
    let mut one = Scripted::connect(e.listen_addr(), ih, 1, at1.port()).await;
    let _two = Scripted::connect(e.listen_addr(), ih, 2, at2.port()).await;
    assert_eq!(one.theirs.m.get(UT_PEX), None, "{:?}", one.theirs.m);

    // Told of a peer anyway (under the id ut_pex would have), it dials
    // nobody; and it says nothing of its other peers.
    let hint = PexMessage {
        added: vec![(at3, 0)],
        dropped: vec![],
    };
    one.send_pex(2, &hint).await;
    let (said, dial) = tokio::join!(
        async {
            let deadline = Instant::now() + QUIET;
            let mut said = Vec::new();
            while let Some((id, _)) = one.next_extended(deadline).await {
                said.push(id);
            }
            said
        },
        dialled(&l3, QUIET)
    );
    assert_eq!(said, Vec::<u8>::new(), "extended messages sent");
    assert_eq!(dial, None, "dialled a peer it heard of through PEX");
    drop(l1);
    cancel.cancel();
}
