//! The task that runs the sans-io DHT node (`p2p_proto::dht::machine`):
//! reads the IPv4 and IPv6 sockets, ticks the node, sends what it asks to
//! send and hands what searches find to whoever asked.
//!
//! Must not decide anything about the DHT itself: that is the node's.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use p2p_proto::dht::machine::{Dht, Event, SearchId};
use p2p_proto::dht::{NodeId, krpc::MAX_MESSAGE_BYTES};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How often the node's clock moves (timeouts, housekeeping).
const TICK: Duration = Duration::from_millis(200);
/// Most searches waiting for the node to have room for their lookups (a
/// daemon starting with thousands of public torrents); beyond, a search
/// ends at once with nothing found and its torrent tries again later.
const MAX_WAITING_SEARCHES: usize = 10_000;

/// Where each running search's peers go.
type Askers = HashMap<SearchId, mpsc::UnboundedSender<Vec<SocketAddr>>>;

/// A search the node had no room for yet.
#[derive(Debug)]
struct Waiting {
    info_hash: NodeId,
    announce: Option<u16>,
    found: mpsc::UnboundedSender<Vec<SocketAddr>>,
}

/// What the [`super::DhtNode`] handles ask of the task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Search for peers; found peers go to `found`, which closes when the
    /// search ends. Dropping its receiver cancels the search.
    Search {
        info_hash: NodeId,
        announce: Option<u16>,
        found: mpsc::UnboundedSender<Vec<SocketAddr>>,
    },
    /// A node a peer named in a PORT message.
    AddNode(SocketAddr),
    /// Bootstrap nodes resolved after the start.
    Bootstrap(Vec<SocketAddr>),
    /// The node's health and the nodes worth saving.
    Status(oneshot::Sender<Snapshot>),
}

/// What [`Command::Status`] answers.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) health: p2p_proto::dht::machine::Health,
    pub(crate) known: Vec<SocketAddr>,
    pub(crate) read_only: bool,
}

/// The sockets the node runs on: one per family, on the same port number.
#[derive(Debug)]
pub(crate) struct Sockets {
    pub(crate) v4: Option<UdpSocket>,
    pub(crate) v6: Option<UdpSocket>,
}

/// Runs `dht` on `sockets` until `cancel` fires.
pub(crate) async fn run(
    mut dht: Dht,
    sockets: Sockets,
    mut commands: mpsc::Receiver<Command>,
    cancel: CancellationToken,
) {
    let origin = Instant::now();
    let now_ms = || u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut searches = Askers::new();
    let mut waiting: VecDeque<Waiting> = VecDeque::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf4 = vec![0u8; MAX_MESSAGE_BYTES];
    let mut buf6 = vec![0u8; MAX_MESSAGE_BYTES];
    loop {
        // Until a round ends no lookup (that would make room for one waiting).
        loop {
            start_waiting(&mut dht, &mut waiting, &mut searches, now_ms());
            send_all(&mut dht, &sockets).await;
            if !deliver(&mut dht, &mut searches) || waiting.is_empty() {
                break;
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = recv(sockets.v4.as_ref(), &mut buf4) => {
                if let Some((n, from)) = r {
                    dht.handle(&buf4[..n], from, now_ms());
                }
            }
            r = recv(sockets.v6.as_ref(), &mut buf6) => {
                if let Some((n, from)) = r {
                    dht.handle(&buf6[..n], from, now_ms());
                }
            }
            _ = tick.tick() => dht.tick(now_ms()),
            command = commands.recv() => match command {
                None => return,
                Some(Command::Search { info_hash, announce, found }) => {
                    if waiting.len() < MAX_WAITING_SEARCHES {
                        waiting.push_back(Waiting { info_hash, announce, found });
                    } else {
                        tracing::debug!("DHT busy: search for {info_hash:?} refused");
                    }
                }
                Some(Command::AddNode(addr)) => dht.add_node(addr, now_ms()),
                Some(Command::Bootstrap(nodes)) => dht.add_bootstrap(&nodes),
                Some(Command::Status(reply)) => {
                    let _ = reply.send(Snapshot { health: dht.health(), known: dht.known_nodes(now_ms()), read_only: dht.is_read_only() });
                }
            },
        }
    }
}

/// Starts waiting searches while the node has room for them.
fn start_waiting(
    dht: &mut Dht,
    waiting: &mut VecDeque<Waiting>,
    searches: &mut Askers,
    now_ms: u64,
) {
    while let Some(w) = waiting.pop_front() {
        if w.found.is_closed() {
            continue;
        }
        match dht.get_peers(w.info_hash, w.announce, now_ms) {
            Some(search) => {
                searches.insert(search, w.found);
            }
            None => {
                waiting.push_front(w);
                return;
            }
        }
    }
}

/// Hands what searches found to whoever asked; true when a search ended.
fn deliver(dht: &mut Dht, searches: &mut Askers) -> bool {
    let mut ended = false;
    while let Some(event) = dht.poll_event() {
        match event {
            Event::Peers { search, peers } => {
                let gone = searches
                    .get(&search)
                    .is_none_or(|tx| tx.send(peers).is_err());
                if gone {
                    // The asker went away: the search is of no use.
                    searches.remove(&search);
                    dht.cancel(search);
                    ended = true;
                }
            }
            Event::Done { search, .. } => {
                searches.remove(&search);
                ended = true;
            }
        }
    }
    ended
}

/// One datagram from `socket`; never resolves without a socket. A receive
/// error (an ICMP unreachable reported on the socket) reads as nothing.
async fn recv(socket: Option<&UdpSocket>, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await.ok(),
        None => std::future::pending().await,
    }
}

/// Sends the datagrams the node queued, each on its family's socket.
async fn send_all(dht: &mut Dht, sockets: &Sockets) {
    while let Some(t) = dht.poll_transmit() {
        let socket = if t.to.is_ipv6() {
            sockets.v6.as_ref()
        } else {
            sockets.v4.as_ref()
        };
        if let Some(s) = socket
            && let Err(e) = s.send_to(&t.bytes, t.to).await
        {
            tracing::trace!("DHT datagram to {} not sent: {e}", t.to);
        }
    }
}
