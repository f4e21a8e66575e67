//! A bare-bones BitTorrent peer for attack tests: connects from a chosen
//! loopback address (Linux answers for all of 127/8), sends a handshake,
//! asks for the first metadata piece (BEP 9) and the first block, and
//! reports what it got before the other side closed or the time ran out.

#![allow(clippy::unwrap_used)] // test support, like tests, may unwrap

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::wire::{
    BlockRef, Decoded, ExtHandshake, HANDSHAKE_LEN, Handshake, Message, MetadataMsg, PeerId,
    UT_METADATA,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

/// Our id for ut_metadata replies.
const OUR_UT_METADATA: u8 = 3;

/// What a raw peer got from the other side.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Bytes received in all.
    pub bytes: usize,
    /// A handshake for the right torrent came back.
    pub handshake: bool,
    /// Bytes of the info dictionary received (ut_metadata data).
    pub metadata_bytes: usize,
    /// Bytes of file data received (piece messages).
    pub piece_bytes: usize,
    /// The other side closed the connection.
    pub closed: bool,
}

/// Connects from `from` to `to`, asks for metadata and a block of
/// `info_hash`, and gives up after `within`.
pub fn fetch(from: IpAddr, to: SocketAddr, info_hash: InfoHash, within: Duration) -> Fetched {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut got = Fetched::default();
            let _ = tokio::time::timeout(within, run(from, to, info_hash, &mut got)).await;
            got
        })
}

async fn run(from: IpAddr, to: SocketAddr, info_hash: InfoHash, got: &mut Fetched) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let Ok(mut s) = socket.connect(to).await else {
        got.closed = true;
        return;
    };
    let mut out = Handshake::new(info_hash, PeerId(*b"-XX0001-attacker0000"))
        .to_bytes()
        .to_vec();
    let mut ext = ExtHandshake::default();
    ext.m.insert(UT_METADATA.to_owned(), OUR_UT_METADATA);
    Message::Extended {
        id: 0,
        payload: &ext.encode(),
    }
    .encode(&mut out);
    Message::Interested.encode(&mut out);
    if s.write_all(&out).await.is_err() {
        got.closed = true;
        return;
    }
    let mut buf = Vec::new();
    let mut asked_block = false;
    loop {
        let mut chunk = [0u8; 65536];
        let n = match s.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                got.closed = true;
                return;
            }
            Ok(n) => n,
        };
        got.bytes += n;
        buf.extend_from_slice(&chunk[..n]);
        if !got.handshake {
            if buf.len() < HANDSHAKE_LEN {
                continue;
            }
            let Ok(Decoded::Done(h, _)) = Handshake::decode(&buf[..HANDSHAKE_LEN]) else {
                return;
            };
            got.handshake = h.info_hash == info_hash;
            buf.drain(..HANDSHAKE_LEN);
        }
        let mut replies = Vec::new();
        let mut used = 0;
        while let Ok(Decoded::Done(msg, len)) = Message::decode(&buf[used..], 1 << 21) {
            used += len;
            match msg {
                Message::Extended { id: 0, payload } => {
                    if let Some(id) = ExtHandshake::decode(payload)
                        .ok()
                        .and_then(|h| h.m.get(UT_METADATA).copied())
                    {
                        let ask = MetadataMsg::Request { piece: 0 }.encode();
                        Message::Extended { id, payload: &ask }.encode(&mut replies);
                    }
                }
                Message::Extended {
                    id: OUR_UT_METADATA,
                    payload,
                } => {
                    if let Ok(MetadataMsg::Data { data, .. }) = MetadataMsg::decode(payload) {
                        got.metadata_bytes += data.len();
                    }
                }
                Message::Unchoke if !asked_block => {
                    asked_block = true;
                    let b = BlockRef {
                        index: 0,
                        begin: 0,
                        length: 16384,
                    };
                    Message::Request(b).encode(&mut replies);
                }
                Message::Piece { data, .. } => got.piece_bytes += data.len(),
                _ => {}
            }
        }
        buf.drain(..used);
        if got.metadata_bytes > 0 && got.piece_bytes > 0 {
            return;
        }
        if !replies.is_empty() && s.write_all(&replies).await.is_err() {
            got.closed = true;
            return;
        }
    }
}
