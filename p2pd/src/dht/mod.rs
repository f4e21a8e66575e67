//! The BitTorrent DHT ([BEP 5](https://www.bittorrent.org/beps/bep_0005.html),
//! with [BEP 32](https://www.bittorrent.org/beps/bep_0032.html) for IPv6):
//! our own node (`p2p_proto::dht`, sans-io) run by one task per engine on
//! an IPv4 and an IPv6 UDP socket bound on the same port (by default the
//! port number the engine gives: its TCP listener's, or the next one when
//! uTP holds that), kept across restarts through a small nodes file. What
//! the engine sees is "peers for this info-hash" ([`DhtNode::lookup`]),
//! our node's port for BEP 5's PORT message, a place to hand the nodes
//! peers name in PORT messages, and a status line.
//!
//! Must not decide which torrents are looked up: the engine never asks for
//! a private torrent (BEP 27).

mod driver;
mod nodes_file;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use p2p_proto::dht::NodeId;
use p2p_proto::dht::machine::{Config, Dht};
use p2p_proto::infohash::InfoHash;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use driver::{Command, Snapshot, Sockets};

/// How often the known nodes are written while running (and at shutdown).
const SAVE_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// Longest one lookup (get_peers, then announce_peer) may take.
const LOOKUP_DEADLINE: Duration = Duration::from_secs(60);
/// Most nodes learnt from PORT messages kept for the nodes file.
const MAX_PORT_NODES: usize = 8;
/// Longest a bootstrap host name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Commands queued to the node's task; a PORT node beyond is dropped.
const COMMAND_QUEUE: usize = 256;

/// The routers the common clients join the public DHT through.
const PUBLIC_ROUTERS: [&str; 4] = [
    "router.bittorrent.com:6881",
    "dht.transmissionbt.com:6881",
    "dht.libtorrent.org:25401",
    "router.utorrent.com:6881",
];

/// How the DHT node runs. The default: on the engine's default port, through
/// the public routers, a full node (not read-only), no nodes file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhtConfig {
    /// UDP port; `None` takes the default port [`DhtNode::start`] is
    /// given, 0 any free port.
    pub port: Option<u16>,
    /// Nodes (`host:port`) to join the DHT through; `None` takes the
    /// public routers, an empty list starts a DHT of our own.
    pub bootstrap: Option<Vec<String>>,
    /// A full node. Off, our queries say read-only (BEP 43): others answer
    /// us but keep us out of their routing tables, right for a node they
    /// cannot reach. Queries that reach us are answered either way.
    pub server_mode: bool,
    /// Where the known nodes are kept across restarts (`None`: nowhere).
    pub nodes_file: Option<PathBuf>,
}

impl Default for DhtConfig {
    fn default() -> DhtConfig {
        DhtConfig {
            port: None,
            bootstrap: None,
            server_mode: true,
            nodes_file: None,
        }
    }
}

/// The bootstrap nodes used when none are configured.
pub fn default_bootstrap() -> Vec<String> {
    PUBLIC_ROUTERS.iter().map(|s| (*s).to_owned()).collect()
}

/// What `p2pctl status` shows of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhtStatus {
    /// Our UDP port.
    pub port: u16,
    /// Nodes in the routing tables (IPv4 and IPv6).
    pub nodes: usize,
    /// A full node (our queries do not say read-only).
    pub server_mode: bool,
    /// No other node's query has reached us yet.
    pub firewalled: bool,
    /// Our address as other nodes see it, once they agree.
    pub public_address: Option<SocketAddr>,
}

/// A running DHT node; clones share it. It stops when the cancellation
/// token fires.
#[derive(Debug, Clone)]
pub struct DhtNode {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    commands: mpsc::Sender<Command>,
    port: u16,
    /// Nodes named by peers' PORT messages (see [`DhtNode::add_node`]).
    port_nodes: Mutex<Vec<SocketAddr>>,
}

impl DhtNode {
    /// Binds the node on `listen`'s address (the port from the config, else
    /// `listen`'s, else any free one when that is taken), IPv6 beside IPv4
    /// on the same port number, and joins the DHT through the configured
    /// and the saved nodes. Its tasks (the node, resolving bootstrap
    /// names, saving the known nodes now and then and once more when
    /// `cancel` fires) go on `tasks`.
    pub async fn start(
        config: &DhtConfig,
        listen: SocketAddr,
        cancel: CancellationToken,
        tasks: &TaskTracker,
    ) -> std::io::Result<DhtNode> {
        let sockets = bind(config, listen)?;
        let port = sockets
            .v4
            .as_ref()
            .or(sockets.v6.as_ref())
            .map(|s| s.local_addr())
            .transpose()?
            .map_or(0, |a| a.port());
        let saved = match config.nodes_file.clone() {
            Some(path) => tokio::task::spawn_blocking(move || nodes_file::load(&path))
                .await
                .map_err(std::io::Error::other)?,
            None => Vec::new(),
        };
        let names = config.bootstrap.clone().unwrap_or_else(default_bootstrap);
        // Literal addresses join at once; host names when resolved.
        let (literal, hosts): (Vec<&String>, Vec<&String>) =
            names.iter().partition(|n| n.parse::<SocketAddr>().is_ok());
        let mut bootstrap: Vec<SocketAddr> =
            literal.iter().filter_map(|n| n.parse().ok()).collect();
        bootstrap.extend(&saved);
        let dht = Dht::new(
            NodeId(rand::random()),
            rand::random(),
            Config {
                bootstrap,
                read_only: !config.server_mode,
                ipv4: sockets.v4.is_some(),
                ipv6: sockets.v6.is_some(),
            },
            0,
        );
        tracing::info!(
            ipv4 = sockets.v4.is_some(),
            ipv6 = sockets.v6.is_some(),
            "DHT node on UDP port {port}, {} saved nodes to start from",
            saved.len()
        );
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        tasks.spawn(driver::run(dht, sockets, rx, cancel.clone()));
        if !hosts.is_empty() {
            let hosts: Vec<String> = hosts.into_iter().cloned().collect();
            tasks.spawn(resolve(hosts, tx.clone(), cancel.clone()));
        }
        let node = DhtNode {
            inner: Arc::new(Inner {
                commands: tx,
                port,
                port_nodes: Mutex::new(Vec::new()),
            }),
        };
        tasks.spawn(keep_nodes(node.clone(), config.nodes_file.clone(), cancel));
        Ok(node)
    }

    /// Our UDP port, for PORT messages.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// Asks the DHT for peers of `info_hash`, handing each answer's new
    /// peers to `found` as they come, then (with `announce_port`) announces
    /// us on that TCP port to the closest nodes that gave a token. At most
    /// a minute; returns how many peers were found.
    pub async fn lookup(
        &self,
        info_hash: InfoHash,
        announce_port: Option<u16>,
        mut found: impl FnMut(Vec<SocketAddr>),
    ) -> usize {
        let (tx, mut answers) = mpsc::unbounded_channel();
        let command = Command::Search {
            info_hash: NodeId(info_hash.0),
            announce: announce_port,
            found: tx,
        };
        if self.inner.commands.send(command).await.is_err() {
            return 0;
        }
        let mut count = 0;
        let work = async {
            while let Some(peers) = answers.recv().await {
                count += peers.len();
                found(peers);
            }
        };
        if tokio::time::timeout(LOOKUP_DEADLINE, work).await.is_err() {
            tracing::debug!(torrent = %info_hash, "DHT lookup cut at {LOOKUP_DEADLINE:?}");
        }
        count
    }

    /// A peer named its DHT node in a PORT message: the node is pinged and
    /// joins the routing table if it answers; it is also kept for the
    /// nodes file, to help the next start.
    pub fn add_node(&self, addr: SocketAddr) {
        let addr = SocketAddr::new(addr.ip().to_canonical(), addr.port());
        if addr.port() == 0 || addr.ip().is_unspecified() {
            return;
        }
        let _ = self.inner.commands.try_send(Command::AddNode(addr));
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

    async fn snapshot(&self) -> Option<Snapshot> {
        let (tx, rx) = oneshot::channel();
        self.inner.commands.send(Command::Status(tx)).await.ok()?;
        rx.await.ok()
    }

    /// The node's state for `p2pctl status` (all zero once it stopped).
    pub async fn status(&self) -> DhtStatus {
        let snap = self.snapshot().await;
        DhtStatus {
            port: self.inner.port,
            nodes: snap
                .as_ref()
                .map_or(0, |s| s.health.nodes4 + s.health.nodes6),
            server_mode: snap.as_ref().is_some_and(|s| !s.read_only),
            firewalled: snap.as_ref().is_none_or(|s| !s.health.reached),
            public_address: snap.and_then(|s| s.health.public_address),
        }
    }

    /// The nodes worth starting from next time: the routing tables' live
    /// nodes first, then those peers named.
    async fn known_nodes(&self) -> Vec<SocketAddr> {
        let mut nodes = self.snapshot().await.map(|s| s.known).unwrap_or_default();
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

/// The sockets for `listen`'s address: IPv4 and IPv6 on the same port
/// (a loopback address gets both loopbacks, an unspecified one both
/// unspecified ones, a specific address its family alone). The port is
/// the config's, else `listen`'s; that default, when taken, gives way to
/// any free port (another program may hold it). IPv6 that cannot bind
/// (no IPv6 here, or the port taken there) leaves an IPv4-only node.
fn bind(config: &DhtConfig, listen: SocketAddr) -> std::io::Result<Sockets> {
    let (v4, v6): (Option<IpAddr>, Option<IpAddr>) = match listen.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => (Some(ip.into()), Some(Ipv6Addr::LOCALHOST.into())),
        IpAddr::V4(ip) if ip.is_unspecified() => {
            (Some(ip.into()), Some(Ipv6Addr::UNSPECIFIED.into()))
        }
        IpAddr::V6(ip) if ip.is_loopback() => (Some(Ipv4Addr::LOCALHOST.into()), Some(ip.into())),
        IpAddr::V6(ip) if ip.is_unspecified() => {
            (Some(Ipv4Addr::UNSPECIFIED.into()), Some(ip.into()))
        }
        ip @ IpAddr::V4(_) => (Some(ip), None),
        ip @ IpAddr::V6(_) => (None, Some(ip)),
    };
    let wanted = config.port.unwrap_or(listen.port());
    let (first, second) = match v4 {
        Some(ip) => (ip, v6),
        None => (v6.unwrap_or(listen.ip()), None),
    };
    let first_socket = match udp(SocketAddr::new(first, wanted)) {
        Ok(s) => s,
        Err(e) if config.port.is_none() && e.kind() == ErrorKind::AddrInUse => {
            tracing::warn!("UDP port {wanted} is taken ({e}): the DHT takes a free port");
            udp(SocketAddr::new(first, 0))?
        }
        Err(e) => return Err(e),
    };
    let port = first_socket.local_addr()?.port();
    let second_socket = second.and_then(|ip| match udp(SocketAddr::new(ip, port)) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("the DHT runs without {ip} (UDP port {port}): {e}");
            None
        }
    });
    Ok(if first.is_ipv4() {
        Sockets {
            v4: Some(first_socket),
            v6: second_socket,
        }
    } else {
        Sockets {
            v4: None,
            v6: Some(first_socket),
        }
    })
}

/// A UDP socket on `addr`; an IPv6 one only for IPv6, so it can share
/// its port number with the IPv4 socket.
fn udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Resolves bootstrap host names and hands what they name to the node.
async fn resolve(hosts: Vec<String>, commands: mpsc::Sender<Command>, cancel: CancellationToken) {
    let mut found = Vec::new();
    for host in hosts {
        let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(host.clone()));
        let result = tokio::select! {
            _ = cancel.cancelled() => return,
            r = lookup => r,
        };
        match result {
            Ok(Ok(addrs)) => found.extend(addrs),
            Ok(Err(e)) => tracing::warn!("DHT bootstrap node {host}: {e}"),
            Err(_) => {
                tracing::warn!("DHT bootstrap node {host}: no answer within {RESOLVE_TIMEOUT:?}")
            }
        }
    }
    if !found.is_empty() {
        let _ = commands.send(Command::Bootstrap(found)).await;
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
