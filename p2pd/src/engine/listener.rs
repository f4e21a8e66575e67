//! The one TCP listener for every torrent: reads the first 48 bytes of a
//! handshake (protocol, reserved bits, info-hash) under a short timeout,
//! finds the torrent, asks it whether the address may connect (a private
//! torrent serves only addresses its tracker vouches for) and hands the
//! connection to it. Unknown info-hashes and refused addresses are closed
//! before we send a byte. Until then a connection holds a half-open place
//! (see admission.rs), not one of the peer slots outgoing dials need.

use std::sync::{PoisonError, Weak};
use std::time::Duration;

use p2p_proto::wire::Decoded;
use p2p_proto::wire::Handshake;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use super::EngineInner;
use super::peer;

/// Time a new connection gets to say which torrent it wants (one round
/// trip for an honest peer).
const HANDSHAKE_PREFIX_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes of the handshake before the peer id.
const PREFIX_LEN: usize = 48;

pub(crate) async fn accept_loop(listener: TcpListener, engine: Weak<EngineInner>) {
    let Some(cancel) = engine.upgrade().map(|e| e.cancel.clone()) else {
        return;
    };
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, addr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: pause instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(engine) = engine.upgrade() else {
            return;
        };
        let Some(half_open) = engine.admission.half_open(addr.ip()) else {
            continue; // this address, or everyone, has too many half-open: drop it
        };
        let weak = std::sync::Arc::downgrade(&engine);
        engine.tasks.spawn(async move {
            let Ok(Ok((stream, reserved, info_hash))) =
                tokio::time::timeout(HANDSHAKE_PREFIX_TIMEOUT, read_prefix(stream)).await
            else {
                return;
            };
            let Some(engine) = weak.upgrade() else {
                return;
            };
            let torrent = engine
                .torrents
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&info_hash)
                .map(|t| t.shared.clone());
            let Some(shared) = torrent else {
                return;
            };
            let vouched =
                tokio::time::timeout(HANDSHAKE_PREFIX_TIMEOUT, shared.vouch.admit(addr.ip())).await;
            if !matches!(vouched, Ok(true)) {
                tracing::debug!(%addr, torrent = %shared.meta.info.name, "not listed by the tracker of a private torrent: closed");
                return;
            }
            let Some(place) = engine.admission.incoming(addr.ip()) else {
                return;
            };
            let Some(permit) = engine.caps.try_connection() else {
                return; // over the global connection limit
            };
            drop(half_open);
            drop(engine);
            shared.peer_tasks.clone().spawn(async move {
                peer::accept(shared, stream, addr, reserved, permit).await;
                drop(place);
            });
        });
    }
}

async fn read_prefix(
    mut stream: TcpStream,
) -> std::io::Result<(TcpStream, [u8; 8], p2p_proto::infohash::InfoHash)> {
    let mut buf = [0u8; PREFIX_LEN];
    stream.read_exact(&mut buf).await?;
    match Handshake::decode_info_hash(&buf) {
        Ok(Decoded::Done((reserved, info_hash), _)) => Ok((stream, reserved, info_hash)),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a BitTorrent handshake",
        )),
    }
}
