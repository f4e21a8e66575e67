//! The task that owns uTP's receiving side: reads datagrams, hands each to
//! its connection (or opens one for a SYN), answers what the connection
//! wants answered, runs the timers and forgets finished connections.
//!
//! Must not block: connection locks are held only for a packet's handling.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use p2p_proto::utp::conn::{Connection, Micros, State};
use p2p_proto::utp::packet::{self, Header, PacketType};

use super::{Key, LINGER, Slot, Socket, UtpStream, config};

/// Datagrams read in one go before answering: the acknowledgements of a
/// burst go out as one.
const BATCH: usize = 64;
/// Longest the timers sleep while connections are open.
const TICK: Duration = Duration::from_millis(50);
/// How long the timers sleep with no connection open.
const IDLE: Duration = Duration::from_secs(3600);
/// A datagram buffer: the largest UDP payload.
const DATAGRAM_MAX: usize = 65_536;

/// Runs the socket until it is cancelled.
pub(crate) async fn drive(socket: Arc<Socket>) {
    let mut buf = vec![0u8; DATAGRAM_MAX];
    let mut touched: Vec<Arc<Mutex<Slot>>> = Vec::new();
    let mut next_timer = tokio::time::Instant::now() + TICK;
    loop {
        tokio::select! {
            _ = socket.cancel.cancelled() => break,
            r = socket.udp.recv_from(&mut buf) => {
                let mut got = Some(r);
                for _ in 0..BATCH {
                    match got.take() {
                        Some(Ok((n, from))) => incoming(&socket, &buf[..n], from, &mut touched),
                        // ICMP errors and the like concern one peer, not the socket.
                        Some(Err(e)) => tracing::trace!("uTP receive: {e}"),
                        None => {}
                    }
                    match socket.udp.try_recv_from(&mut buf) {
                        Ok(r) => got = Some(Ok(r)),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) => got = Some(Err(e)),
                    }
                }
                if let Some(Ok((n, from))) = got {
                    incoming(&socket, &buf[..n], from, &mut touched);
                }
                answer(&socket, &mut touched);
                next_timer = next_timer.min(tokio::time::Instant::now() + TICK);
            }
            _ = tokio::time::sleep_until(next_timer) => {
                next_timer = timers(&socket);
            }
            _ = socket.timers_moved.notified() => {
                next_timer = next_timer.min(tokio::time::Instant::now() + TICK);
            }
        }
    }
    // Tell every peer, so none waits for its timeout.
    let slots: Vec<_> = socket.conns().drain().map(|(_, s)| s).collect();
    for s in slots {
        let mut s = s.lock().unwrap_or_else(PoisonError::into_inner);
        reset(&socket, s.addr, s.conn.recv_id(), 0);
        s.conn.abort();
        s.wake();
    }
}

/// Handles one datagram from `from`.
fn incoming(
    socket: &Arc<Socket>,
    data: &[u8],
    from: std::net::SocketAddr,
    touched: &mut Vec<Arc<Mutex<Slot>>>,
) {
    let Ok(p) = packet::decode(data) else {
        return; // not uTP (or hostile): nothing to answer
    };
    let h = p.header;
    let now = socket.now();
    tracing::trace!(%from, ty = ?h.ty, seq = h.seq_nr, ack = h.ack_nr, wnd = h.wnd_size, sack = ?p.sack, len = p.payload.len(), "uTP in");
    let key: Key = match h.ty {
        PacketType::Syn => (from, h.conn_id.wrapping_add(1)),
        _ => (from, h.conn_id),
    };
    let slot = socket.conns().get(&key).cloned();
    let slot = match (slot, h.ty) {
        (Some(s), _) => s,
        (None, PacketType::Syn) => match accept(socket, &h, p.large, from, now) {
            Some(s) => s,
            None => return,
        },
        (None, PacketType::Reset) => return,
        (None, _) => {
            reset(socket, from, h.conn_id, h.seq_nr);
            return;
        }
    };
    slot.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .conn
        .on_packet(&p, now);
    if !touched.iter().any(|t| Arc::ptr_eq(t, &slot)) {
        touched.push(slot);
    }
}

/// Opens the connection a SYN asks for, if there is room.
fn accept(
    socket: &Arc<Socket>,
    syn: &Header,
    large: Option<u32>,
    from: std::net::SocketAddr,
    now: Micros,
) -> Option<Arc<Mutex<Slot>>> {
    let mut conns = socket.conns();
    if conns.len() >= socket.max_connections {
        return None; // a flood of SYNs stops here, before anything is made
    }
    let permit = socket.accept_tx.try_reserve().ok()?;
    let conn = Connection::accept(config(from), syn, large, rand::random(), now);
    let slot = Slot::new(conn, from);
    conns.insert((from, syn.conn_id.wrapping_add(1)), slot.clone());
    permit.send(UtpStream::new(socket.clone(), slot.clone(), from));
    Some(slot)
}

/// Sends a RESET for a packet no connection of ours takes.
fn reset(socket: &Socket, to: std::net::SocketAddr, conn_id: u16, seq_nr: u16) {
    let h = Header {
        ty: PacketType::Reset,
        conn_id,
        timestamp_us: socket.now() as u32,
        timestamp_diff_us: 0,
        wnd_size: 0,
        seq_nr: rand::random(),
        ack_nr: seq_nr,
    };
    let mut out = Vec::with_capacity(packet::HEADER_BYTES);
    packet::encode(&h, None, None, &[], &mut out);
    let _ = socket.udp.try_send_to(&out, to);
}

/// Sends what the connections that got packets have to send, wakes their
/// readers and writers, forgets the finished ones.
fn answer(socket: &Socket, touched: &mut Vec<Arc<Mutex<Slot>>>) {
    let now = socket.now();
    for slot in touched.drain(..) {
        let mut s = slot.lock().unwrap_or_else(PoisonError::into_inner);
        s.flush(&socket.udp, now);
        s.wake();
        if s.conn.is_done() {
            let key = (s.addr, s.conn.recv_id());
            drop(s);
            socket.conns().remove(&key);
        }
    }
}

/// Runs every connection's due timers; returns when to look again.
fn timers(socket: &Socket) -> tokio::time::Instant {
    let slots: Vec<_> = socket
        .conns()
        .iter()
        .map(|(k, s)| (*k, s.clone()))
        .collect();
    if slots.is_empty() {
        // Until a connection is made (which says so): nothing to time.
        return tokio::time::Instant::now() + IDLE;
    }
    let now = socket.now();
    let mut next = Micros::MAX;
    let mut finished = Vec::new();
    for (key, slot) in slots {
        let mut s = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if s.conn.deadline().is_some_and(|d| d <= now) {
            s.conn.on_timeout(now);
            tracing::debug!(addr = %s.addr, "uTP timeout: {}", s.conn.summary());
            s.flush(&socket.udp, now);
            s.wake();
        }
        let lingered = s
            .released
            .is_some_and(|at| now.saturating_sub(at) > LINGER.as_micros() as Micros);
        if s.conn.is_done() || lingered || s.conn.state() == State::Closed {
            if lingered {
                s.conn.abort();
            }
            finished.push(key);
            continue;
        }
        if let Some(d) = s.conn.deadline() {
            next = next.min(d);
        }
    }
    if !finished.is_empty() {
        let mut conns = socket.conns();
        for k in finished {
            conns.remove(&k);
        }
    }
    let wait = Duration::from_micros(next.saturating_sub(now)).min(TICK);
    tokio::time::Instant::now() + wait.max(Duration::from_millis(1))
}
