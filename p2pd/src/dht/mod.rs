//! The BitTorrent DHT ([BEP 5](https://www.bittorrent.org/beps/bep_0005.html)):
//! one node of the `mainline` crate per engine, bound on UDP (by default
//! on the port number the engine gives: its TCP listener's, or the next one
//! when uTP holds that), kept across restarts through a
//! small nodes file. What the engine sees is "peers for this info-hash"
//! ([`DhtNode::lookup`]), our node's port for BEP 5's PORT message, a place
//! to hand the nodes peers name in PORT messages, and a status line.
//!
//! Must not decide which torrents are looked up: the engine never asks for
//! a private torrent (BEP 27). Does not parse KRPC itself: mainline does
//! (bencode through serde, datagrams capped at 2048 bytes).
//!
//! IPv4 only: mainline 8 binds one IPv4 socket and has no BEP 32 (IPv6 DHT).

mod nodes_file;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use mainline::Id;
use mainline::async_dht::AsyncDht;
use p2p_proto::infohash::InfoHash;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::{AbortOnDropHandle, TaskTracker};

/// How often the known nodes are written while running (and at shutdown).
const SAVE_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// Longest one lookup (get_peers, then announce_peer) may take.
const LOOKUP_DEADLINE: Duration = Duration::from_secs(60);
/// Most nodes learnt from PORT messages kept for the nodes file.
const MAX_PORT_NODES: usize = 8;

/// How the DHT node runs. The default: on the engine's default port, through
/// the public routers, server mode only once reachable, no nodes file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DhtConfig {
    /// UDP port; `None` takes the default port [`DhtNode::start`] is
    /// given, 0 any free port.
    pub port: Option<u16>,
    /// Nodes (`host:port`) to join the DHT through; `None` takes mainline's
    /// public routers, an empty list starts a DHT of our own.
    pub bootstrap: Option<Vec<String>>,
    /// Answer other nodes' queries from the start. Off, mainline answers
    /// only once it has seen it can be reached from outside (and queries
    /// say "read-only" until then), which is right on the internet; a
    /// private network of nodes (tests on 127.0.0.1) needs it on.
    pub server_mode: bool,
    /// Where the known nodes are kept across restarts (`None`: nowhere).
    pub nodes_file: Option<PathBuf>,
}

/// The bootstrap nodes mainline uses when none are configured.
pub fn default_bootstrap() -> Vec<String> {
    mainline::DEFAULT_BOOTSTRAP_NODES
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// What `p2pctl status` shows of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhtStatus {
    /// Our UDP port.
    pub port: u16,
    /// Nodes in the routing table seen recently.
    pub nodes: usize,
    /// Answering other nodes' queries.
    pub server_mode: bool,
    /// Not (yet) seen reachable from outside.
    pub firewalled: bool,
    /// Our address as other nodes see it, once they agree.
    pub public_address: Option<SocketAddr>,
}

/// A running DHT node; clones share it. It stops when every clone is
/// dropped after the cancellation token fired.
#[derive(Debug, Clone)]
pub struct DhtNode {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dht: AsyncDht,
    port: u16,
    /// Nodes named by peers' PORT messages (see [`DhtNode::add_node`]).
    port_nodes: Mutex<Vec<SocketAddrV4>>,
}

impl DhtNode {
    /// Binds the node on `listen`'s address (the port from the config, else
    /// `listen`'s, else any free one when that is taken) and joins the DHT
    /// through the configured and the saved nodes. Its task (saving the
    /// known nodes now and then, and once more when `cancel` fires) goes
    /// on `tasks`.
    pub async fn start(
        config: &DhtConfig,
        listen: SocketAddr,
        cancel: CancellationToken,
        tasks: &TaskTracker,
    ) -> std::io::Result<DhtNode> {
        let bind = match listen.ip() {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
        };
        let port = config.port.unwrap_or(listen.port());
        let nodes_file = config.nodes_file.clone();
        let config = config.clone();
        // Bootstrap host names are resolved while building: blocking.
        let (dht, saved) = tokio::task::spawn_blocking(move || {
            let saved = config
                .nodes_file
                .as_deref()
                .map(nodes_file::load)
                .unwrap_or_default();
            // Probed first: mainline's actor thread may panic instead of
            // answering when its socket cannot bind. The TCP port's number
            // is only a default (another program may hold that UDP port);
            // a port asked for is not replaced.
            let port = match std::net::UdpSocket::bind((bind, port)) {
                Ok(_) => port,
                Err(e) if config.port.is_none() && e.kind() == ErrorKind::AddrInUse => {
                    tracing::warn!("UDP port {port} is taken ({e}): the DHT takes a free port");
                    0
                }
                Err(e) => return Err(e),
            };
            let mut builder = mainline::Dht::builder();
            builder.bind_address(bind).port(port);
            if config.server_mode {
                builder.server_mode();
            }
            // Named even when they are mainline's own: its extra_bootstrap
            // replaces the default list instead of adding to it.
            let nodes = config.bootstrap.clone().unwrap_or_else(default_bootstrap);
            builder.bootstrap(&nodes);
            if !saved.is_empty() {
                builder.extra_bootstrap(&saved);
            }
            builder.build().map(|d| (d.as_async(), saved.len()))
        })
        .await
        .map_err(std::io::Error::other)??;
        let info = dht.info().await;
        tracing::info!(
            server_mode = info.server_mode(),
            "DHT node on UDP {}, {saved} saved nodes to start from",
            info.local_addr()
        );
        let local = info.local_addr();
        let node = DhtNode {
            inner: Arc::new(Inner {
                dht,
                port: local.port(),
                port_nodes: Mutex::new(Vec::new()),
            }),
        };
        tasks.spawn(keep_nodes(node.clone(), nodes_file, cancel));
        Ok(node)
    }

    /// Our UDP port, for PORT messages.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// Asks the DHT for peers of `info_hash`, handing each answer's peers
    /// to `found` as they come, then (with `announce_port`) announces us
    /// on that TCP port to the closest nodes that answered. At most
    /// a minute; returns how many peers were found.
    pub async fn lookup(
        &self,
        info_hash: InfoHash,
        announce_port: Option<u16>,
        mut found: impl FnMut(Vec<SocketAddr>),
    ) -> usize {
        let Ok(id) = Id::from_bytes(info_hash.0) else {
            return 0;
        };
        // mainline's handle panics if its actor thread is gone: the search
        // runs in a task of its own, so that would end this lookup, not
        // the caller (a torrent's manager).
        let (tx, mut answers) = mpsc::unbounded_channel::<Vec<SocketAddrV4>>();
        let dht = self.inner.dht.clone();
        let search = AbortOnDropHandle::new(tokio::spawn(async move {
            let work = async {
                let mut stream = dht.get_peers(id);
                while let Some(peers) = stream.next().await {
                    if tx.send(peers).is_err() {
                        return;
                    }
                }
                drop(tx);
                if let Some(port) = announce_port
                    && let Err(e) = dht.announce_peer(id, Some(port)).await
                {
                    tracing::debug!(torrent = %info_hash, "DHT announce failed: {e}");
                }
            };
            if tokio::time::timeout(LOOKUP_DEADLINE, work).await.is_err() {
                tracing::debug!(torrent = %info_hash, "DHT lookup cut at {LOOKUP_DEADLINE:?}");
            }
        }));
        let mut count = 0;
        while let Some(peers) = answers.recv().await {
            count += peers.len();
            found(peers.into_iter().map(SocketAddr::V4).collect());
        }
        if let Err(e) = search.await {
            tracing::warn!(torrent = %info_hash, "DHT lookup failed: {e}");
        }
        count
    }

    /// A peer named its DHT node in a PORT message. mainline 8 has no way
    /// to add a node to a running routing table (it adds nodes that answer
    /// its own queries), so the node is kept for the nodes file: it helps
    /// the next start, when the routing table may be cold.
    pub fn add_node(&self, addr: SocketAddr) {
        let SocketAddr::V4(addr) = addr else {
            return; // no IPv6 DHT (BEP 32) in mainline 8
        };
        if addr.port() == 0 || addr.ip().is_unspecified() {
            return;
        }
        let mut nodes = self
            .inner
            .port_nodes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !nodes.contains(&addr) {
            if nodes.len() == MAX_PORT_NODES {
                nodes.remove(0);
            }
            nodes.push(addr);
        }
    }

    /// The node's state for `p2pctl status`.
    pub async fn status(&self) -> DhtStatus {
        let info = self.inner.dht.info().await;
        let nodes = self.inner.dht.to_bootstrap().await.len();
        DhtStatus {
            port: self.inner.port,
            nodes,
            server_mode: info.server_mode(),
            firewalled: info.firewalled(),
            public_address: info.public_address().map(SocketAddr::V4),
        }
    }

    /// The nodes worth starting from next time: the routing table's
    /// fresh nodes first, then those peers named.
    async fn known_nodes(&self) -> Vec<SocketAddrV4> {
        let mut nodes: Vec<SocketAddrV4> = self
            .inner
            .dht
            .to_bootstrap()
            .await
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let named = self
            .inner
            .port_nodes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for n in named {
            if !nodes.contains(&n) {
                nodes.push(n);
            }
        }
        nodes.truncate(nodes_file::MAX_SAVED_NODES);
        nodes
    }

    /// Writes the known nodes to `path`; an empty table leaves the file
    /// as it was (a node cut off from the network keeps its old list).
    pub async fn save_nodes(&self, path: PathBuf) -> std::io::Result<usize> {
        let nodes = self.known_nodes().await;
        if nodes.is_empty() {
            return Ok(0);
        }
        let n = nodes.len();
        tokio::task::spawn_blocking(move || nodes_file::save(&path, &nodes))
            .await
            .map_err(std::io::Error::other)??;
        Ok(n)
    }
}

/// Saves the known nodes every [`SAVE_INTERVAL`] and when `cancel` fires.
async fn keep_nodes(node: DhtNode, path: Option<PathBuf>, cancel: CancellationToken) {
    let Some(path) = path else {
        return;
    };
    let mut tick = tokio::time::interval(SAVE_INTERVAL);
    tick.tick().await;
    loop {
        let stopping = tokio::select! {
            _ = cancel.cancelled() => true,
            _ = tick.tick() => false,
        };
        match node.save_nodes(path.clone()).await {
            Ok(n) => tracing::debug!("{n} DHT nodes written to {}", path.display()),
            Err(e) => tracing::warn!("cannot write the DHT nodes to {}: {e}", path.display()),
        }
        if stopping {
            return;
        }
    }
}
