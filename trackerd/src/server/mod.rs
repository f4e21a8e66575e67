//! Serving: a bound listener and a cancellation token in, the bound address
//! out. Custom accept loops (one per worker) cap connections (semaphore) and
//! answer announces and scrapes on a fast path (`conn`); everything else goes
//! to hyper, which caps head size and header read time, and the router,
//! under a request timeout. Shutdown sends the session and event streams
//! their `shutdown` event, stops accepting, drains connections with a
//! deadline, then flushes counters to the store. Must not contain tracker
//! policy.

mod accept;
mod conn;
mod prefixed;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::Tracker;
use crate::config::Config;
use crate::http;
use crate::store::{self, StoreError};
use conn::Shared;

/// How long shutdown waits for open connections to finish.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);
/// hyper's smallest accepted read buffer.
const MIN_HEADER_BUFFER_BYTES: usize = 8192;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened or read.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The listener has no address.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
    /// The UDP port of the listener's number cannot be had (`announce.udp`).
    #[error("binding udp {0} for UDP announces (announce.udp = false turns them off): {1}")]
    Udp(SocketAddr, std::io::Error),
}

/// A started server.
#[derive(Debug)]
pub struct Running {
    /// The address the listener is bound to.
    pub addr: SocketAddr,
    /// The tracker state (for tests and embedding).
    pub tracker: Arc<Tracker>,
    handle: JoinHandle<()>,
}

impl Running {
    /// Waits until the server has shut down (after its token is cancelled)
    /// and its counters are flushed.
    pub async fn wait(self) {
        if let Err(e) = self.handle.await {
            tracing::error!("server task failed: {e}");
        }
    }
}

/// Opens the store, loads the tracker and serves on `listener` until `token`
/// is cancelled. Cancelling `token` also tells every session and event
/// stream that the tracker is stopping (each gets a `shutdown` event).
pub async fn start(
    config: Config,
    listener: TcpListener,
    token: CancellationToken,
) -> Result<Running, ServerError> {
    let addr = listener.local_addr()?;
    let udp = match config.announce.udp {
        true => Some(
            tokio::net::UdpSocket::bind(addr)
                .await
                .map_err(|e| ServerError::Udp(addr, e))?,
        ),
        false => None,
    };
    let store = store::open(&config.database_url()).await?;
    let tracker = Arc::new(Tracker::load(config, store).await?);
    tracker.community.shutdown_with(token.clone());
    // Other instances on the same database (issue 16): their peers before
    // the first announce is answered.
    let cluster = TaskTracker::new();
    crate::cluster::start(tracker.clone(), token.child_token(), &cluster).await?;
    cluster.close();
    let t = tracker.clone();
    let handle = tokio::spawn(async move {
        let housekeeping = tokio::spawn(housekeeping(t.clone(), token.child_token()));
        let udp = udp
            .map(|socket| tokio::spawn(crate::udp::serve(socket, t.clone(), token.child_token())));
        serve(listener, t.clone(), token).await;
        if let Some(task) = udp
            && let Err(e) = task.await
        {
            tracing::error!("UDP task failed: {e}");
        }
        if let Err(e) = housekeeping.await {
            tracing::error!("housekeeping task failed: {e}");
        }
        // The last batch of peer changes goes out before the store closes.
        cluster.wait().await;
        match t.flush().await {
            Ok(n) if n > 0 => tracing::info!("flushed {n} completed counters"),
            Ok(_) => {}
            Err(e) => tracing::error!("final flush of completed counters failed: {e}"),
        }
        if let Err(e) = t.store.close().await {
            tracing::warn!("closing the store: {e}");
        }
    });
    Ok(Running {
        addr,
        tracker,
        handle,
    })
}

/// Periodic work: flush counters, measure the announce rate, expire peers.
async fn housekeeping(t: Arc<Tracker>, token: CancellationToken) {
    let flush_every = Duration::from_millis(t.config.store.flush_interval_ms.max(10));
    let purge_every = Duration::from_secs((t.config.announce.peer_timeout_secs / 4).clamp(1, 60));
    let mut flush = tokio::time::interval(flush_every);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut purge = tokio::time::interval(purge_every);
    let mut sample = tokio::time::interval(crate::web::samples::SAMPLE_EVERY);
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = flush.tick() => {
                if let Err(e) = t.flush().await {
                    tracing::warn!("flushing completed counters: {e}");
                }
            }
            _ = tick.tick() => t.stats.tick(Instant::now()),
            _ = sample.tick() => take_sample(&t).await,
            _ = purge.tick() => {
                let t = t.clone();
                match tokio::task::spawn_blocking(move || t.purge(Instant::now())).await {
                    Ok(n) if n > 0 => tracing::debug!("expired {n} peers"),
                    Ok(_) => {}
                    Err(e) => tracing::error!("purge task failed: {e}"),
                }
            }
        }
    }
}

/// Adds a reading to the dashboard's charts of the last hour.
async fn take_sample(t: &Tracker) {
    let totals = t.totals();
    let online = match t.community.online_names().await {
        Ok(names) => names.len() as u64,
        Err(e) => {
            tracing::warn!("counting online users: {e}");
            return;
        }
    };
    t.samples.push(crate::web::samples::Sample {
        at: t.community.now(),
        announces_per_second: t.stats.announce_rate(),
        seeders: totals.seeders as u64,
        leechers: totals.leechers as u64,
        online,
    });
}

/// The accept loop. Returns after `token` is cancelled and open connections
/// finished (or [`SHUTDOWN_DEADLINE`] passed).
pub async fn serve(listener: TcpListener, tracker: Arc<Tracker>, token: CancellationToken) {
    let limits = tracker.config.http.clone();
    let mut hyper = http1::Builder::new();
    hyper
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_secs.max(1)))
        .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BUFFER_BYTES))
        .max_headers(64);
    let shared = Arc::new(Shared {
        router: http::router(tracker.clone()),
        tracker,
        hyper,
        header_read_timeout: Duration::from_secs(limits.header_read_timeout_secs.max(1)),
        request_timeout: Duration::from_secs(limits.request_timeout_secs.max(1)),
        connections: TaskTracker::new(),
        token,
    });
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // One acceptor per worker thread: each answers whole requests inline,
    // so all cores take connections.
    let listener = Arc::new(listener);
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    let mut acceptors = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        acceptors.spawn(accept::run(
            listener.clone(),
            shared.clone(),
            permits.clone(),
        ));
    }
    drop(listener);
    while let Some(r) = acceptors.join_next().await {
        if let Err(e) = r {
            tracing::error!("accept task failed: {e}");
        }
    }
    shared.connections.close();
    if tokio::time::timeout(SHUTDOWN_DEADLINE, shared.connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open at the shutdown deadline");
    }
}
