//! The one TCP listener for every torrent: reads the first 48 bytes of a
//! handshake (protocol, reserved bits, info-hash) under a timeout, finds the
//! torrent and hands the connection to it. Unknown info-hashes are dropped.

use std::sync::{PoisonError, Weak};
use std::time::Duration;

use p2p_proto::wire::Decoded;
use p2p_proto::wire::Handshake;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use super::EngineInner;
use super::peer;

/// Time a new connection gets to say which torrent it wants.
const HANDSHAKE_PREFIX_TIMEOUT: Duration = Duration::from_secs(10);
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
        let Ok(permit) = engine.connections.clone().try_acquire_owned() else {
            continue; // over the global connection limit: drop it
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
            drop(engine);
            if let Some(shared) = torrent {
                shared
                    .peer_tasks
                    .clone()
                    .spawn(peer::accept(shared, stream, addr, reserved, permit));
            }
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
