//! A TCP relay that adds a fixed one-way delay (and optionally a rate cap)
//! to every byte, so tests and benchmarks can measure transfers over a
//! "distant" link on one machine (the kernel here has no netem). Written
//! for tests and benchmarks, not for production traffic.
//!
//! For every accepted connection it opens one to the target and runs one
//! pipe per direction: the reading half stamps each chunk with the time it
//! was read plus the delay and queues it; the writing half delivers each
//! chunk when its time has come. The delay therefore adds latency, not a
//! throughput limit: a pipe carries up to `buffer_bytes / delay`.
//!
//! - Rate cap: a token bucket per direction per connection (not shared
//!   between connections), with a burst of [`BURST_BYTES`]. Over any span
//!   `t` a direction delivers at most `BURST_BYTES + rate * t` bytes.
//! - Memory: each direction holds at most `buffer_bytes` plus one read
//!   chunk; when full it stops reading, so the sender feels back-pressure
//!   through TCP like on a real link with a bounded queue.
//! - Half-close: an EOF is delivered like a byte (after the delay) as a
//!   `shutdown(Write)` on the other socket. A read or write error closes
//!   both sockets of the connection.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Largest chunk read from a socket at once.
const READ_CHUNK_BYTES: usize = 64 << 10;
/// Token bucket depth of a capped direction: what it may send at once
/// after being idle.
pub const BURST_BYTES: usize = 64 << 10;
/// What a capped direction writes at once.
const SLICE_BYTES: usize = 16 << 10;
/// Queue room beyond the bandwidth-delay product of a capped direction.
const ROOM_BYTES: u64 = 1 << 20;
/// Queue bound of an uncapped direction: 32 MiB over 50 ms is 670 MB/s.
const UNCAPPED_BUFFER_BYTES: u64 = 32 << 20;

/// What the relay does to the bytes it carries.
#[derive(Debug, Clone, Copy)]
pub struct RelayConfig {
    /// Where every accepted connection is forwarded.
    pub target: SocketAddr,
    /// Added to every byte, each way (a round trip gains twice this).
    pub delay: Duration,
    /// Cap per direction per connection, bytes per second; `None`: no cap.
    pub rate_bytes_per_sec: Option<u64>,
}

impl RelayConfig {
    /// Bytes a direction queues before it stops reading: the
    /// bandwidth-delay product plus room when capped, else a fixed bound.
    pub fn buffer_bytes(&self) -> u64 {
        match self.rate_bytes_per_sec {
            Some(rate) => {
                let bdp = (rate as u128 * self.delay.as_micros() / 1_000_000) as u64;
                bdp.saturating_add(ROOM_BYTES)
            }
            None => UNCAPPED_BUFFER_BYTES,
        }
    }
}

/// Bytes read and not yet delivered, over every direction of every
/// connection of one relay: what it holds in memory.
#[derive(Debug, Default)]
pub struct RelayStats {
    queued: AtomicU64,
    peak_queued: AtomicU64,
}

impl RelayStats {
    /// Bytes held now.
    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }
    /// The most bytes held at any time.
    pub fn peak_queued(&self) -> u64 {
        self.peak_queued.load(Ordering::Relaxed)
    }
    fn add(&self, n: u64) {
        let now = self.queued.fetch_add(n, Ordering::Relaxed) + n;
        self.peak_queued.fetch_max(now, Ordering::Relaxed);
    }
    fn sub(&self, n: u64) {
        self.queued.fetch_sub(n, Ordering::Relaxed);
    }
}

/// Accepts connections on `listener` and relays each until `cancel` fires.
pub async fn serve(
    listener: TcpListener,
    config: RelayConfig,
    cancel: CancellationToken,
) -> io::Result<()> {
    serve_counted(listener, config, Arc::default(), cancel).await
}

/// [`serve`], counting what it holds in `stats`.
pub async fn serve_counted(
    listener: TcpListener,
    config: RelayConfig,
    stats: Arc<RelayStats>,
    cancel: CancellationToken,
) -> io::Result<()> {
    loop {
        let (inbound, _) = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            accepted = listener.accept() => accepted?,
        };
        let conn_cancel = cancel.child_token();
        let stats = stats.clone();
        tokio::spawn(async move {
            if let Err(e) = relay_connection(inbound, config, stats, conn_cancel).await {
                eprintln!("relay: connection to {} ended: {e}", config.target);
            }
        });
    }
}

async fn relay_connection(
    inbound: TcpStream,
    config: RelayConfig,
    stats: Arc<RelayStats>,
    cancel: CancellationToken,
) -> io::Result<()> {
    let outbound = tokio::select! {
        _ = cancel.cancelled() => return Ok(()),
        c = TcpStream::connect(config.target) => c?,
    };
    inbound.set_nodelay(true)?;
    outbound.set_nodelay(true)?;
    let (in_r, in_w) = inbound.into_split();
    let (out_r, out_w) = outbound.into_split();
    let there = pipe(in_r, out_w, config, stats.clone(), cancel.clone());
    let back = pipe(out_r, in_w, config, stats, cancel.clone());
    let (a, b) = tokio::join!(there, back);
    a.and(b)
}

/// One direction: read, stamp, queue; deliver each chunk at its time.
async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    config: RelayConfig,
    stats: Arc<RelayStats>,
    cancel: CancellationToken,
) -> io::Result<()> {
    let budget = config.buffer_bytes();
    let permits = u32::try_from(budget).unwrap_or(u32::MAX) as usize;
    let room = Arc::new(Semaphore::new(permits));
    // Unbounded in count, bounded in bytes by `room`.
    let (tx, mut rx) =
        mpsc::unbounded_channel::<(Instant, Option<Vec<u8>>, OwnedSemaphorePermit)>();
    let delay = config.delay;
    let counted = stats.clone();
    let reader = async move {
        loop {
            let mut buf = vec![0u8; READ_CHUNK_BYTES];
            let n = from.read(&mut buf).await?;
            let due = Instant::now() + delay;
            // Wait for room after the read: the queue may exceed its bound
            // by one chunk, never more.
            let permit = room
                .clone()
                .acquire_many_owned(n.max(1) as u32)
                .await
                .map_err(io::Error::other)?;
            if n == 0 {
                let _ = tx.send((due, None, permit));
                return Ok::<_, io::Error>(());
            }
            buf.truncate(n);
            counted.add(n as u64);
            if tx.send((due, Some(buf), permit)).is_err() {
                return Ok(());
            }
        }
    };
    let writer = async move {
        let mut bucket = config.rate_bytes_per_sec.map(TokenBucket::new);
        while let Some((due, chunk, _permit)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            let Some(chunk) = chunk else {
                return to.shutdown().await;
            };
            match &mut bucket {
                None => to.write_all(&chunk).await?,
                Some(bucket) => {
                    for slice in chunk.chunks(SLICE_BYTES) {
                        bucket.take(slice.len() as u64).await;
                        to.write_all(slice).await?;
                    }
                }
            }
            stats.sub(chunk.len() as u64);
        }
        Ok(())
    };
    // An error on either side ends the whole connection (both pipes).
    let result = tokio::select! {
        _ = cancel.cancelled() => Ok(()),
        r = async { tokio::try_join!(reader, writer).map(|_| ()) } => r,
    };
    if result.is_err() {
        cancel.cancel();
    }
    result
}

/// Tokens are bytes; the bucket holds at most [`BURST_BYTES`].
struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: u64) -> Self {
        TokenBucket {
            rate: rate.max(1) as f64,
            tokens: BURST_BYTES as f64,
            last: Instant::now(),
        }
    }

    /// Takes `n` tokens (at most [`SLICE_BYTES`]), waiting while the bucket
    /// is in debt. Time overslept is credited (up to [`BURST_BYTES`]), so
    /// timer granularity does not slow the rate.
    async fn take(&mut self, n: u64) {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(BURST_BYTES as f64) - n as f64;
        self.last = now;
        if self.tokens < 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(-self.tokens / self.rate)).await;
        }
    }
}

/// A relay on its own thread and runtime, for synchronous tests. Stops
/// when dropped.
#[derive(Debug)]
pub struct Relay {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
    cancel: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    /// Binds 127.0.0.1:0 and relays every connection to `config.target`.
    pub fn start(config: RelayConfig) -> io::Result<Relay> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let thread = std::thread::spawn(move || {
            rt.block_on(async move {
                match TcpListener::from_std(std_listener) {
                    Ok(listener) => {
                        if let Err(e) = serve(listener, config, stop).await {
                            eprintln!("relay: stopped: {e}");
                        }
                    }
                    Err(e) => eprintln!("relay: cannot listen: {e}"),
                }
            });
        });
        Ok(Relay {
            addr,
            cancel,
            thread: Some(thread),
        })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
#[path = "relay_tests.rs"]
mod tests;
