//! The relay's guarantees that hold by construction: nothing arrives
//! before its delay, a capped direction is never faster than its cap, bytes
//! arrive intact and in order, and an EOF crosses like a byte. (How close
//! to the cap it gets is a figure for bench/latency.sh, not a test.)

#![allow(clippy::unwrap_used)]

use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// A relay in this runtime in front of `target`.
async fn relay_to(
    target: SocketAddr,
    delay: Duration,
    rate: Option<u64>,
) -> (SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = CancellationToken::new();
    let config = RelayConfig {
        target,
        delay,
        rate_bytes_per_sec: rate,
    };
    tokio::spawn(serve(listener, config, cancel.clone()));
    (addr, cancel)
}

/// A server that echoes everything back and half-closes after the EOF.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let (mut r, mut w) = s.split();
        tokio::io::copy(&mut r, &mut w).await.unwrap();
        w.shutdown().await.unwrap();
    });
    addr
}

/// Deterministic pseudo-random bytes (xorshift64).
fn fill(buf: &mut [u8], state: &mut u64) {
    for chunk in buf.chunks_mut(8) {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
}

#[tokio::test]
async fn a_ping_pong_through_the_relay_takes_at_least_twice_the_one_way_delay() {
    let delay = Duration::from_millis(50);
    let (relay, _cancel) = relay_to(echo_server().await, delay, None).await;
    let mut s = TcpStream::connect(relay).await.unwrap();
    s.set_nodelay(true).unwrap();
    for i in 0..5u8 {
        let started = Instant::now();
        s.write_all(&[i]).await.unwrap();
        let mut got = [0u8; 1];
        s.read_exact(&mut got).await.unwrap();
        let rtt = started.elapsed();
        eprintln!("round trip {i}: {rtt:?}");
        assert_eq!(got, [i]);
        assert!(rtt >= 2 * delay, "round trip {i} took {rtt:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_mib_cross_the_relay_both_ways_intact_in_order_and_the_eof_follows() {
    const TOTAL: usize = 64 << 20;
    let (relay, _cancel) = relay_to(echo_server().await, Duration::from_millis(5), None).await;
    let s = TcpStream::connect(relay).await.unwrap();
    let (mut r, mut w) = s.into_split();
    let sender = tokio::spawn(async move {
        let mut hash = Sha1::new();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut buf = vec![0u8; 100_003]; // odd size: chunk borders move
        let mut sent = 0;
        while sent < TOTAL {
            let n = buf.len().min(TOTAL - sent);
            fill(&mut buf[..n], &mut state);
            hash.update(&buf[..n]);
            w.write_all(&buf[..n]).await.unwrap();
            sent += n;
        }
        w.shutdown().await.unwrap();
        hash.finalize()
    });
    let mut hash = Sha1::new();
    let mut received = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        // Ends only if the echo server's EOF came back through the relay.
        let n = r.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        received += n;
    }
    assert_eq!(received, TOTAL);
    assert_eq!(hash.finalize(), sender.await.unwrap());
}

#[tokio::test]
async fn a_capped_direction_is_never_faster_than_its_cap() {
    const RATE: u64 = 4_000_000;
    const TOTAL: usize = 4 << 20;
    let delay = Duration::from_millis(20);
    let sink = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_addr = sink.local_addr().unwrap();
    let counted = tokio::spawn(async move {
        let (mut s, _) = sink.accept().await.unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0usize;
        loop {
            let got = s.read(&mut buf).await.unwrap();
            if got == 0 {
                return (n, Instant::now());
            }
            n += got;
        }
    });
    let (relay, _cancel) = relay_to(sink_addr, delay, Some(RATE)).await;
    // Started before the connection exists, so before its token bucket.
    let started = Instant::now();
    let mut s = TcpStream::connect(relay).await.unwrap();
    s.write_all(&vec![7u8; TOTAL]).await.unwrap();
    s.shutdown().await.unwrap();
    let (n, done) = counted.await.unwrap();
    let elapsed = done - started;
    let rate = n as f64 / elapsed.as_secs_f64();
    eprintln!("{n} bytes in {elapsed:?}: {rate:.0} B/s through a {RATE} B/s cap");
    assert_eq!(n, TOTAL);
    let floor = Duration::from_secs_f64((TOTAL - BURST_BYTES) as f64 / RATE as f64) + delay;
    assert!(
        elapsed >= floor,
        "{elapsed:?} is faster than the cap allows ({floor:?})"
    );
}

#[test]
fn a_capped_direction_queues_its_bandwidth_delay_product_and_a_little_room() {
    let config = RelayConfig {
        target: "127.0.0.1:1".parse().unwrap(),
        delay: Duration::from_millis(50),
        rate_bytes_per_sec: Some(20_000_000),
    };
    assert_eq!(config.buffer_bytes(), 1_000_000 + ROOM_BYTES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direction_whose_receiver_does_not_read_holds_at_most_its_buffer() {
    const TOTAL: usize = 32 << 20;
    let config = RelayConfig {
        target: "127.0.0.1:1".parse().unwrap(),
        delay: Duration::from_millis(10),
        rate_bytes_per_sec: Some(100_000_000),
    };
    let budget = config.buffer_bytes();
    let sink = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = RelayConfig {
        target: sink.local_addr().unwrap(),
        ..config
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay = listener.local_addr().unwrap();
    let stats = Arc::new(RelayStats::default());
    tokio::spawn(serve_counted(
        listener,
        config,
        stats.clone(),
        CancellationToken::new(),
    ));
    let sender = tokio::spawn(async move {
        let mut s = TcpStream::connect(relay).await.unwrap();
        s.write_all(&vec![1u8; TOTAL]).await.unwrap();
        s.shutdown().await.unwrap();
    });
    let (mut receiver, _) = sink.accept().await.unwrap();
    // The sender floods 32 MiB while nobody reads: the relay fills its
    // queue (all but the chunk waiting for room) and must then stop reading.
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats.queued() + (READ_CHUNK_BYTES as u64) < budget {
        assert!(Instant::now() < deadline, "the queue never filled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = receiver.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        got += n;
    }
    sender.await.unwrap();
    assert_eq!(got, TOTAL);
    let peak = stats.peak_queued();
    eprintln!("peak queued {peak} bytes, bound {budget} + one read");
    assert!(
        peak <= budget + READ_CHUNK_BYTES as u64,
        "{peak} bytes held, more than {budget} + one read"
    );
}
