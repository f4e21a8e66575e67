//! uTP (BEP 29) beside TCP: one UDP socket on the listening port's number,
//! carried by `librqbit-utp` (which does the packets, acknowledgements,
//! retransmission and congestion window), dialled by connect.rs and
//! accepted by listener.rs into the same path as a TCP connection.
//!
//! Not here: what a connection carries (transport.rs) or which transport a
//! dial tries first (connect.rs).

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use librqbit_utp::{SocketOpts, UtpSocketUdp, UtpStream};
use tokio_util::sync::CancellationToken;

/// A uTP socket shared by every connection of the engine.
pub(crate) type UtpSocket = Arc<UtpSocketUdp>;

/// Silence after which a uTP connection is dropped: longer than the
/// BitTorrent keep-alive interval (peer.rs sends one after 90 s, most
/// clients after 120 s), since uTP itself sends none.
const INACTIVITY_TIMEOUT: Duration = Duration::from_secs(200);

/// Bytes a connection may hold unread, which is also the window the peer
/// may send into: enough for a fast peer over a long round trip.
const RX_BUFFER: usize = 4 << 20;

/// Most bytes a connection buffers to send, unacknowledged ones included.
const TX_BUFFER_MAX: usize = 4 << 20;

/// Binds uTP on `addr` (the TCP listener's address), for at most
/// `max_connections` connections at once; it stops with `cancel`.
pub(crate) async fn bind(
    addr: SocketAddr,
    max_connections: usize,
    cancel: CancellationToken,
) -> Result<UtpSocket, librqbit_utp::Error> {
    let opts = SocketOpts {
        vsock_rx_bufsize_bytes: NonZeroUsize::new(RX_BUFFER),
        vsock_tx_bufsize_bytes_max: NonZeroUsize::new(TX_BUFFER_MAX),
        // Whole messages are written at once (see peer/outbox.rs); as on TCP
        // (TCP_NODELAY), a request must not wait for more to join it.
        disable_nagle: true,
        cancellation_token: cancel,
        remote_inactivity_timeout: Some(INACTIVITY_TIMEOUT),
        max_live_vsocks: NonZeroUsize::new(max_connections.max(1)),
        ..SocketOpts::default()
    };
    UtpSocketUdp::new_udp_with_opts(addr, opts, Default::default()).await
}

/// Connects to `addr` over uTP.
pub(crate) async fn connect(socket: &UtpSocket, addr: SocketAddr) -> std::io::Result<UtpStream> {
    socket.connect(addr).await.map_err(|e| match e {
        librqbit_utp::Error::StResetReceived => {
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, e.to_string())
        }
        other => std::io::Error::other(other.to_string()),
    })
}
