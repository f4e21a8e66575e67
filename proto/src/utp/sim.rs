//! Two connections talking through a simulated link: loss, duplication,
//! reordering, a bottleneck with a queue, and a clock that jumps from one
//! event to the next.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::conn::{Config, Connection, Micros, State};
use super::packet;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// One direction of the link.
#[derive(Default, Clone, Copy)]
struct Link {
    delay_us: Micros,
    loss_pct: u64,
    dup_pct: u64,
    /// Extra random delay up to this, which reorders packets.
    jitter_us: Micros,
    /// Bytes per second through the bottleneck; 0 for none.
    rate: u64,
}

/// (deliver at, order sent, to b?, datagram): a datagram on the wire.
type InFlight = (Micros, u64, bool, Vec<u8>);

struct Sim {
    a: Connection,
    b: Connection,
    ab: Link,
    ba: Link,
    now: Micros,
    wire: BinaryHeap<Reverse<InFlight>>,
    order: u64,
    busy_until: [Micros; 2],
    rng: Rng,
}

fn cfg(payload: usize) -> Config {
    Config {
        safe_payload: payload,
        max_payload: payload,
        recv_window: 1 << 20,
        send_buffer: 1 << 20,
        idle_timeout_us: 600_000_000,
        max_in_flight_unoffered: 4096,
    }
}

impl Sim {
    fn new(ab: Link, ba: Link, payload: usize) -> Sim {
        let mut a = Connection::connect(cfg(payload), 100, 40_000, 0);
        let mut out = Vec::new();
        assert!(a.transmit(0, &mut out));
        let syn = packet::decode(&out).unwrap();
        let b = Connection::accept(cfg(payload), &syn.header, syn.large, 65_530, 0);
        Sim {
            a,
            b,
            ab,
            ba,
            now: 0,
            wire: BinaryHeap::new(),
            order: 0,
            busy_until: [0; 2],
            rng: Rng(0x9e37_79b9_7f4a_7c15),
        }
    }

    fn send(&mut self, to_b: bool, d: Vec<u8>) {
        let link = if to_b { self.ab } else { self.ba };
        if self.rng.chance(link.loss_pct) {
            return;
        }
        let mut at = self.now;
        if let Some(serialise) = (d.len() as u64 * 1_000_000).checked_div(link.rate) {
            let slot = &mut self.busy_until[usize::from(to_b)];
            *slot = (*slot).max(self.now) + serialise;
            at = *slot;
        }
        at += link.delay_us;
        if link.jitter_us > 0 {
            at += self.rng.next() % link.jitter_us;
        }
        if self.rng.chance(link.dup_pct) {
            self.order += 1;
            self.wire
                .push(Reverse((at + 1, self.order, to_b, d.clone())));
        }
        self.order += 1;
        self.wire.push(Reverse((at, self.order, to_b, d)));
    }

    fn flush(&mut self) {
        let mut out = Vec::new();
        for to_b in [true, false] {
            loop {
                let c = if to_b { &mut self.a } else { &mut self.b };
                if !c.transmit(self.now, &mut out) {
                    break;
                }
                self.send(to_b, out.clone());
            }
        }
    }

    /// Advances to the next event; false when nothing is left to happen.
    fn step(&mut self) -> bool {
        self.flush();
        let next = [
            self.wire.peek().map(|Reverse(p)| p.0),
            self.a.deadline(),
            self.b.deadline(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { return false };
        self.now = self.now.max(next);
        while let Some(Reverse(p)) = self.wire.peek()
            && p.0 <= self.now
        {
            let Some(Reverse((_, _, to_b, d))) = self.wire.pop() else {
                break;
            };
            let p = packet::decode(&d).unwrap();
            let c = if to_b { &mut self.b } else { &mut self.a };
            c.on_packet(&p, self.now);
        }
        for c in [&mut self.a, &mut self.b] {
            if c.deadline().is_some_and(|d| d <= self.now) {
                c.on_timeout(self.now);
            }
        }
        true
    }

    /// Sends `data` from a to b; returns what b read.
    fn transfer(&mut self, data: &[u8], max_us: Micros) -> Vec<u8> {
        let mut written = 0;
        let mut got = Vec::new();
        let mut buf = vec![0; 1 << 16];
        while self.now < max_us && got.len() < data.len() {
            written += self.a.write(&data[written..]);
            loop {
                let n = self.b.read(&mut buf);
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert!(self.step(), "the simulation ran dry at {} bytes", got.len());
        }
        got
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn data_arrives_intact_over_a_clean_link_and_both_close() {
    let link = Link {
        delay_us: 5_000,
        ..Link::default()
    };
    let mut sim = Sim::new(link, link, 1400);
    let d = data(300_000);
    assert_eq!(sim.transfer(&d, 60_000_000), d);
    sim.a.close();
    for _ in 0..1000 {
        sim.step();
        if sim.b.at_eof() {
            break;
        }
    }
    assert!(sim.b.at_eof());
    sim.b.close();
    for _ in 0..1000 {
        if !sim.step() || (sim.a.is_done() && sim.b.is_done()) {
            break;
        }
    }
    assert!(sim.a.is_done() && sim.b.is_done());
    assert_eq!(sim.a.failure(), None);
}

#[test]
fn data_arrives_intact_under_loss_reordering_and_duplication() {
    let link = Link {
        delay_us: 10_000,
        loss_pct: 5,
        dup_pct: 3,
        jitter_us: 8_000,
        rate: 0,
    };
    let mut sim = Sim::new(link, link, 1000);
    let d = data(500_000);
    let got = sim.transfer(&d, 600_000_000);
    assert_eq!(got.len(), d.len());
    assert!(got == d);
    assert_eq!(sim.a.state(), State::Connected);
}

#[test]
fn sequence_numbers_wrap_without_losing_data() {
    let link = Link {
        delay_us: 1_000,
        loss_pct: 2,
        ..Link::default()
    };
    // 65,530 to 65,536 and on: b's numbers wrap at once, a's after 25,000 packets.
    let mut sim = Sim::new(link, link, 100);
    let d = data(3_000_000);
    assert!(sim.transfer(&d, 600_000_000) == d);
    let back = data(50_000);
    let mut written = 0;
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    while got.len() < back.len() && sim.now < 1_200_000_000 {
        written += sim.b.write(&back[written..]);
        let n = sim.a.read(&mut buf);
        got.extend_from_slice(&buf[..n]);
        sim.step();
    }
    assert!(got == back);
}

#[test]
fn without_queuing_delay_the_window_grows_to_fill_the_link() {
    // 10 MB/s, 20 ms round trip: 200 KB fills the pipe.
    let link = Link {
        delay_us: 10_000,
        rate: 10_000_000,
        ..Link::default()
    };
    let mut sim = Sim::new(link, link, 1400);
    let d = data(20_000_000);
    let got = sim.transfer(&d, 4_000_000);
    let rate = got.len() as u64 * 1_000_000 / sim.now;
    assert!(rate > 7_000_000, "only {rate} B/s of 10 MB/s");
}

#[test]
fn a_queue_growing_past_the_target_shrinks_the_window() {
    // A slow bottleneck with an unbounded queue: a loss-based sender fills
    // the queue for ever; LEDBAT must hold it near 100 ms.
    let link = Link {
        delay_us: 5_000,
        rate: 1_000_000,
        ..Link::default()
    };
    let mut sim = Sim::new(link, link, 1400);
    let d = data(20_000_000);
    sim.transfer(&d, 20_000_000);
    let queue_us = sim.busy_until[1].saturating_sub(sim.now);
    // Window ~ rate * (rtt + target) = 110 KB, queue ~ 100 ms.
    assert!(
        sim.a.congestion_window() < 250_000,
        "window {} queue {queue_us} us",
        sim.a.congestion_window()
    );
    assert!(queue_us < 200_000, "queue {queue_us} us");

    // Another flow adds 300 ms to the path: the window must fall.
    let before = sim.a.congestion_window();
    sim.ab.delay_us += 300_000;
    let t = sim.now;
    sim.transfer(&d, t + 20_000_000);
    assert!(
        sim.a.congestion_window() < before * 3 / 4,
        "window {} before {before}",
        sim.a.congestion_window()
    );
}

#[test]
fn a_peer_that_offers_no_large_packets_gets_the_safe_size() {
    // A peer that cuts datagrams above 1,100 bytes short, as libtorrent does.
    let mut cfg_big = cfg(1000);
    cfg_big.max_payload = 60_000;
    let mut a = Connection::connect(cfg_big, 1, 1, 0);
    let mut out = Vec::new();
    let mut now = 0;
    assert!(a.transmit(now, &mut out));
    let syn = packet::decode(&out).unwrap();
    let mut b = Connection::accept(cfg(1000), &syn.header, syn.large, 9, now);
    let d = data(200_000);
    let mut written = 0;
    let mut got = Vec::new();
    let mut buf = vec![0; 65536];
    while got.len() < d.len() && now < 30_000_000 {
        written += a.write(&d[written..]);
        now += 1_000;
        while a.transmit(now, &mut out) {
            out.truncate(1100);
            b.on_packet(&packet::decode(&out).unwrap(), now);
        }
        while b.transmit(now, &mut out) {
            a.on_packet(&packet::decode(&out).unwrap(), now);
        }
        if a.deadline().is_some_and(|t| t <= now) {
            a.on_timeout(now);
        }
        let n = b.read(&mut buf);
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got == d);
    assert_eq!(a.packet_payload(), 1000);
}

#[test]
fn a_path_that_carries_large_packets_uses_them() {
    let mut cfg_big = cfg(1000);
    cfg_big.max_payload = 60_000;
    let mut a = Connection::connect(cfg_big, 1, 1, 0);
    let mut out = Vec::new();
    assert!(a.transmit(0, &mut out));
    let syn = packet::decode(&out).unwrap();
    let mut b = Connection::accept(cfg_big, &syn.header, syn.large, 9, 0);
    let d = data(1_000_000);
    let mut written = 0;
    let mut got = Vec::new();
    let mut buf = vec![0; 65536];
    let mut now = 0;
    while got.len() < d.len() && now < 10_000_000 {
        written += a.write(&d[written..]);
        now += 100;
        while a.transmit(now, &mut out) {
            b.on_packet(&packet::decode(&out).unwrap(), now);
        }
        while b.transmit(now, &mut out) {
            a.on_packet(&packet::decode(&out).unwrap(), now);
        }
        let n = b.read(&mut buf);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got.len(), d.len());
    assert!(got == d);
    assert_eq!(a.packet_payload(), 60_000);
}

#[test]
fn a_reset_answering_the_syn_refuses_the_connection() {
    let mut a = Connection::connect(cfg(1000), 1, 1, 0);
    let mut out = Vec::new();
    assert!(a.transmit(0, &mut out));
    let syn = packet::decode(&out).unwrap().header;
    let mut rst = Vec::new();
    let h = packet::Header {
        ty: packet::PacketType::Reset,
        conn_id: syn.conn_id,
        seq_nr: 5,
        ack_nr: syn.seq_nr,
        ..syn
    };
    packet::encode(&h, None, None, &[], &mut rst);
    a.on_packet(&packet::decode(&rst).unwrap(), 10);
    assert_eq!(a.failure(), Some(super::conn::Failure::Refused));
}

#[test]
fn an_unanswered_syn_times_out() {
    let mut a = Connection::connect(cfg(1000), 1, 1, 0);
    let mut out = Vec::new();
    let mut sent = 0;
    while let Some(t) = a.deadline() {
        while a.transmit(t, &mut out) {
            sent += 1;
        }
        a.on_timeout(t);
        if a.state() == State::Closed {
            break;
        }
    }
    assert_eq!(a.failure(), Some(super::conn::Failure::TimedOut));
    assert_eq!(sent, 4);
}
