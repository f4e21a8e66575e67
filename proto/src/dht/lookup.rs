//! One iterative Kademlia lookup (BEP 5) in one address family: the
//! candidates closest to a target, asked [`ALPHA`] at a time, until the
//! [`K`] closest that still answer have all answered.
//!
//! Nodes whose id we do not know yet (bootstrap nodes, nodes named in PORT
//! messages) can seed a lookup: they are asked first, and take their place
//! by distance once their answer tells their id.
//!
//! Must not send anything or read a clock: [`Lookup::next_queries`] says
//! whom to ask, the caller sends and reports back with [`Lookup::replied`]
//! and [`Lookup::failed`].

use std::net::SocketAddr;

use super::NodeId;
use super::routing::K;

/// Queries in flight at once (Kademlia's alpha).
pub const ALPHA: usize = 3;
/// Most candidates kept, closest first: a lookup never needs more than a
/// few times `K` to converge, and answers cannot grow it without bound.
pub const MAX_CANDIDATES: usize = 8 * K;
/// Most unknown-id seeds asked by one lookup.
pub const MAX_SEEDS: usize = 16;

/// How far one candidate has got.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Not asked yet.
    Fresh,
    /// Asked, no answer yet.
    Asked,
    /// Answered; with the announce token it gave, if any.
    Replied { token: Option<Vec<u8>> },
    /// Did not answer in time, or answered with an error.
    Failed,
}

#[derive(Debug, Clone)]
struct Candidate {
    id: NodeId,
    addr: SocketAddr,
    state: State,
}

/// An iterative lookup of `target`.
#[derive(Debug, Clone)]
pub struct Lookup {
    target: NodeId,
    /// Known-id candidates, closest to `target` first.
    candidates: Vec<Candidate>,
    /// Seeds whose id is unknown, with whether they were asked and are
    /// still outstanding.
    seeds: Vec<(SocketAddr, bool)>,
    in_flight: usize,
}

impl Lookup {
    /// A lookup of `target` starting from `nodes` (known ids, e.g. the
    /// routing table's closest) and `seeds` (addresses only).
    pub fn new(target: NodeId, nodes: &[(NodeId, SocketAddr)], seeds: &[SocketAddr]) -> Lookup {
        let mut l = Lookup {
            target,
            candidates: Vec::new(),
            seeds: Vec::new(),
            in_flight: 0,
        };
        for (id, addr) in nodes {
            l.add_candidate(*id, *addr);
        }
        for addr in seeds.iter().take(MAX_SEEDS) {
            if !l.seeds.iter().any(|(a, _)| a == addr)
                && !l.candidates.iter().any(|c| c.addr == *addr)
            {
                l.seeds.push((*addr, false));
            }
        }
        l
    }

    /// What is looked up.
    pub fn target(&self) -> NodeId {
        self.target
    }

    /// Whom to ask now: every seed not asked yet, then the closest fresh
    /// candidates among the `K` closest still answering, while fewer than
    /// [`ALPHA`] queries are in flight. They count as in flight from here.
    pub fn next_queries(&mut self) -> Vec<(Option<NodeId>, SocketAddr)> {
        let mut ask = Vec::new();
        for (addr, asked) in &mut self.seeds {
            if !*asked {
                *asked = true;
                self.in_flight += 1;
                ask.push((None, *addr));
            }
        }
        let mut rank = 0;
        for c in &mut self.candidates {
            if self.in_flight >= ALPHA || rank >= K {
                break;
            }
            match c.state {
                State::Failed => continue,
                State::Fresh => {
                    c.state = State::Asked;
                    self.in_flight += 1;
                    ask.push((Some(c.id), c.addr));
                }
                State::Asked | State::Replied { .. } => {}
            }
            rank += 1;
        }
        ask
    }

    /// `addr` answered as node `id`, naming `nodes` closer to the target
    /// (of this lookup's family) and giving `token` (get_peers).
    pub fn replied(
        &mut self,
        addr: SocketAddr,
        id: NodeId,
        token: Option<Vec<u8>>,
        nodes: impl IntoIterator<Item = (NodeId, SocketAddr)>,
    ) {
        if let Some(i) = self.seeds.iter().position(|(a, _)| *a == addr) {
            let (_, asked) = self.seeds.remove(i);
            if asked {
                self.in_flight = self.in_flight.saturating_sub(1);
            }
            // A seed that answered joins the candidates under its id.
            self.add_candidate(id, addr);
            if let Some(c) = self.candidates.iter_mut().find(|c| c.addr == addr) {
                c.state = State::Replied { token };
            }
        } else if let Some(c) = self
            .candidates
            .iter_mut()
            .find(|c| c.addr == addr && c.id == id)
        {
            if c.state == State::Asked {
                self.in_flight = self.in_flight.saturating_sub(1);
            }
            c.state = State::Replied { token };
        } else if let Some(c) = self.candidates.iter_mut().find(|c| c.addr == addr) {
            // Another id at that address than the one we were told: the
            // answer counts as a miss, its nodes are not trusted.
            if c.state == State::Asked {
                self.in_flight = self.in_flight.saturating_sub(1);
            }
            c.state = State::Failed;
            return;
        } else {
            return;
        }
        for (id, addr) in nodes {
            self.add_candidate(id, addr);
        }
    }

    /// `addr` did not answer in time (or answered with an error).
    pub fn failed(&mut self, addr: SocketAddr) {
        if let Some(i) = self.seeds.iter().position(|(a, _)| *a == addr) {
            let (_, asked) = self.seeds.remove(i);
            if asked {
                self.in_flight = self.in_flight.saturating_sub(1);
            }
            return;
        }
        if let Some(c) = self.candidates.iter_mut().find(|c| c.addr == addr)
            && c.state == State::Asked
        {
            c.state = State::Failed;
            self.in_flight = self.in_flight.saturating_sub(1);
        }
    }

    /// Done when nothing is in flight and no fresh candidate is left among
    /// the `K` closest still answering: they have all answered.
    pub fn is_done(&self) -> bool {
        if self.in_flight > 0 || self.seeds.iter().any(|(_, asked)| !asked) {
            return false;
        }
        !self
            .candidates
            .iter()
            .filter(|c| c.state != State::Failed)
            .take(K)
            .any(|c| c.state == State::Fresh)
    }

    /// The `K` closest nodes that answered with a token, for announce_peer.
    pub fn closest_with_tokens(&self) -> Vec<(NodeId, SocketAddr, Vec<u8>)> {
        self.candidates
            .iter()
            .filter_map(|c| match &c.state {
                State::Replied { token: Some(t) } => Some((c.id, c.addr, t.clone())),
                _ => None,
            })
            .take(K)
            .collect()
    }

    /// How many candidates answered so far.
    pub fn replied_count(&self) -> usize {
        self.candidates
            .iter()
            .filter(|c| matches!(c.state, State::Replied { .. }))
            .count()
    }

    fn add_candidate(&mut self, id: NodeId, addr: SocketAddr) {
        if addr.port() == 0 || self.candidates.iter().any(|c| c.id == id || c.addr == addr) {
            return;
        }
        let d = id.distance(&self.target);
        let at = self
            .candidates
            .partition_point(|c| c.id.distance(&self.target) < d);
        if at >= MAX_CANDIDATES {
            return;
        }
        self.candidates.insert(
            at,
            Candidate {
                id,
                addr,
                state: State::Fresh,
            },
        );
        if self.candidates.len() > MAX_CANDIDATES {
            // The farthest goes; if it was asked its answer is ignored.
            if let Some(c) = self.candidates.pop()
                && c.state == State::Asked
            {
                self.in_flight = self.in_flight.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(b: u8) -> NodeId {
        let mut x = [0u8; 20];
        x[0] = b;
        NodeId(x)
    }

    fn addr(p: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], p))
    }

    #[test]
    fn asks_alpha_closest_first_and_finishes_when_the_k_closest_answered() {
        let nodes: Vec<_> = (1..=20u8).map(|i| (id(i), addr(u16::from(i)))).collect();
        let mut l = Lookup::new(id(0), &nodes, &[]);
        let first: Vec<_> = l.next_queries().into_iter().map(|(_, a)| a).collect();
        assert_eq!(first, vec![addr(1), addr(2), addr(3)]);
        assert!(l.next_queries().is_empty(), "alpha in flight");
        let mut asked = first;
        while let Some(a) = asked.pop() {
            let i = a.port() as u8;
            l.replied(a, id(i), Some(vec![i]), []);
            asked.extend(l.next_queries().into_iter().map(|(_, a)| a));
        }
        assert!(l.is_done());
        let announced: Vec<u8> = l
            .closest_with_tokens()
            .iter()
            .map(|(i, _, _)| i.0[0])
            .collect();
        assert_eq!(announced, (1..=8).collect::<Vec<u8>>());
        assert_eq!(
            l.replied_count(),
            K,
            "nodes beyond the k closest were never asked"
        );
    }

    #[test]
    fn a_seed_learns_its_id_and_closer_nodes_take_over() {
        let mut l = Lookup::new(id(0), &[], &[addr(100)]);
        assert_eq!(l.next_queries(), vec![(None, addr(100))]);
        assert!(!l.is_done());
        l.replied(
            addr(100),
            id(200),
            None,
            [(id(5), addr(5)), (id(6), addr(6))],
        );
        assert_eq!(
            l.next_queries(),
            vec![(Some(id(5)), addr(5)), (Some(id(6)), addr(6))]
        );
        l.failed(addr(5));
        l.replied(addr(6), id(6), Some(b"t".to_vec()), []);
        assert!(l.is_done());
        let closest: Vec<_> = l
            .closest_with_tokens()
            .into_iter()
            .map(|(i, ..)| i)
            .collect();
        assert_eq!(closest, vec![id(6)]);
    }

    #[test]
    fn a_lookup_with_nothing_to_ask_is_done_and_a_silent_one_ends_by_failures() {
        let l = Lookup::new(id(0), &[], &[]);
        assert!(l.is_done());
        let mut l = Lookup::new(id(0), &[(id(1), addr(1))], &[addr(9)]);
        let asked = l.next_queries();
        assert_eq!(asked.len(), 2);
        for (_, a) in asked {
            l.failed(a);
        }
        assert!(l.is_done());
        assert!(l.closest_with_tokens().is_empty());
    }

    #[test]
    fn an_answer_under_another_id_is_a_miss_and_its_nodes_are_ignored() {
        let mut l = Lookup::new(id(0), &[(id(1), addr(1))], &[]);
        l.next_queries();
        l.replied(addr(1), id(99), None, [(id(2), addr(2))]);
        assert!(l.is_done());
        assert!(l.next_queries().is_empty());
    }

    #[test]
    fn answers_cannot_grow_the_candidates_past_the_bound() {
        let mut l = Lookup::new(id(0), &[(id(255), addr(1))], &[]);
        l.next_queries();
        let flood = (0..1000u16).map(|i| {
            let mut x = [0xffu8; 20];
            x[18..].copy_from_slice(&i.to_be_bytes());
            x[0] = 1;
            (NodeId(x), addr(1000 + i))
        });
        l.replied(addr(1), id(255), None, flood);
        assert!(l.candidates.len() <= MAX_CANDIDATES);
    }
}
