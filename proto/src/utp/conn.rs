//! One uTP connection as a state machine
//! ([BEP 29](https://www.bittorrent.org/beps/bep_0029.html)): the
//! handshake, sequence and acknowledgement numbers (wrapping at 16 bits),
//! the packets sent and not yet acknowledged, the reorder buffer, selective
//! ACKs, round-trip time and retransmission timeout, fast retransmit, the
//! peer's window and ours, and the congestion window (ledbat.rs).
//!
//! Sans-io: the driver hands in datagrams and the time (microseconds on
//! any monotonic clock), asks for datagrams to send and for the next
//! deadline. Must not know sockets, addresses or the peer protocol.

use std::collections::{HashMap, VecDeque};

use super::ledbat::Ledbat;
use super::packet::{self, Header, MAX_SACK_BYTES, Packet, PacketType};

/// Microseconds on the driver's monotonic clock.
pub type Micros = u64;

/// BEP 29's floor for the retransmission timeout.
const MIN_RTO_US: Micros = 500_000;
/// The timeout before any round trip was measured.
const INITIAL_RTO_US: Micros = 1_000_000;
const MAX_RTO_US: Micros = 60_000_000;
/// Timeouts in a row after which a SYN, or a connection, is given up.
const MAX_SYN_TIMEOUTS: u32 = 3;
const MAX_TIMEOUTS: u32 = 7;
/// Duplicate ACKs (or packets selectively acknowledged past a hole) that
/// say a packet was lost.
const DUP_ACKS: u32 = 3;
/// Most packets in flight: far from the 32,768 at which the 16-bit
/// sequence numbers would become ambiguous.
const MAX_IN_FLIGHT_PACKETS: usize = 4096;
/// How far past the oldest unacknowledged packet a DATA packet may be
/// numbered and still be trusted to carry our ACK.
const SURE_ACK_DISTANCE: u16 = 8;
/// How far ahead of the next expected packet one is kept for reordering.
const MAX_REORDER_DISTANCE: u16 = 2048;

/// What a connection is sized by.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Payload bytes per packet that any path carries (about 1,400).
    pub safe_payload: usize,
    /// Payload bytes per packet we offer to take and send when the peer
    /// offers as much (packet.rs's `EXT_LARGE_PACKETS`): more than
    /// `safe_payload` only for a path known to carry more, such as loopback.
    pub max_payload: usize,
    /// Bytes received and not yet read that we take: our advertised window.
    pub recv_window: usize,
    /// Bytes written and not yet acknowledged that we take.
    pub send_buffer: usize,
    /// Silence after which the connection is given up.
    pub idle_timeout_us: Micros,
    /// Most packets in flight to a peer that made no large-packet offer
    /// (one that may be libtorrent): a hole followed by more than its
    /// reorder buffer holds can make libtorrent refuse the repair for
    /// good, and it sizes that buffer from what its reader asked for (16
    /// packets at least).
    pub max_in_flight_unoffered: usize,
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Our SYN is out, no answer yet.
    SynSent,
    /// Data may flow.
    Connected,
    /// Over: reset, timed out, or closed by both sides.
    Closed,
}

/// Why a connection ended other than by a clean close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The peer answered our SYN with a reset.
    Refused,
    /// The peer reset the connection.
    Reset,
    /// Nothing came back for too long.
    TimedOut,
}

/// Sequence number `a` comes before `b` (mod 2^16).
fn seq_before(a: u16, b: u16) -> bool {
    (a.wrapping_sub(b) as i16) < 0
}

#[derive(Debug)]
struct Sent {
    ty: PacketType,
    seq: u16,
    payload: Vec<u8>,
    sent_at: Micros,
    transmissions: u32,
    sacked: bool,
    needs_resend: bool,
    /// Lost by fast retransmit's reckoning: resent at once, whatever the
    /// window (which was cut already). Without this a sender whose
    /// window holds packets gone unseen past the selective ACK's reach
    /// waits for a timeout to repair the hole.
    resend_now: bool,
}

impl Sent {
    /// Counted against the windows: sent, not known to have arrived, not lost.
    fn counted(&self) -> bool {
        !self.sacked && !self.needs_resend
    }
}

/// One connection.
#[derive(Debug)]
pub struct Connection {
    cfg: Config,
    state: State,
    failure: Option<Failure>,
    recv_id: u16,
    send_id: u16,
    /// The sequence number of our next DATA or FIN.
    seq_nr: u16,
    /// The last sequence number we got in order.
    ack_nr: u16,
    unsent: VecDeque<u8>,
    in_flight: VecDeque<Sent>,
    /// Payload bytes of `in_flight` that count against the windows.
    outstanding: usize,
    in_flight_bytes: usize,
    to_resend: usize,
    closing: bool,
    fin_sent: bool,
    fin_acked: bool,
    peer_wnd: usize,
    ledbat: Ledbat,
    payload: usize,
    /// The peer offered large packets: it is one of ours.
    peer_large: bool,
    window_limited: bool,
    dup_acks: u32,
    last_ack: u16,
    /// Losses of packets before this one belong to the last window cut.
    recovery: u16,
    rtt: Option<(Micros, Micros)>,
    rto: Micros,
    rto_deadline: Option<Micros>,
    timeouts: u32,
    readable: VecDeque<u8>,
    reorder: HashMap<u16, (PacketType, Vec<u8>)>,
    reorder_bytes: usize,
    eof: bool,
    ack_due: bool,
    /// Our clock minus the peer's timestamp on its last packet.
    reply_delay: u32,
    last_heard: Micros,
}

impl Connection {
    fn new(cfg: Config, recv_id: u16, send_id: u16, seq_nr: u16, now: Micros) -> Self {
        let payload = cfg.safe_payload.min(cfg.max_payload).max(1);
        Connection {
            cfg,
            state: State::SynSent,
            failure: None,
            recv_id,
            send_id,
            seq_nr,
            ack_nr: 0,
            unsent: VecDeque::new(),
            in_flight: VecDeque::new(),
            outstanding: 0,
            in_flight_bytes: 0,
            to_resend: 0,
            closing: false,
            fin_sent: false,
            fin_acked: false,
            peer_wnd: cfg.safe_payload,
            ledbat: Ledbat::new(payload),
            payload,
            peer_large: false,
            window_limited: false,
            dup_acks: 0,
            last_ack: seq_nr.wrapping_sub(1),
            recovery: seq_nr,
            rtt: None,
            rto: INITIAL_RTO_US,
            rto_deadline: None,
            timeouts: 0,
            readable: VecDeque::new(),
            reorder: HashMap::new(),
            reorder_bytes: 0,
            eof: false,
            ack_due: false,
            reply_delay: 0,
            last_heard: now,
        }
    }

    /// Opens a connection: `recv_id` is the id packets to us carry (the
    /// driver picks one free for the peer's address), `seq_nr` a random
    /// first sequence number. The SYN goes out with the next `transmit`.
    pub fn connect(cfg: Config, recv_id: u16, seq_nr: u16, now: Micros) -> Self {
        let mut c = Connection::new(cfg, recv_id, recv_id.wrapping_add(1), seq_nr, now);
        c.push_sent(PacketType::Syn, Vec::new(), now);
        c.rto_deadline = Some(now + c.rto);
        c
    }

    /// Accepts the connection a SYN opens (`syn_large`: its offer of large
    /// packets); `seq_nr` is a random first sequence number. The answer goes out with the next `transmit`.
    pub fn accept(
        cfg: Config,
        syn: &Header,
        syn_large: Option<u32>,
        seq_nr: u16,
        now: Micros,
    ) -> Self {
        let mut c = Connection::new(cfg, syn.conn_id.wrapping_add(1), syn.conn_id, seq_nr, now);
        c.state = State::Connected;
        c.ack_nr = syn.seq_nr;
        c.peer_wnd = syn.wnd_size as usize;
        c.reply_delay = (now as u32).wrapping_sub(syn.timestamp_us);
        c.ack_due = true;
        c.peer_offer(syn_large);
        c
    }

    /// Takes the peer's offer of large packets, if ours stands too.
    fn peer_offer(&mut self, large: Option<u32>) {
        if let Some(l) = large {
            self.peer_large = true;
            let l = usize::try_from(l).unwrap_or(usize::MAX);
            self.payload = self.cfg.max_payload.min(l).max(self.payload);
        }
    }

    /// Our offer of large packets, on a SYN and every STATE.
    fn offer(&self) -> Option<u32> {
        (self.cfg.max_payload > self.cfg.safe_payload)
            .then(|| u32::try_from(self.cfg.max_payload).unwrap_or(u32::MAX))
    }

    /// The id the peer's packets carry to this connection.
    pub fn recv_id(&self) -> u16 {
        self.recv_id
    }

    /// Where the connection stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// Why it ended, if it did not end cleanly.
    pub fn failure(&self) -> Option<Failure> {
        self.failure
    }

    /// Nothing is left to do: closed, or our FIN acknowledged after the
    /// peer's (or after ours when we closed first, as the peer may never).
    pub fn is_done(&self) -> bool {
        self.state == State::Closed || (self.fin_acked && self.unsent.is_empty() && !self.ack_due)
    }

    /// A one-line account of the windows and timers, for logs.
    pub fn summary(&self) -> String {
        format!(
            "{:?} cwnd {} peer_wnd {} outstanding {} in_flight {} to_resend {} unsent {} readable {} rto {} timeouts {} seq {} ack {} last_ack {} dup {}",
            self.state,
            self.ledbat.window(),
            self.peer_wnd,
            self.outstanding,
            self.in_flight.len(),
            self.to_resend,
            self.unsent.len(),
            self.readable.len(),
            self.rto,
            self.timeouts,
            self.seq_nr,
            self.ack_nr,
            self.last_ack,
            self.dup_acks,
        )
    }

    /// The congestion window in bytes.
    pub fn congestion_window(&self) -> usize {
        self.ledbat.window()
    }

    /// Payload bytes per packet now.
    pub fn packet_payload(&self) -> usize {
        self.payload
    }

    /// Bytes `write` takes now.
    pub fn writable(&self) -> usize {
        if self.closing || self.state == State::Closed {
            return 0;
        }
        self.cfg
            .send_buffer
            .saturating_sub(self.unsent.len() + self.in_flight_bytes)
    }

    /// Queues bytes to send; returns how many it took (0 when the send
    /// buffer is full or the connection closing).
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.writable());
        self.unsent.extend(&data[..n]);
        n
    }

    /// Bytes that `read` would return.
    pub fn readable(&self) -> usize {
        self.readable.len()
    }

    /// The peer ended its stream and everything before the end was read.
    pub fn at_eof(&self) -> bool {
        self.eof && self.readable.is_empty()
    }

    /// Moves received bytes into `out`; returns how many.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let (a, b) = self.readable.as_slices();
        let n = out.len().min(a.len() + b.len());
        let from_a = n.min(a.len());
        out[..from_a].copy_from_slice(&a[..from_a]);
        out[from_a..n].copy_from_slice(&b[..n - from_a]);
        self.consume(n);
        n
    }

    /// The received bytes not yet read, in two parts (a ring buffer's);
    /// [`Connection::consume`] says how many were taken.
    pub fn readable_slices(&self) -> (&[u8], &[u8]) {
        self.readable.as_slices()
    }

    /// Drops the first `n` readable bytes (at most all of them).
    pub fn consume(&mut self, n: usize) {
        let was = self.window();
        self.readable.drain(..n.min(self.readable.len()));
        // A window the peer saw closed must be seen opening, or it waits
        // for a timeout to probe.
        let mark = (4 * self.payload).min(self.cfg.recv_window / 2);
        if was < mark && self.window() >= mark {
            self.ack_due = true;
        }
    }

    /// Gives the connection up at once (its owner is gone before it
    /// connected, say); nothing more is sent.
    pub fn abort(&mut self) {
        if self.state != State::Closed {
            self.fail(Failure::Reset);
        }
    }

    /// Ends our stream once what was written is sent.
    pub fn close(&mut self) {
        self.closing = true;
    }

    /// Our advertised window: room left for bytes not yet read.
    fn window(&self) -> usize {
        self.cfg
            .recv_window
            .saturating_sub(self.readable.len() + self.reorder_bytes)
    }

    /// When `on_timeout` wants to run.
    pub fn deadline(&self) -> Option<Micros> {
        if self.state == State::Closed {
            return None;
        }
        let idle = self.last_heard + self.cfg.idle_timeout_us;
        Some(self.rto_deadline.map_or(idle, |d| d.min(idle)))
    }

    /// Runs the timers due at `now`.
    pub fn on_timeout(&mut self, now: Micros) {
        if self.state == State::Closed {
            return;
        }
        if now >= self.last_heard + self.cfg.idle_timeout_us {
            self.fail(Failure::TimedOut);
            return;
        }
        let Some(deadline) = self.rto_deadline else {
            return;
        };
        if now < deadline {
            return;
        }
        if self.in_flight.is_empty() {
            self.rto_deadline = None;
            return;
        }
        self.timeouts += 1;
        let limit = if self.state == State::SynSent {
            MAX_SYN_TIMEOUTS
        } else {
            MAX_TIMEOUTS
        };
        if self.timeouts > limit {
            self.fail(Failure::TimedOut);
            return;
        }
        self.rto = (self.rto * 2).min(MAX_RTO_US);
        self.rto_deadline = Some(now + self.rto);
        self.ledbat.on_timeout(self.payload);
        for i in 0..self.in_flight.len() {
            self.mark_lost(i);
        }
    }

    fn fail(&mut self, why: Failure) {
        self.state = State::Closed;
        self.failure = Some(why);
        self.unsent.clear();
        self.in_flight.clear();
        self.ack_due = false;
    }

    fn mark_lost(&mut self, i: usize) {
        let s = &mut self.in_flight[i];
        if s.needs_resend || s.sacked {
            return;
        }
        s.needs_resend = true;
        self.outstanding -= s.payload.len();
        self.to_resend += 1;
    }

    fn push_sent(&mut self, ty: PacketType, payload: Vec<u8>, now: Micros) {
        self.outstanding += payload.len();
        self.in_flight_bytes += payload.len();
        self.in_flight.push_back(Sent {
            ty,
            seq: self.seq_nr,
            payload,
            sent_at: now,
            transmissions: 0,
            sacked: false,
            needs_resend: false,
            resend_now: false,
        });
        self.seq_nr = self.seq_nr.wrapping_add(1);
    }

    /// Takes in one packet addressed to this connection.
    pub fn on_packet(&mut self, p: &Packet<'_>, now: Micros) {
        if self.state == State::Closed {
            return;
        }
        let h = &p.header;
        self.last_heard = now;
        self.reply_delay = (now as u32).wrapping_sub(h.timestamp_us);
        match h.ty {
            PacketType::Reset => {
                let why = if self.state == State::SynSent {
                    Failure::Refused
                } else {
                    Failure::Reset
                };
                self.fail(why);
                return;
            }
            PacketType::Syn => {
                // Our answer was lost: answer again.
                self.ack_due = self.state == State::Connected;
                return;
            }
            _ => {}
        }
        if self.state == State::SynSent {
            if h.ty != PacketType::State {
                return;
            }
            self.state = State::Connected;
            self.ack_nr = h.seq_nr.wrapping_sub(1);
            self.peer_offer(p.large);
        }
        self.peer_wnd = h.wnd_size as usize;
        self.on_ack(p, now);
        if matches!(h.ty, PacketType::Data | PacketType::Fin) {
            self.on_data(h.ty, h.seq_nr, p.payload);
        }
    }

    fn on_ack(&mut self, p: &Packet<'_>, now: Micros) {
        let h = &p.header;
        let Some(front) = self.in_flight.front().map(|s| s.seq) else {
            return;
        };
        // Acknowledges something in flight, or nothing new (a duplicate).
        let newest = self.seq_nr.wrapping_sub(1);
        if seq_before(newest, h.ack_nr) || seq_before(h.ack_nr, front.wrapping_sub(1)) {
            return;
        }
        let mut acked_bytes = 0;
        let mut rtt_sample = None;
        while let Some(s) = self.in_flight.front() {
            if seq_before(h.ack_nr, s.seq) {
                break;
            }
            let Some(s) = self.in_flight.pop_front() else {
                break;
            };
            if s.counted() {
                self.outstanding -= s.payload.len();
            }
            if s.needs_resend {
                self.to_resend -= 1;
            }
            if !s.sacked {
                acked_bytes += s.payload.len();
            }
            self.in_flight_bytes -= s.payload.len();
            if s.transmissions == 1 {
                rtt_sample = Some(now.saturating_sub(s.sent_at));
            }
            if s.ty == PacketType::Fin {
                self.fin_acked = true;
            }
        }
        let advanced = h.ack_nr != self.last_ack;
        self.last_ack = h.ack_nr;
        if advanced {
            self.dup_acks = 0;
            self.timeouts = 0;
        } else if h.ty == PacketType::State && !self.in_flight.is_empty() {
            self.dup_acks += 1;
            if self.dup_acks == DUP_ACKS {
                self.lost(0);
            }
        }
        if let Some(mask) = p.sack {
            acked_bytes += self.on_sack(h.ack_nr, mask);
        }
        if let Some(sample) = rtt_sample {
            self.rtt_sample(sample);
        }
        if acked_bytes > 0 {
            if h.timestamp_diff_us != 0 {
                self.ledbat.delay_sample(h.timestamp_diff_us, now);
            }
            self.ledbat
                .on_ack(acked_bytes, self.payload, self.window_limited);
            self.window_limited = false;
        }
        if advanced {
            self.rto_deadline = (!self.in_flight.is_empty()).then_some(now + self.rto);
        }
    }

    /// Marks what the bitmask says arrived; a hole with `DUP_ACKS` arrivals
    /// after it is a loss. Returns the bytes newly known to have arrived.
    fn on_sack(&mut self, ack_nr: u16, mask: &[u8]) -> usize {
        let Some(front) = self.in_flight.front().map(|s| s.seq) else {
            return 0;
        };
        let mut newly = 0;
        let mut after = 0;
        for bit in (0..mask.len() * 8).rev() {
            let seq = ack_nr.wrapping_add(2).wrapping_add(bit as u16);
            let i = seq.wrapping_sub(front) as usize;
            if i >= self.in_flight.len() {
                continue;
            }
            if mask[bit / 8] & (1 << (bit % 8)) != 0 {
                after += 1;
                let s = &mut self.in_flight[i];
                if !s.sacked {
                    if s.counted() {
                        self.outstanding -= s.payload.len();
                    }
                    if s.needs_resend {
                        self.to_resend -= 1;
                        s.needs_resend = false;
                    }
                    s.sacked = true;
                    newly += s.payload.len();
                }
            } else if after >= DUP_ACKS && self.in_flight[i].transmissions == 1 {
                self.lost(i);
            }
        }
        // The packet the cumulative ACK waits for is a hole too.
        if after >= DUP_ACKS && self.in_flight.front().is_some_and(|s| s.transmissions == 1) {
            self.lost(0);
        }
        newly
    }

    /// A loss: resend, and cut the window once per window of packets.
    fn lost(&mut self, i: usize) {
        let seq = self.in_flight[i].seq;
        if self.in_flight[i].needs_resend || self.in_flight[i].sacked {
            return;
        }
        self.mark_lost(i);
        self.in_flight[i].resend_now = true;
        if !seq_before(seq, self.recovery) {
            self.ledbat.on_loss(self.payload);
            self.recovery = self.seq_nr;
        }
    }

    fn rtt_sample(&mut self, sample: Micros) {
        let (rtt, var) = match self.rtt {
            None => (sample, sample / 2),
            Some((rtt, var)) => {
                let delta = rtt.abs_diff(sample);
                let var = (3 * var + delta) / 4;
                let rtt = (7 * rtt + sample) / 8;
                (rtt, var)
            }
        };
        self.rtt = Some((rtt, var));
        self.rto = (rtt + 4 * var).max(MIN_RTO_US);
    }

    fn on_data(&mut self, ty: PacketType, seq: u16, payload: &[u8]) {
        self.ack_due = true;
        if self.eof {
            return;
        }
        let next = self.ack_nr.wrapping_add(1);
        if seq == next {
            if self.readable.len() + self.reorder_bytes + payload.len()
                > self.cfg.recv_window + self.cfg.max_payload
            {
                return; // beyond the window we advertised: not acknowledged
            }
            self.take(ty, seq, payload);
            while let Some((ty, data)) = self.reorder.remove(&self.ack_nr.wrapping_add(1)) {
                self.reorder_bytes -= data.len();
                let seq = self.ack_nr.wrapping_add(1);
                self.take(ty, seq, &data);
            }
        } else if seq_before(next, seq)
            && seq.wrapping_sub(next) < MAX_REORDER_DISTANCE
            && !self.reorder.contains_key(&seq)
            && self.window() >= payload.len()
        {
            self.reorder_bytes += payload.len();
            self.reorder.insert(seq, (ty, payload.to_vec()));
        }
    }

    fn take(&mut self, ty: PacketType, seq: u16, payload: &[u8]) {
        self.ack_nr = seq;
        if ty == PacketType::Fin {
            self.eof = true;
            self.reorder.clear();
            self.reorder_bytes = 0;
        } else {
            self.readable.extend(payload);
        }
    }

    fn header(&self, ty: PacketType, seq_nr: u16, now: Micros) -> Header {
        Header {
            ty,
            conn_id: if ty == PacketType::Syn {
                self.recv_id
            } else {
                self.send_id
            },
            timestamp_us: now as u32,
            timestamp_diff_us: self.reply_delay,
            wnd_size: u32::try_from(self.window()).unwrap_or(u32::MAX),
            seq_nr,
            ack_nr: self.ack_nr,
        }
    }

    fn sack(&self, mask: &mut [u8; MAX_SACK_BYTES]) -> Option<usize> {
        if self.reorder.is_empty() {
            return None;
        }
        let mut len = 0;
        for &seq in self.reorder.keys() {
            let bit = usize::from(seq.wrapping_sub(self.ack_nr).wrapping_sub(2));
            if bit < MAX_SACK_BYTES * 8 {
                mask[bit / 8] |= 1 << (bit % 8);
                len = len.max(bit / 32 * 4 + 4);
            }
        }
        (len > 0).then_some(len)
    }

    /// Writes the next datagram to send into `out` (cleared first);
    /// false when there is nothing to send now.
    pub fn transmit(&mut self, now: Micros, out: &mut Vec<u8>) -> bool {
        out.clear();
        if self.state == State::Closed {
            return false;
        }
        let mut mask = [0u8; MAX_SACK_BYTES];
        let sack_len = self.sack(&mut mask);
        let sack = sack_len.map(|n| &mask[..n]);
        let room = self.ledbat.window().min(self.peer_wnd);
        let fits = |c: &Self, len: usize| c.outstanding == 0 || c.outstanding + len <= room;
        // A packet that never went out, or one to send again.
        // New packets go out as they are made, so only the last one (or
        // the SYN) can be unsent; a scan is needed only after a loss.
        let next = if self.to_resend > 0 {
            self.in_flight.iter().position(|s| s.needs_resend)
        } else {
            self.in_flight
                .back()
                .filter(|s| s.transmissions == 0)
                .map(|_| self.in_flight.len() - 1)
        };
        if let Some(i) = next {
            let len = self.in_flight[i].payload.len();
            // A packet made but not sent is already counted.
            let others = if self.in_flight[i].counted() {
                self.outstanding - len
            } else {
                self.outstanding
            };
            let s = &self.in_flight[i];
            if s.ty == PacketType::Syn || s.resend_now || others == 0 || others + len <= room {
                let s = &self.in_flight[i];
                let seq = s.seq;
                let h = self.header(s.ty, seq, now);
                let (sack, large) = if s.ty == PacketType::Syn {
                    (None, self.offer())
                } else {
                    (sack, None)
                };
                packet::encode(&h, sack, large, &s.payload, out);
                let s = &mut self.in_flight[i];
                s.resend_now = false;
                if s.needs_resend {
                    s.needs_resend = false;
                    self.to_resend -= 1;
                    self.outstanding += len;
                }
                s.transmissions += 1;
                s.sent_at = now;
                // libtorrent drops a packet (and the ACK in it) numbered
                // farther past its cumulative ACK than its reorder buffer
                // holds (16 packets at least): only a near one carries
                // our ACK for sure.
                let first = self.in_flight.front().map_or(self.seq_nr, |f| f.seq);
                if seq.wrapping_sub(first) < SURE_ACK_DISTANCE {
                    self.ack_due = false;
                }
                self.rto_deadline.get_or_insert(now + self.rto);
                return true;
            }
            self.window_limited = true;
        } else if self.state == State::Connected {
            // While the oldest packet is being repaired nothing new goes
            // out: libtorrent counts what waits behind a hole against the
            // room it has for the repair, and refuses the repair once
            // that is full.
            let repairing = self.in_flight.front().is_some_and(|f| f.transmissions > 1);
            if !self.unsent.is_empty()
                && !repairing
                && self.in_flight.len()
                    < if self.peer_large {
                        MAX_IN_FLIGHT_PACKETS
                    } else {
                        self.cfg.max_in_flight_unoffered.min(MAX_IN_FLIGHT_PACKETS)
                    }
            {
                let len = self.unsent.len().min(self.payload);
                if fits(self, len) {
                    let mut payload = Vec::with_capacity(len);
                    let (a, b) = self.unsent.as_slices();
                    let from_a = len.min(a.len());
                    payload.extend_from_slice(&a[..from_a]);
                    payload.extend_from_slice(&b[..len - from_a]);
                    self.unsent.drain(..len);
                    self.push_sent(PacketType::Data, payload, now);
                    return self.transmit(now, out);
                }
                self.window_limited = true;
            } else if self.closing && self.unsent.is_empty() && !self.fin_sent {
                self.fin_sent = true;
                self.push_sent(PacketType::Fin, Vec::new(), now);
                return self.transmit(now, out);
            }
        }
        if self.ack_due && self.state == State::Connected {
            // A STATE's number means nothing but to a receiver's range
            // check (see SURE_ACK_DISTANCE): the oldest unacknowledged
            // one passes it.
            let seq = self.in_flight.front().map_or(self.seq_nr, |f| f.seq);
            let h = self.header(PacketType::State, seq, now);
            packet::encode(&h, sack, self.offer(), &[], out);
            self.ack_due = false;
            return true;
        }
        false
    }
}
