//! uTP (BEP 29) beside TCP: one UDP socket on the listening port's number,
//! dialled by connect.rs and accepted by listener.rs into the same path as
//! a TCP connection. The protocol itself (packets, acknowledgements,
//! retransmission, LEDBAT) is `p2p_proto::utp`; here are the socket, the
//! clock and the tasks: driver.rs reads datagrams and runs the timers,
//! stream.rs gives each connection tokio's read and write halves.
//!
//! Not here: what a connection carries (transport.rs) or which transport a
//! dial tries first (connect.rs).

mod driver;
mod stream;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use p2p_proto::utp::conn::{Config, Connection, Failure, Micros, State};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

pub(crate) use driver::drive;
pub(crate) use stream::{UtpReadHalf, UtpStream, UtpWriteHalf};

/// Silence after which a uTP connection is dropped: longer than the
/// BitTorrent keep-alive interval (peer.rs sends one after 90 s, most
/// clients after 120 s), since uTP itself sends none.
const INACTIVITY_TIMEOUT: Duration = Duration::from_secs(200);

/// Bytes a connection may hold unread, which is also the window the peer
/// may send into: enough for a fast peer over a long round trip.
const RECV_WINDOW: usize = 4 << 20;

/// Most bytes a connection buffers to send, unacknowledged ones included.
const SEND_BUFFER: usize = 4 << 20;

/// Free send buffer that wakes a waiting writer.
const WRITER_WAKE_BYTES: usize = SEND_BUFFER / 4;

/// Payload per packet that crosses any Ethernet path: 1,500 bytes less the
/// IPv6 and UDP headers, uTP's header and a selective ACK, with room for a
/// tunnel.
const SAFE_PAYLOAD: usize = 1_350;

/// Payload per packet to a loopback address, whose MTU is 64 KiB: fewer,
/// larger packets are what makes uTP cheap in CPU (1 GiB on loopback:
/// 971 MB/s with 32 KiB, 1,055 with 60 KiB; bench/README.md). Used only with a peer
/// that offers as much (ours do; libtorrent does not).
const LOOPBACK_PAYLOAD: usize = 60 * 1024;

/// Packets in flight to a peer that offers no large packets (libtorrent,
/// say): see `Config::max_in_flight_unoffered`. 32 packets of 1,350
/// bytes per round trip.
const UNOFFERED_IN_FLIGHT_PACKETS: usize = 32;

/// Kernel buffer for the UDP socket: a burst of large packets must not
/// overflow it before the driver reads (Linux caps it at rmem_max).
const SOCKET_BUFFER: usize = 4 << 20;

/// Incoming connections waiting for the accept loop; beyond them a SYN is
/// dropped without a connection being made.
const ACCEPT_QUEUE: usize = 64;

/// How long a connection whose owner is gone may linger to deliver its
/// last bytes and FIN.
const LINGER: Duration = Duration::from_secs(10);

/// A uTP socket shared by every connection of the engine.
pub(crate) type UtpSocket = Arc<Socket>;

/// (peer, id its packets carry to us).
type Key = (SocketAddr, u16);

/// The UDP socket and every connection on it.
pub(crate) struct Socket {
    udp: UdpSocket,
    conns: Mutex<HashMap<Key, Arc<Mutex<Slot>>>>,
    accepted: tokio::sync::Mutex<mpsc::Receiver<UtpStream>>,
    accept_tx: mpsc::Sender<UtpStream>,
    max_connections: usize,
    epoch: Instant,
    cancel: CancellationToken,
    /// A connection's deadline may have moved closer than the driver's.
    timers_moved: Notify,
}

/// One connection and the tasks waiting on it.
pub(crate) struct Slot {
    conn: Connection,
    addr: SocketAddr,
    reader: Option<std::task::Waker>,
    writer: Option<std::task::Waker>,
    /// When its stream was dropped.
    released: Option<Micros>,
    scratch: Vec<u8>,
}

// The connections' state is too much for a log line; the address is enough.
impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UtpSocket")
            .field("local_addr", &self.udp.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Socket {
    fn now(&self) -> Micros {
        self.epoch.elapsed().as_micros() as Micros
    }

    fn conns(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Mutex<Slot>>>> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the next incoming connection; `None` once the socket stopped.
    pub(crate) async fn accept(&self) -> Option<UtpStream> {
        self.accepted.lock().await.recv().await
    }

    /// The address the socket is bound to.
    #[cfg(test)]
    pub(crate) fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.udp.local_addr()
    }
}

impl Slot {
    /// A connection to or from `addr`, nobody waiting on it yet.
    fn new(conn: Connection, addr: SocketAddr) -> Arc<Mutex<Slot>> {
        Arc::new(Mutex::new(Slot {
            conn,
            addr,
            reader: None,
            writer: None,
            released: None,
            scratch: Vec::new(),
        }))
    }

    /// Sends what the connection has to send; a datagram the kernel will
    /// not queue now is dropped like one lost on the way (it is resent).
    fn flush(&mut self, udp: &UdpSocket, now: Micros) {
        while self.conn.transmit(now, &mut self.scratch) {
            if let Err(e) = udp.try_send_to(&self.scratch, self.addr)
                && e.kind() != std::io::ErrorKind::WouldBlock
            {
                tracing::debug!(addr = %self.addr, "uTP send failed: {e}");
            }
        }
    }

    /// Wakes whoever waits on the connection and can go on.
    fn wake(&mut self) {
        let ended = self.conn.state() == State::Closed;
        if (ended || self.conn.readable() > 0 || self.conn.at_eof())
            && let Some(w) = self.reader.take()
        {
            w.wake();
        }
        // A writer waits for room worth a wake-up, not for every ACK (a
        // new connection has all its room).
        if (ended || self.conn.writable() >= WRITER_WAKE_BYTES)
            && let Some(w) = self.writer.take()
        {
            w.wake();
        }
    }
}

fn config(addr: SocketAddr) -> Config {
    Config {
        safe_payload: SAFE_PAYLOAD,
        max_payload: if addr.ip().is_loopback() {
            LOOPBACK_PAYLOAD
        } else {
            SAFE_PAYLOAD
        },
        recv_window: RECV_WINDOW,
        send_buffer: SEND_BUFFER,
        idle_timeout_us: INACTIVITY_TIMEOUT.as_micros() as Micros,
        max_in_flight_unoffered: UNOFFERED_IN_FLIGHT_PACKETS,
    }
}

fn failure_error(f: Option<Failure>) -> std::io::Error {
    use std::io::ErrorKind;
    match f {
        Some(Failure::Refused) => ErrorKind::ConnectionRefused.into(),
        Some(Failure::TimedOut) => ErrorKind::TimedOut.into(),
        Some(Failure::Reset) | None => ErrorKind::ConnectionReset.into(),
    }
}

/// Binds uTP on `addr` (the TCP listener's address), for at most
/// `max_connections` connections at once; [`drive`] runs it until `cancel`.
pub(crate) async fn bind(
    addr: SocketAddr,
    max_connections: usize,
    cancel: CancellationToken,
) -> std::io::Result<UtpSocket> {
    use socket2::{Domain, Protocol, Socket as RawSocket, Type};
    let raw = RawSocket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // Like the TCP listener on [::]: IPv4 peers too where the system allows.
        let _ = raw.set_only_v6(false);
    }
    // The kernel caps these; a smaller buffer still works, only slower.
    let _ = raw.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = raw.set_send_buffer_size(SOCKET_BUFFER);
    raw.set_nonblocking(true)?;
    raw.bind(&addr.into())?;
    let udp = UdpSocket::from_std(raw.into())?;
    let (accept_tx, rx) = mpsc::channel(ACCEPT_QUEUE);
    Ok(Arc::new(Socket {
        udp,
        conns: Mutex::default(),
        accepted: tokio::sync::Mutex::new(rx),
        accept_tx,
        max_connections: max_connections.max(1),
        epoch: Instant::now(),
        cancel,
        timers_moved: Notify::new(),
    }))
}

/// Connects to `addr` over uTP.
pub(crate) async fn connect(socket: &UtpSocket, addr: SocketAddr) -> std::io::Result<UtpStream> {
    let now = socket.now();
    let slot = {
        let mut conns = socket.conns();
        if conns.len() >= socket.max_connections {
            return Err(std::io::Error::other("too many uTP connections"));
        }
        let recv_id = loop {
            let id: u16 = rand::random();
            // The peer's packets carry recv_id, and recv_id + 1 is taken
            // by the SYN of any connection it opens to us with that id.
            if !conns.contains_key(&(addr, id)) && !conns.contains_key(&(addr, id.wrapping_add(1)))
            {
                break id;
            }
        };
        let conn = Connection::connect(config(addr), recv_id, rand::random(), now);
        let slot = Slot::new(conn, addr);
        conns.insert((addr, recv_id), slot.clone());
        slot
    };
    socket.timers_moved.notify_one();
    // Made before the wait, so that a caller giving up drops the connection.
    let stream = UtpStream::new(socket.clone(), slot.clone(), addr);
    stream.flush();
    std::future::poll_fn(|cx| {
        let mut s = slot.lock().unwrap_or_else(PoisonError::into_inner);
        match s.conn.state() {
            State::Connected => std::task::Poll::Ready(Ok(())),
            State::Closed => std::task::Poll::Ready(Err(failure_error(s.conn.failure()))),
            State::SynSent => {
                s.writer = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        }
    })
    .await?;
    Ok(stream)
}

#[cfg(test)]
mod tests;
