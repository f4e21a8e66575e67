//! Dialling a peer: TCP or uTP connect (each the other's fallback when it
//! cannot connect), then the BitTorrent handshake, inside Message Stream
//! Encryption as the `encryption` setting says. With `prefer`, a peer that
//! hangs up on the encrypted handshake is dialled once more in plaintext
//! (libtorrent does the same).
//!
//! Not here: what follows the handshake (peer.rs, metadata.rs).

use std::net::SocketAddr;
use std::time::Duration;

use p2p_proto::ipc::PeerTransport;
use p2p_proto::mse::CryptoSet;
use p2p_proto::wire::{Decoded, HANDSHAKE_LEN, Handshake, WireError};
use tokio::net::TcpStream;

use super::Encryption;
use super::mse::MseFailed;
use super::transport::{self, Connected, Reader, Writer, hung_up};
use super::utp::{self, UtpSocket};

/// Time a uTP connect gets when TCP is still to be tried: a peer without
/// uTP never answers its SYN, so waiting the whole connect timeout would
/// hold up the TCP attempt.
const UTP_CONNECT_BEFORE_FALLBACK: Duration = Duration::from_secs(3);

/// Why a peer could not be reached.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("{transport} connect: {source}", transport = .0.name(), source = .1)]
    Connect(PeerTransport, std::io::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Mse(#[from] MseFailed),
    #[error("handshake: {0}")]
    Wire(#[from] WireError),
    #[error("handshake timed out")]
    Timeout,
}

impl ConnectError {
    /// The peer cannot be reached over the transport tried: it could not
    /// connect, or the peer hung up before its handshake (a client that
    /// takes only uTP accepts TCP and closes it at once).
    fn worth_another_transport(&self) -> bool {
        match self {
            ConnectError::Connect(..) => true,
            ConnectError::Mse(e) => e.peer_hung_up(),
            ConnectError::Io(e) => hung_up(e),
            ConnectError::Wire(_) | ConnectError::Timeout => false,
        }
    }
}

/// How to dial.
#[derive(Clone)]
pub(crate) struct Dial {
    pub encryption: Encryption,
    /// Time for the connect, and again for the handshakes.
    pub timeout: Duration,
    /// The engine's uTP socket, when uTP is on.
    pub utp: Option<UtpSocket>,
    /// Try uTP before TCP.
    pub utp_first: bool,
}

/// Connects to `addr` and exchanges handshakes (`ours` names the torrent);
/// returns the peer's handshake.
pub(crate) async fn dial(
    addr: SocketAddr,
    ours: Handshake,
    how: &Dial,
) -> Result<(Reader, Writer, Handshake), ConnectError> {
    let order: &[PeerTransport] = match (&how.utp, how.utp_first) {
        (None, _) => &[PeerTransport::Tcp],
        (Some(_), false) => &[PeerTransport::Tcp, PeerTransport::Utp],
        (Some(_), true) => &[PeerTransport::Utp, PeerTransport::Tcp],
    };
    let mut result = Err(ConnectError::Timeout);
    for (i, &transport) in order.iter().enumerate() {
        let fallback_left = i + 1 < order.len();
        result = dial_over(addr, &ours, how, transport, fallback_left).await;
        match &result {
            Err(e) if fallback_left && e.worth_another_transport() => {
                tracing::debug!(%addr, "{e}: trying {}", order[i + 1].name());
            }
            _ => return result,
        }
    }
    result
}

/// Dials over one transport, with the encryption policy.
async fn dial_over(
    addr: SocketAddr,
    ours: &Handshake,
    how: &Dial,
    transport: PeerTransport,
    fallback_left: bool,
) -> Result<(Reader, Writer, Handshake), ConnectError> {
    let once = |mse| dial_once(addr, ours, how, transport, fallback_left, mse);
    match how.encryption {
        Encryption::Disable => once(None).await,
        Encryption::Require => once(Some(CryptoSet::RC4)).await,
        Encryption::Prefer => match once(Some(CryptoSet::BOTH)).await {
            Err(ConnectError::Mse(e)) if e.peer_hung_up() => {
                tracing::debug!(%addr, "encrypted handshake refused ({e}): plaintext");
                once(None).await
            }
            other => other,
        },
    }
}

/// Opens a connection over `transport`.
async fn open(
    addr: SocketAddr,
    how: &Dial,
    transport: PeerTransport,
    fallback_left: bool,
) -> Result<Connected, ConnectError> {
    let failed = |e| ConnectError::Connect(transport, e);
    let timed_out = || failed(std::io::ErrorKind::TimedOut.into());
    match (transport, &how.utp) {
        (PeerTransport::Utp, Some(socket)) => {
            let timeout = if fallback_left {
                how.timeout.min(UTP_CONNECT_BEFORE_FALLBACK)
            } else {
                how.timeout
            };
            let stream = tokio::time::timeout(timeout, utp::connect(socket, addr))
                .await
                .map_err(|_| timed_out())?
                .map_err(failed)?;
            Ok(stream.into())
        }
        _ => {
            let stream = tokio::time::timeout(how.timeout, TcpStream::connect(addr))
                .await
                .map_err(|_| timed_out())?
                .map_err(failed)?;
            // Requests and HAVEs are small and must not wait for Nagle.
            stream.set_nodelay(true)?;
            Ok(stream.into())
        }
    }
}

/// One attempt, inside MSE offering `mse` if given (our handshake then
/// rides in its initial payload).
async fn dial_once(
    addr: SocketAddr,
    ours: &Handshake,
    how: &Dial,
    transport: PeerTransport,
    fallback_left: bool,
    mse: Option<CryptoSet>,
) -> Result<(Reader, Writer, Handshake), ConnectError> {
    let stream = open(addr, how, transport, fallback_left).await?;
    let bytes = ours.to_bytes();
    tokio::time::timeout(how.timeout, async {
        let (mut r, w) = match mse {
            None => {
                let (r, mut w) = transport::plain(stream);
                w.write_all(&bytes).await?;
                (r, w)
            }
            Some(provide) => {
                super::mse::initiate(stream, ours.info_hash, provide, bytes.to_vec()).await?
            }
        };
        let theirs = read_handshake(&mut r).await?;
        Ok((r, w, theirs))
    })
    .await
    .map_err(|_| ConnectError::Timeout)?
}

async fn read_handshake(r: &mut Reader) -> Result<Handshake, ConnectError> {
    let mut buf = [0u8; HANDSHAKE_LEN];
    r.read_exact(&mut buf).await?;
    match Handshake::decode(&buf)? {
        Decoded::Done(h, _) => Ok(h),
        // Unreachable with a whole handshake's bytes; said plainly anyway.
        Decoded::NeedMore(_) => Err(ConnectError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "short handshake",
        ))),
    }
}
