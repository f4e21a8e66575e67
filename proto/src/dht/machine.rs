//! A whole DHT node (BEP 5, BEP 32), sans-io: datagrams and the time go
//! in ([`Dht::handle`], [`Dht::tick`]), datagrams to send and what the
//! searches found come out ([`Dht::poll_transmit`], [`Dht::poll_event`]).
//!
//! It answers queries through the [`Responder`], matches answers to its own
//! queries by transaction id and source, times queries out (a node that
//! misses them turns bad in the routing table), runs iterative lookups per
//! address family, announces to the closest nodes that gave a token, joins
//! the DHT from bootstrap nodes (and again whenever a table runs low) and
//! refreshes quiet buckets.
//!
//! Must not touch sockets or clocks; randomness comes from a seed. Which
//! info-hashes are searched is the caller's business (never a private
//! torrent's, BEP 27).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};

use sha1::{Digest, Sha1};

use super::krpc::{Body, Message, QueryKind};
use super::lookup::Lookup;
use super::peers::PeerStore;
use super::responder::{Incoming, Responder};
use super::routing::{Contact, K, RoutingTable, Status};
use super::tokens::{SECRET_BYTES, Tokens};
use super::{ID_LEN, NodeId};

#[cfg(test)]
mod tests;

/// A query unanswered after this long has failed.
pub const QUERY_TIMEOUT_MS: u64 = 2_000;
/// Longest a lookup runs, whatever is still in flight.
pub const LOOKUP_LIMIT_MS: u64 = 30_000;
/// Least time between two bootstraps of one family while its table is low.
pub const BOOTSTRAP_RETRY_MS: u64 = 30_000;
/// Most queries of ours awaiting an answer.
pub const MAX_PENDING: usize = 1024;
/// Most lookups running at once (searches use one per family).
pub const MAX_LOOKUPS: usize = 128;
/// Most datagrams queued for sending; beyond, they are dropped like any
/// UDP datagram a full queue would drop.
pub const MAX_TRANSMITS: usize = 4096;
/// Answers one source IP gets per second...
pub const ANSWERS_PER_SEC: u64 = 100;
/// ...and in a burst.
pub const ANSWER_BURST: u64 = 200;
/// Most source IPs the answer limit remembers.
const MAX_LIMITED_SOURCES: usize = 8192;
/// Most bootstrap nodes kept.
const MAX_BOOTSTRAP: usize = 64;
/// Most distinct peers one search reports.
const MAX_PEERS_PER_SEARCH: usize = 4096;
/// How often housekeeping (tokens, expiry, bootstrap, refresh) runs.
const HOUSEKEEPING_MS: u64 = 1_000;

/// How the node runs.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Nodes to join through (configured, saved from a previous run,
    /// named in PORT messages): asked when a table holds fewer than K nodes.
    pub bootstrap: Vec<SocketAddr>,
    /// Say "read-only" (BEP 43) in our queries: a node others cannot reach
    /// must stay out of their routing tables. Queries that reach us are
    /// answered either way.
    pub read_only: bool,
    /// Run the IPv4 side.
    pub ipv4: bool,
    /// Run the IPv6 side (BEP 32).
    pub ipv6: bool,
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub to: SocketAddr,
    /// The datagram.
    pub bytes: Vec<u8>,
}

/// A search started by [`Dht::get_peers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SearchId(u64);

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Peers not reported before for this search.
    Peers {
        /// The search.
        search: SearchId,
        /// The peers.
        peers: Vec<SocketAddr>,
    },
    /// The search ended (announces, if asked for, are sent).
    Done {
        /// The search.
        search: SearchId,
        /// Distinct peers found.
        found: usize,
        /// Nodes announced to.
        announced: usize,
    },
}

/// The node's health, for a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Nodes in the IPv4 table.
    pub nodes4: usize,
    /// Nodes in the IPv6 table.
    pub nodes6: usize,
    /// Whether a query from another node has reached us.
    pub reached: bool,
    /// Our address as the nodes answering us agree it is (BEP 42 `ip`).
    pub public_address: Option<SocketAddr>,
    /// Peers stored for others.
    pub stored_peers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Lookup(u64),
    Ping,
    Announce,
}

#[derive(Debug)]
struct Pending {
    to: SocketAddr,
    id: Option<NodeId>,
    sent_ms: u64,
    purpose: Purpose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    FindNode,
    GetPeers { announce: Option<u16> },
}

#[derive(Debug)]
struct Run {
    lookup: Lookup,
    ipv6: bool,
    kind: Kind,
    search: Option<SearchId>,
    started_ms: u64,
}

#[derive(Debug, Default)]
struct Search {
    lookups_left: usize,
    seen: HashSet<SocketAddr>,
    announced: usize,
}

/// The sans-io DHT node.
#[derive(Debug)]
pub struct Dht {
    config: Config,
    table4: RoutingTable,
    table6: RoutingTable,
    tokens: Tokens,
    peers: PeerStore,
    rng: Rng,
    pending: HashMap<u16, Pending>,
    next_tid: u16,
    runs: HashMap<u64, Run>,
    next_run: u64,
    searches: HashMap<SearchId, Search>,
    next_search: u64,
    /// The bootstrap lookup of each family (v4, v6) and when one last started.
    bootstrap_run: [Option<u64>; 2],
    bootstrap_at: [Option<u64>; 2],
    housekeeping_at: Option<u64>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    answers: AnswerLimit,
    reached: bool,
    ip_votes: HashMap<SocketAddr, u32>,
}

impl Dht {
    /// A node with id `id`, randomness from `seed`, at `now_ms`.
    pub fn new(id: NodeId, seed: [u8; 32], config: Config, now_ms: u64) -> Dht {
        let now = now_ms / 1000;
        let mut rng = Rng::new(seed);
        let secret = rng.secret();
        let next_tid = u16::from_be_bytes([rng.bytes()[0], rng.bytes()[1]]);
        Dht {
            config,
            table4: RoutingTable::new(id, now),
            table6: RoutingTable::new(id, now),
            tokens: Tokens::new(secret, now),
            peers: PeerStore::new(),
            rng,
            pending: HashMap::new(),
            next_tid,
            runs: HashMap::new(),
            next_run: 0,
            searches: HashMap::new(),
            next_search: 0,
            bootstrap_run: [None; 2],
            bootstrap_at: [None; 2],
            housekeeping_at: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            answers: AnswerLimit::default(),
            reached: false,
            ip_votes: HashMap::new(),
        }
    }

    /// Our node id.
    pub fn id(&self) -> NodeId {
        self.table4.own_id()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing a search found.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether our queries say read-only.
    pub fn is_read_only(&self) -> bool {
        self.config.read_only
    }

    /// The node's health.
    pub fn health(&self) -> Health {
        let best = self
            .ip_votes
            .iter()
            .filter(|(_, n)| **n >= 2)
            .max_by_key(|(a, n)| (**n, **a));
        Health {
            nodes4: self.table4.len(),
            nodes6: self.table6.len(),
            reached: self.reached,
            public_address: best.map(|(a, _)| *a),
            stored_peers: self.peers.len(),
        }
    }

    /// Nodes worth starting from next time: those of the tables that are
    /// not bad, most recently heard from first.
    pub fn known_nodes(&self, now_ms: u64) -> Vec<SocketAddr> {
        let now = now_ms / 1000;
        let mut nodes: Vec<_> = self
            .table4
            .nodes()
            .chain(self.table6.nodes())
            .filter(|n| n.status(now) != Status::Bad)
            .collect();
        nodes.sort_by_key(|n| std::cmp::Reverse(n.last_reply.max(n.last_query)));
        nodes.into_iter().map(|n| n.addr).collect()
    }

    /// More nodes to join through (bootstrap host names resolved late): a
    /// family whose table is low bootstraps again at the next tick.
    pub fn add_bootstrap(&mut self, nodes: &[SocketAddr]) {
        for n in nodes {
            let n = canonical(*n);
            if self.config.bootstrap.len() < MAX_BOOTSTRAP && !self.config.bootstrap.contains(&n) {
                self.config.bootstrap.push(n);
            }
        }
        self.bootstrap_at = [None; 2];
    }

    /// A node named by a peer (BEP 5 PORT): pinged, and taken into the
    /// routing table if it answers.
    pub fn add_node(&mut self, addr: SocketAddr, now_ms: u64) {
        let addr = canonical(addr);
        if addr.port() == 0 || !self.family_on(addr.is_ipv6()) {
            return;
        }
        if self.table(addr.is_ipv6()).nodes().any(|n| n.addr == addr) {
            return;
        }
        self.send_query(addr, None, QueryKind::Ping, Purpose::Ping, now_ms);
    }

    /// Starts a search for peers of `info_hash` in each family that runs,
    /// then announces us on `announce` (a TCP port; 0 asks the other
    /// nodes to take our UDP source port) to the closest nodes that gave
    /// a token. `None` when too many lookups run already.
    pub fn get_peers(
        &mut self,
        info_hash: NodeId,
        announce: Option<u16>,
        now_ms: u64,
    ) -> Option<SearchId> {
        let families: Vec<bool> = [false, true]
            .into_iter()
            .filter(|v6| self.family_on(*v6))
            .collect();
        if self.runs.len() + families.len() > MAX_LOOKUPS {
            return None;
        }
        let search = SearchId(self.next_search);
        self.next_search += 1;
        self.searches.insert(
            search,
            Search {
                lookups_left: families.len(),
                ..Search::default()
            },
        );
        let kind = Kind::GetPeers { announce };
        let keys: Vec<u64> = families
            .into_iter()
            .map(|v6| self.start_run(info_hash, v6, kind, Some(search), now_ms))
            .collect();
        if keys.is_empty() {
            self.finish_search(search);
        }
        for key in keys {
            self.advance(key, now_ms);
        }
        Some(search)
    }

    /// Stops reporting on `search` (its queries still time out quietly).
    pub fn cancel(&mut self, search: SearchId) {
        self.searches.remove(&search);
        self.runs.retain(|_, r| r.search != Some(search));
    }

    /// One datagram from `source`.
    pub fn handle(&mut self, datagram: &[u8], source: SocketAddr, now_ms: u64) {
        let source = canonical(source);
        let handled = Responder {
            table4: &mut self.table4,
            table6: &mut self.table6,
            tokens: &self.tokens,
            peers: &mut self.peers,
        }
        .handle(datagram, source, now_ms / 1000);
        match handled.incoming {
            Incoming::Answer(bytes) => {
                self.reached = true;
                if self.answers.allow(source.ip(), now_ms) {
                    self.transmit(source, bytes);
                }
            }
            Incoming::Reply(message) => self.reply(message, source, now_ms),
            Incoming::Dropped => {}
        }
        for (id, addr) in handled.ping {
            self.send_query(addr, Some(id), QueryKind::Ping, Purpose::Ping, now_ms);
        }
    }

    /// Time passes: queries time out, lookups move on or end, and now and
    /// then tokens rotate, stored peers expire, a low table bootstraps and
    /// quiet buckets are refreshed. Call it every few hundred milliseconds.
    pub fn tick(&mut self, now_ms: u64) {
        let expired: Vec<u16> = self
            .pending
            .iter()
            .filter(|(_, p)| now_ms.saturating_sub(p.sent_ms) >= QUERY_TIMEOUT_MS)
            .map(|(t, _)| *t)
            .collect();
        for tid in expired {
            if let Some(p) = self.pending.remove(&tid) {
                self.missed(p, now_ms);
            }
        }
        let overdue: Vec<u64> = self
            .runs
            .iter()
            .filter(|(_, r)| now_ms.saturating_sub(r.started_ms) >= LOOKUP_LIMIT_MS)
            .map(|(k, _)| *k)
            .collect();
        for key in overdue {
            self.finish_run(key, now_ms);
        }
        if self
            .housekeeping_at
            .is_some_and(|t| now_ms.saturating_sub(t) < HOUSEKEEPING_MS)
        {
            return;
        }
        self.housekeeping_at = Some(now_ms);
        let now = now_ms / 1000;
        let rng = &mut self.rng;
        self.tokens.rotate_if_due(now, || rng.secret());
        self.peers.expire(now);
        for v6 in [false, true] {
            if self.family_on(v6) {
                self.maintain(v6, now_ms);
            }
        }
    }

    fn maintain(&mut self, v6: bool, now_ms: u64) {
        let f = usize::from(v6);
        let running = self.bootstrap_run[f].is_some_and(|k| self.runs.contains_key(&k));
        let due =
            self.bootstrap_at[f].is_none_or(|t| now_ms.saturating_sub(t) >= BOOTSTRAP_RETRY_MS);
        if self.table(v6).len() < K && !running && due {
            self.bootstrap_at[f] = Some(now_ms);
            let own = self.id();
            let key = self.start_run(own, v6, Kind::FindNode, None, now_ms);
            self.bootstrap_run[f] = Some(key);
            self.advance(key, now_ms);
            return;
        }
        let now = now_ms / 1000;
        if let Some(&bucket) = self.table(v6).stale_buckets(now).first()
            && self.runs.len() < MAX_LOOKUPS
        {
            let random = self.rng.bytes();
            let table = self.table_mut(v6);
            let target = table.refresh_target(bucket, random);
            table.refreshed(bucket, now);
            let key = self.start_run(target, v6, Kind::FindNode, None, now_ms);
            self.advance(key, now_ms);
        }
    }

    fn start_run(
        &mut self,
        target: NodeId,
        v6: bool,
        kind: Kind,
        search: Option<SearchId>,
        now_ms: u64,
    ) -> u64 {
        let now = now_ms / 1000;
        let table = self.table(v6);
        let nodes: Vec<(NodeId, SocketAddr)> = table
            .closest(&target, K, now)
            .into_iter()
            .map(|n| (n.id, n.addr))
            .collect();
        // A table this low may hold only a corner of the DHT.
        let seeds: Vec<SocketAddr> = if nodes.len() < K {
            self.config
                .bootstrap
                .iter()
                .map(|a| canonical(*a))
                .filter(|a| a.is_ipv6() == v6)
                .collect()
        } else {
            Vec::new()
        };
        let key = self.next_run;
        self.next_run += 1;
        self.runs.insert(
            key,
            Run {
                lookup: Lookup::new(target, &nodes, &seeds),
                ipv6: v6,
                kind,
                search,
                started_ms: now_ms,
            },
        );
        key
    }

    /// Sends what the lookup `key` asks for next, or ends it.
    fn advance(&mut self, key: u64, now_ms: u64) {
        loop {
            let Some(run) = self.runs.get_mut(&key) else {
                return;
            };
            let asks = run.lookup.next_queries();
            let target = run.lookup.target();
            let query = match run.kind {
                Kind::FindNode => QueryKind::FindNode { target },
                Kind::GetPeers { .. } => QueryKind::GetPeers { info_hash: target },
            };
            if asks.is_empty() {
                break;
            }
            let mut refused = Vec::new();
            for (id, addr) in asks {
                if !self.send_query(addr, id, query.clone(), Purpose::Lookup(key), now_ms) {
                    refused.push(addr);
                }
            }
            if refused.is_empty() {
                break;
            }
            if let Some(run) = self.runs.get_mut(&key) {
                for addr in refused {
                    run.lookup.failed(addr);
                }
            }
        }
        if self.runs.get(&key).is_some_and(|r| r.lookup.is_done()) {
            self.finish_run(key, now_ms);
        }
    }

    fn finish_run(&mut self, key: u64, now_ms: u64) {
        let Some(run) = self.runs.remove(&key) else {
            return;
        };
        let mut announced = 0;
        if let Kind::GetPeers {
            announce: Some(port),
        } = run.kind
        {
            for (id, addr, token) in run.lookup.closest_with_tokens() {
                let kind = QueryKind::AnnouncePeer {
                    info_hash: run.lookup.target(),
                    port,
                    implied_port: port == 0,
                    token,
                };
                if self.send_query(addr, Some(id), kind, Purpose::Announce, now_ms) {
                    announced += 1;
                }
            }
        }
        let Some(search_id) = run.search else {
            return;
        };
        if let Some(search) = self.searches.get_mut(&search_id) {
            search.announced += announced;
            search.lookups_left = search.lookups_left.saturating_sub(1);
            if search.lookups_left == 0 {
                self.finish_search(search_id);
            }
        }
    }

    fn finish_search(&mut self, search: SearchId) {
        if let Some(s) = self.searches.remove(&search) {
            self.events.push_back(Event::Done {
                search,
                found: s.seen.len(),
                announced: s.announced,
            });
        }
    }

    fn reply(&mut self, message: Message, source: SocketAddr, now_ms: u64) {
        let Ok(tid) = <[u8; 2]>::try_from(message.transaction_id.as_slice()) else {
            return;
        };
        let tid = u16::from_be_bytes(tid);
        // Only the address we asked may answer; anyone else guessing the
        // transaction id is ignored and the query stays pending.
        if self.pending.get(&tid).is_none_or(|p| p.to != source) {
            return;
        }
        let Some(pending) = self.pending.remove(&tid) else {
            return;
        };
        let response = match message.body {
            Body::Response(r) => r,
            Body::Error(_) | Body::Query(_) => {
                // Alive but of no help to a lookup.
                if let Purpose::Lookup(key) = pending.purpose {
                    if let Some(run) = self.runs.get_mut(&key) {
                        run.lookup.failed(source);
                    }
                    self.advance(key, now_ms);
                }
                return;
            }
        };
        if let Some(ip) = message.ip {
            self.vote(ip);
        }
        let now = now_ms / 1000;
        let v6 = source.is_ipv6();
        if !message.read_only {
            let outcome = self
                .table_mut(v6)
                .heard_from(response.id, source, Contact::Reply, now);
            if let super::routing::Outcome::Cached { ping } = outcome {
                for (id, addr) in ping {
                    self.send_query(addr, Some(id), QueryKind::Ping, Purpose::Ping, now_ms);
                }
            }
        }
        let Purpose::Lookup(key) = pending.purpose else {
            return;
        };
        let Some(run) = self.runs.get_mut(&key) else {
            return;
        };
        let nodes: Vec<(NodeId, SocketAddr)> = if run.ipv6 {
            response
                .nodes6
                .iter()
                .map(|(id, a)| (*id, SocketAddr::V6(*a)))
                .collect()
        } else {
            response
                .nodes
                .iter()
                .map(|(id, a)| (*id, SocketAddr::V4(*a)))
                .collect()
        };
        let own = self.table4.own_id();
        let nodes = nodes.into_iter().filter(|(id, _)| *id != own);
        run.lookup
            .replied(source, response.id, response.token.clone(), nodes);
        if let (Kind::GetPeers { .. }, Some(search_id)) = (run.kind, run.search)
            && !response.values.is_empty()
            && let Some(search) = self.searches.get_mut(&search_id)
        {
            let mut fresh = Vec::new();
            for peer in response.values {
                if peer.port() != 0
                    && search.seen.len() < MAX_PEERS_PER_SEARCH
                    && search.seen.insert(peer)
                {
                    fresh.push(peer);
                }
            }
            if !fresh.is_empty() {
                self.events.push_back(Event::Peers {
                    search: search_id,
                    peers: fresh,
                });
            }
        }
        self.advance(key, now_ms);
    }

    /// A query of ours went unanswered.
    fn missed(&mut self, pending: Pending, now_ms: u64) {
        if let Some(id) = pending.id {
            self.table_mut(pending.to.is_ipv6())
                .failed(&id, now_ms / 1000);
        }
        if let Purpose::Lookup(key) = pending.purpose {
            if let Some(run) = self.runs.get_mut(&key) {
                run.lookup.failed(pending.to);
            }
            self.advance(key, now_ms);
        }
    }

    /// Sends a query; false when too many are pending.
    fn send_query(
        &mut self,
        to: SocketAddr,
        id: Option<NodeId>,
        kind: QueryKind,
        purpose: Purpose,
        now_ms: u64,
    ) -> bool {
        if self.pending.len() >= MAX_PENDING || !self.family_on(to.is_ipv6()) {
            return false;
        }
        let mut tid = self.next_tid;
        while self.pending.contains_key(&tid) {
            tid = tid.wrapping_add(1);
        }
        self.next_tid = tid.wrapping_add(1);
        let mut m = Message::query(&tid.to_be_bytes(), self.id(), kind);
        m.read_only = self.config.read_only;
        self.pending.insert(
            tid,
            Pending {
                to,
                id,
                sent_ms: now_ms,
                purpose,
            },
        );
        self.transmit(to, m.encode());
        true
    }

    fn transmit(&mut self, to: SocketAddr, bytes: Vec<u8>) {
        if self.transmits.len() < MAX_TRANSMITS {
            self.transmits.push_back(Transmit { to, bytes });
        }
    }

    fn vote(&mut self, ip: SocketAddr) {
        if self.ip_votes.len() >= 64 && !self.ip_votes.contains_key(&ip) {
            self.ip_votes.clear();
        }
        *self.ip_votes.entry(ip).or_insert(0) += 1;
    }

    fn family_on(&self, v6: bool) -> bool {
        if v6 {
            self.config.ipv6
        } else {
            self.config.ipv4
        }
    }

    fn table(&self, v6: bool) -> &RoutingTable {
        if v6 { &self.table6 } else { &self.table4 }
    }

    fn table_mut(&mut self, v6: bool) -> &mut RoutingTable {
        if v6 {
            &mut self.table6
        } else {
            &mut self.table4
        }
    }
}

/// A v4-mapped IPv6 address (a dual-stack socket) is the IPv4 node.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// Answers per source IP: a token bucket each, [`ANSWERS_PER_SEC`] with
/// bursts of [`ANSWER_BURST`], so one source cannot make us its
/// reflector. Bounded: when full, the sources with full buckets go.
#[derive(Debug, Default)]
struct AnswerLimit {
    /// Tokens (in thousandths) and when they were counted.
    sources: HashMap<IpAddr, (u64, u64)>,
}

impl AnswerLimit {
    fn allow(&mut self, ip: IpAddr, now_ms: u64) -> bool {
        const FULL: u64 = ANSWER_BURST * 1000;
        if self.sources.len() >= MAX_LIMITED_SOURCES && !self.sources.contains_key(&ip) {
            self.sources.retain(|_, (tokens, at)| {
                tokens.saturating_add(now_ms.saturating_sub(*at) * ANSWERS_PER_SEC) < FULL
            });
            if self.sources.len() >= MAX_LIMITED_SOURCES {
                return false;
            }
        }
        let (tokens, at) = self.sources.entry(ip).or_insert((FULL, now_ms));
        *tokens = tokens
            .saturating_add(now_ms.saturating_sub(*at) * ANSWERS_PER_SEC)
            .min(FULL);
        *at = now_ms;
        if *tokens >= 1000 {
            *tokens -= 1000;
            true
        } else {
            false
        }
    }
}

/// Random bytes from a seed: SHA-1 of the seed and a counter, enough to
/// keep tokens' secrets and refresh targets unguessable.
#[derive(Clone)]
struct Rng {
    seed: [u8; 32],
    counter: u64,
}

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rng(<hidden>)")
    }
}

impl Rng {
    fn new(seed: [u8; 32]) -> Rng {
        Rng { seed, counter: 0 }
    }

    fn bytes(&mut self) -> [u8; ID_LEN] {
        self.counter += 1;
        let mut h = Sha1::new();
        h.update(self.seed);
        h.update(self.counter.to_be_bytes());
        h.finalize().into()
    }

    fn secret(&mut self) -> [u8; SECRET_BYTES] {
        let mut s = [0u8; SECRET_BYTES];
        s.copy_from_slice(&self.bytes()[..SECRET_BYTES]);
        s
    }
}
