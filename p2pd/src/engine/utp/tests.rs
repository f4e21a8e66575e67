use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::*;

async fn socket(cancel: &CancellationToken, max: usize) -> (UtpSocket, SocketAddr) {
    let s = bind("127.0.0.1:0".parse().unwrap(), max, cancel.clone())
        .await
        .unwrap();
    tokio::spawn(drive(s.clone()));
    let addr = s.local_addr().unwrap();
    (s, addr)
}

#[tokio::test]
async fn bytes_cross_both_ways_intact_and_the_end_is_seen() {
    let cancel = CancellationToken::new();
    let (a, _) = socket(&cancel, 10).await;
    let (b, b_addr) = socket(&cancel, 10).await;
    let data: Vec<u8> = (0..8_000_000u32).map(|i| (i % 253) as u8).collect();
    let sent = data.clone();
    let server = tokio::spawn(async move {
        let stream = b.accept().await.unwrap();
        let (mut r, mut w) = stream.split();
        let mut got = Vec::new();
        r.read_to_end(&mut got).await.unwrap();
        w.write_all(b"thanks").await.unwrap();
        got
    });
    let stream = connect(&a, b_addr).await.unwrap();
    let (mut r, mut w) = stream.split();
    w.write_all(&sent).await.unwrap();
    w.shutdown().await.unwrap();
    let mut reply = Vec::new();
    r.read_to_end(&mut reply).await.unwrap();
    assert_eq!(reply, b"thanks");
    assert!(server.await.unwrap() == data);
    cancel.cancel();
}

#[tokio::test]
async fn a_port_without_utp_refuses_or_times_out() {
    let cancel = CancellationToken::new();
    let (a, _) = socket(&cancel, 10).await;
    // A bound UDP socket that is not uTP: nothing answers.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        connect(&a, silent.local_addr().unwrap()),
    )
    .await;
    assert!(r.is_err(), "connected to a silent port");
    // Our own socket answers a stranger's data packet with a reset.
    let (_b, b_addr) = socket(&cancel, 10).await;
    let mut data = Vec::new();
    let h = p2p_proto::utp::packet::Header {
        ty: p2p_proto::utp::packet::PacketType::Data,
        conn_id: 77,
        timestamp_us: 0,
        timestamp_diff_us: 0,
        wnd_size: 0,
        seq_nr: 5,
        ack_nr: 0,
    };
    p2p_proto::utp::packet::encode(&h, None, None, b"x", &mut data);
    let stranger = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    stranger.send_to(&data, b_addr).await.unwrap();
    let mut buf = [0; 100];
    let (n, _) = stranger.recv_from(&mut buf).await.unwrap();
    let p = p2p_proto::utp::packet::decode(&buf[..n]).unwrap();
    assert_eq!(p.header.ty, p2p_proto::utp::packet::PacketType::Reset);
    cancel.cancel();
}

#[tokio::test]
async fn a_syn_flood_makes_no_more_connections_than_the_bound() {
    let cancel = CancellationToken::new();
    let (b, b_addr) = socket(&cancel, 5).await;
    let flood = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = [0; 100];
    let mut answered = 0;
    for id in 0..50u16 {
        let mut syn = [0u8; 20];
        syn[0] = 0x41;
        syn[2..4].copy_from_slice(&(id * 2).to_be_bytes());
        syn[16..18].copy_from_slice(&1u16.to_be_bytes());
        flood.send_to(&syn, b_addr).await.unwrap();
        if tokio::time::timeout(
            std::time::Duration::from_millis(200),
            flood.recv_from(&mut buf),
        )
        .await
        .is_ok()
        {
            answered += 1;
        }
    }
    assert_eq!(answered, 5);
    assert_eq!(b.conns().len(), 5);
    cancel.cancel();
}
