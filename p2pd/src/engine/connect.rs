//! Dialling a peer: TCP connect, then the BitTorrent handshake, inside
//! Message Stream Encryption as the `encryption` setting says. With
//! `prefer`, a peer that hangs up on the encrypted handshake is dialled
//! once more in plaintext (libtorrent does the same).
//!
//! Not here: what follows the handshake (peer.rs, metadata.rs).

use std::net::SocketAddr;
use std::time::Duration;

use p2p_proto::mse::CryptoSet;
use p2p_proto::wire::{Decoded, HANDSHAKE_LEN, Handshake, WireError};
use tokio::net::TcpStream;

use super::Encryption;
use super::mse::MseFailed;
use super::transport::{self, Reader, Writer};

/// Why a peer could not be reached.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Mse(#[from] MseFailed),
    #[error("handshake: {0}")]
    Wire(#[from] WireError),
    #[error("handshake timed out")]
    Timeout,
}

/// Connects to `addr` and exchanges handshakes (`ours` names the torrent), all within
/// `timeout` per attempt; returns the peer's handshake.
pub(crate) async fn dial(
    addr: SocketAddr,
    ours: Handshake,
    encryption: Encryption,
    timeout: Duration,
) -> Result<(Reader, Writer, Handshake), ConnectError> {
    let once = |mse| dial_once(addr, &ours, mse, timeout);
    match encryption {
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

/// One attempt, inside MSE offering `mse` if given (our handshake then
/// rides in its initial payload).
async fn dial_once(
    addr: SocketAddr,
    ours: &Handshake,
    mse: Option<CryptoSet>,
    timeout: Duration,
) -> Result<(Reader, Writer, Handshake), ConnectError> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| ConnectError::Timeout)??;
    stream.set_nodelay(true)?;
    let bytes = ours.to_bytes();
    tokio::time::timeout(timeout, async {
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
