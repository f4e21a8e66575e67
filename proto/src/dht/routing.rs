//! The Kademlia routing table of one address family (BEP 5; a node keeps
//! one for IPv4 and one for IPv6, BEP 32): buckets of at most [`K`] nodes,
//! split along our own id, nodes rated good, questionable or bad by when
//! they last answered and how many queries in a row they missed, bad nodes
//! replaced first, the closest nodes to a key by XOR distance.
//!
//! Memory is bounded: at most [`MAX_BUCKETS`] buckets of [`K`] nodes and
//! [`K`] replacement candidates each. Must not send anything: it says whom
//! to ping and the driver does it. Time is `now`, in seconds.

use std::net::SocketAddr;

use super::{ID_LEN, NodeId};

#[cfg(test)]
mod tests;

/// Nodes per bucket (BEP 5's k).
pub const K: usize = 8;
/// One bucket per bit of the id at most.
pub const MAX_BUCKETS: usize = ID_LEN * 8;
/// A node that answered within this long is good (BEP 5: 15 minutes).
pub const GOOD_FOR_SECS: u64 = 15 * 60;
/// A bucket untouched for this long should be refreshed with a lookup (BEP 5).
pub const REFRESH_AFTER_SECS: u64 = 15 * 60;
/// Queries missed in a row after which a node is bad ("multiple" in BEP 5).
pub const MAX_FAILURES: u32 = 2;

/// How much a node can be trusted to answer (BEP 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Answered one of our queries lately, or answered once and queried us lately.
    Good,
    /// Quiet for a while, or never answered: worth a ping before relying on it.
    Questionable,
    /// Missed [`MAX_FAILURES`] queries in a row: first to be replaced.
    Bad,
}

/// One node in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its id.
    pub id: NodeId,
    /// Where it answers.
    pub addr: SocketAddr,
    /// When it last answered one of our queries.
    pub last_reply: Option<u64>,
    /// When it last queried us.
    pub last_query: Option<u64>,
    /// Our queries it missed since its last answer.
    pub failures: u32,
}

impl Node {
    /// Its status at `now`.
    pub fn status(&self, now: u64) -> Status {
        let recent = |t: Option<u64>| t.is_some_and(|t| now.saturating_sub(t) < GOOD_FOR_SECS);
        if self.failures >= MAX_FAILURES {
            Status::Bad
        } else if recent(self.last_reply) || (self.last_reply.is_some() && recent(self.last_query))
        {
            Status::Good
        } else {
            Status::Questionable
        }
    }

    fn last_seen(&self) -> u64 {
        self.last_reply.max(self.last_query).unwrap_or(0)
    }
}

/// How the node heard from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact {
    /// It answered a query of ours.
    Reply,
    /// It sent us a query.
    Query,
}

/// What [`RoutingTable::heard_from`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new node in a bucket with room.
    Added,
    /// A node already in the table, now updated.
    Updated,
    /// A new node in place of a bad one.
    Replaced {
        /// The bad node dropped.
        old: NodeId,
    },
    /// The bucket is full of good and questionable nodes: the node waits
    /// among the bucket's replacement candidates. Ping `ping` (the bucket's
    /// questionable nodes); the ones that miss become bad and are replaced.
    Cached {
        /// Questionable nodes of that bucket, least recently seen first.
        ping: Vec<(NodeId, SocketAddr)>,
    },
    /// Not taken; the reason is in the variant.
    Ignored(Ignored),
}

/// Why a contact did not enter the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// It has our own id.
    OwnId,
    /// Port 0 cannot be answered.
    PortZero,
    /// The id is in the table at another address (a spoof, or a restarted
    /// node: the old entry goes bad if it stopped answering).
    IdAtOtherAddress,
    /// The address is in the table with another id.
    AddressHasOtherId,
}

#[derive(Debug, Clone)]
struct Bucket {
    nodes: Vec<Node>,
    /// Candidates for when a node goes bad, oldest first, at most [`K`].
    replacements: Vec<Node>,
    last_changed: u64,
}

impl Bucket {
    fn new(now: u64) -> Bucket {
        Bucket {
            nodes: Vec::with_capacity(K),
            replacements: Vec::new(),
            last_changed: now,
        }
    }
}

/// A Kademlia routing table.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    own_id: NodeId,
    /// Bucket `i` holds the ids that share exactly `i` leading bits with
    /// ours; the last one holds every id sharing at least as many.
    buckets: Vec<Bucket>,
}

impl RoutingTable {
    /// An empty table for a node with `own_id`.
    pub fn new(own_id: NodeId, now: u64) -> RoutingTable {
        RoutingTable {
            own_id,
            buckets: vec![Bucket::new(now)],
        }
    }

    /// Our id.
    pub fn own_id(&self) -> NodeId {
        self.own_id
    }

    /// Nodes in the table (not counting replacement candidates).
    pub fn len(&self) -> usize {
        self.buckets.iter().map(|b| b.nodes.len()).sum()
    }

    /// True when the table holds no node.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of buckets so far.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// Every node in the table.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.buckets.iter().flat_map(|b| b.nodes.iter())
    }

    /// The node with `id`, if it is in the table.
    pub fn get(&self, id: &NodeId) -> Option<&Node> {
        self.buckets[self.bucket_index(id)]
            .nodes
            .iter()
            .find(|n| n.id == *id)
    }

    fn bucket_index(&self, id: &NodeId) -> usize {
        self.own_id
            .common_prefix_bits(id)
            .min(self.buckets.len() - 1)
    }

    /// Records that `id` at `addr` answered us or queried us. Read-only
    /// nodes (BEP 43) must not be passed here.
    pub fn heard_from(
        &mut self,
        id: NodeId,
        addr: SocketAddr,
        contact: Contact,
        now: u64,
    ) -> Outcome {
        if id == self.own_id {
            return Outcome::Ignored(Ignored::OwnId);
        }
        if addr.port() == 0 {
            return Outcome::Ignored(Ignored::PortZero);
        }
        let touch = |n: &mut Node| match contact {
            Contact::Reply => {
                n.last_reply = Some(now);
                n.failures = 0;
            }
            Contact::Query => n.last_query = Some(now),
        };
        let idx = self.bucket_index(&id);
        if let Some(n) = self.buckets[idx].nodes.iter_mut().find(|n| n.id == id) {
            if n.addr != addr {
                return Outcome::Ignored(Ignored::IdAtOtherAddress);
            }
            touch(n);
            self.buckets[idx].last_changed = now;
            return Outcome::Updated;
        }
        if self.nodes().any(|n| n.addr == addr) {
            return Outcome::Ignored(Ignored::AddressHasOtherId);
        }
        let mut node = Node {
            id,
            addr,
            last_reply: None,
            last_query: None,
            failures: 0,
        };
        touch(&mut node);
        self.insert(node, now)
    }

    fn insert(&mut self, node: Node, now: u64) -> Outcome {
        loop {
            let idx = self.bucket_index(&node.id);
            let can_split = idx + 1 == self.buckets.len() && self.buckets.len() < MAX_BUCKETS;
            let bucket = &mut self.buckets[idx];
            if bucket.nodes.len() < K {
                bucket.replacements.retain(|r| r.id != node.id);
                bucket.nodes.push(node);
                bucket.last_changed = now;
                return Outcome::Added;
            }
            if let Some(bad) = bucket
                .nodes
                .iter_mut()
                .find(|n| n.status(now) == Status::Bad)
            {
                let old = bad.id;
                bucket.replacements.retain(|r| r.id != node.id);
                *bad = node;
                bucket.last_changed = now;
                return Outcome::Replaced { old };
            }
            if can_split {
                self.split_last(now);
                continue;
            }
            bucket
                .replacements
                .retain(|r| r.id != node.id && r.addr != node.addr);
            if bucket.replacements.len() == K {
                bucket.replacements.remove(0);
            }
            bucket.replacements.push(node);
            let mut ping: Vec<&Node> = bucket
                .nodes
                .iter()
                .filter(|n| n.status(now) == Status::Questionable)
                .collect();
            ping.sort_by_key(|n| n.last_seen());
            let ping = ping.into_iter().map(|n| (n.id, n.addr)).collect();
            return Outcome::Cached { ping };
        }
    }

    /// Splits the last bucket: the ids sharing one more bit with ours move
    /// to a new last bucket.
    fn split_last(&mut self, now: u64) {
        let depth = self.buckets.len() - 1;
        let own = self.own_id;
        let deeper = |n: &Node| own.common_prefix_bits(&n.id) > depth;
        let Some(last) = self.buckets.last_mut() else {
            return;
        };
        let mut next = Bucket::new(now);
        let (moved, kept): (Vec<Node>, Vec<Node>) = last.nodes.drain(..).partition(deeper);
        last.nodes = kept;
        next.nodes = moved;
        let (moved, kept): (Vec<Node>, Vec<Node>) = last.replacements.drain(..).partition(deeper);
        last.replacements = kept;
        next.replacements = moved;
        self.buckets.push(next);
    }

    /// Records that `id` missed a query. A node that turns bad gives its
    /// place to the newest replacement candidate, if there is one; the
    /// candidate that took it is returned.
    pub fn failed(&mut self, id: &NodeId, now: u64) -> Option<NodeId> {
        let idx = self.bucket_index(id);
        let bucket = &mut self.buckets[idx];
        let pos = bucket.nodes.iter().position(|n| n.id == *id)?;
        bucket.nodes[pos].failures = bucket.nodes[pos].failures.saturating_add(1);
        if bucket.nodes[pos].status(now) != Status::Bad {
            return None;
        }
        let candidate = bucket.replacements.pop()?;
        let new = candidate.id;
        bucket.nodes[pos] = candidate;
        bucket.last_changed = now;
        Some(new)
    }

    /// Up to `count` good or questionable nodes, closest to `target` first.
    pub fn closest(&self, target: &NodeId, count: usize, now: u64) -> Vec<&Node> {
        let mut all: Vec<&Node> = self
            .nodes()
            .filter(|n| n.status(now) != Status::Bad)
            .collect();
        all.sort_by_key(|n| n.id.distance(target));
        all.truncate(count);
        all
    }

    /// Questionable nodes, least recently seen first: ping them to learn
    /// whether they are still there.
    pub fn questionable(&self, now: u64) -> Vec<(NodeId, SocketAddr)> {
        let mut q: Vec<&Node> = self
            .nodes()
            .filter(|n| n.status(now) == Status::Questionable)
            .collect();
        q.sort_by_key(|n| n.last_seen());
        q.into_iter().map(|n| (n.id, n.addr)).collect()
    }

    /// Buckets nothing happened in for [`REFRESH_AFTER_SECS`]: look up a
    /// random id in each ([`RoutingTable::refresh_target`]) and mark it with
    /// [`RoutingTable::refreshed`].
    pub fn stale_buckets(&self, now: u64) -> Vec<usize> {
        (0..self.buckets.len())
            .filter(|&i| now.saturating_sub(self.buckets[i].last_changed) >= REFRESH_AFTER_SECS)
            .collect()
    }

    /// A lookup target inside bucket `index`, from 20 random bytes.
    pub fn refresh_target(&self, index: usize, random: [u8; ID_LEN]) -> NodeId {
        let mut id = random;
        let shared = index.min(MAX_BUCKETS - 1);
        for bit in 0..shared {
            set_bit(&mut id, bit, self.own_id.bit(bit));
        }
        if index + 1 < self.buckets.len() {
            // Inside a bucket that is not the last, ids differ at bit `index`.
            set_bit(&mut id, index, !self.own_id.bit(index));
        }
        NodeId(id)
    }

    /// Marks bucket `index` as just refreshed.
    pub fn refreshed(&mut self, index: usize, now: u64) {
        if let Some(b) = self.buckets.get_mut(index) {
            b.last_changed = now;
        }
    }
}

fn set_bit(id: &mut [u8; ID_LEN], bit: usize, on: bool) {
    let mask = 0x80 >> (bit % 8);
    if on {
        id[bit / 8] |= mask;
    } else {
        id[bit / 8] &= !mask;
    }
}
