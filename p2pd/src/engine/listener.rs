//! The one TCP listener for every torrent, and the path every incoming
//! connection takes (uTP's too, see utp.rs): tells a plaintext handshake from
//! an encrypted one (MSE, answered as the `encryption` setting allows),
//! reads the first 48 bytes of the BitTorrent handshake (protocol, reserved
//! bits, info-hash) under a short timeout,
//! finds the torrent, asks it whether the address may connect (a private
//! torrent serves only addresses its tracker vouches for) and hands the
//! connection to it. Unknown info-hashes and refused addresses are closed
//! before we send a byte (over MSE, a byte beyond our key and padding, which
//! go out before the peer can name its torrent). Until then a connection holds a half-open place
//! (see admission.rs), not one of the peer slots outgoing dials need.

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::mse::{self, CryptoSet, Incoming};
use p2p_proto::wire::Decoded;
use p2p_proto::wire::Handshake;
use tokio::net::TcpListener;

use super::transport::{self, Connected, Reader, Writer};
use super::utp::UtpSocket;
use super::{Encryption, EngineInner, peer};

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
        admit(&engine, stream.into(), addr);
    }
}

/// Takes incoming uTP connections into the listener's path until the
/// engine stops.
pub(crate) async fn utp_accept_loop(socket: UtpSocket, engine: Weak<EngineInner>) {
    let Some(cancel) = engine.upgrade().map(|e| e.cancel.clone()) else {
        return;
    };
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            a = socket.accept() => a,
        };
        let Some(stream) = accepted else {
            // The driver is gone (cancelled): nothing more comes.
            return;
        };
        let addr = stream.remote_addr();
        let Some(engine) = engine.upgrade() else {
            return;
        };
        admit(&engine, stream.into(), addr);
    }
}

/// Takes a new incoming connection (TCP or uTP, see utp.rs): reads its
/// handshake prefix in a task of its own and hands it to its torrent.
pub(crate) fn admit(engine: &Arc<EngineInner>, stream: Connected, addr: SocketAddr) {
    let Some(half_open) = engine.admission.half_open(addr.ip()) else {
        return; // this address, or everyone, has too many half-open: drop it
    };
    let weak = Arc::downgrade(engine);
    let encryption = engine.config.encryption;
    engine.tasks.spawn(async move {
        // Twice the time: an encrypted handshake may wait on the
        // tracker of a private torrent before it answers.
        let opened = tokio::time::timeout(
            2 * HANDSHAKE_PREFIX_TIMEOUT,
            read_prefix(stream, addr, encryption, weak.clone()),
        )
        .await;
        let (halves, reserved, info_hash) = match opened {
            Ok(Ok(opened)) => opened,
            Ok(Err(e)) => {
                tracing::debug!(%addr, "incoming connection closed: {e}");
                return;
            }
            Err(_) => return,
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
            peer::accept(shared, halves, addr, reserved, permit).await;
            drop(place);
        });
    });
}

/// Reads the handshake up to the info-hash, answering MSE first if that is
/// what the connection starts with.
async fn read_prefix(
    stream: Connected,
    addr: SocketAddr,
    encryption: Encryption,
    engine: Weak<EngineInner>,
) -> std::io::Result<((Reader, Writer), [u8; 8], InfoHash)> {
    let refused = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned());
    if let Connected::Tcp(tcp) = &stream {
        // As for the connections we dial (connect.rs): requests and HAVEs
        // are small and must not wait for Nagle.
        tcp.set_nodelay(true)?;
    }
    let (mut r, mut w) = transport::plain(stream);
    // Both kinds send more than this before waiting for us.
    let mut first = [0u8; mse::CLASSIFY_LEN];
    r.read_exact(&mut first).await?;
    r.unread(first.to_vec());
    let mut via_mse = None;
    if mse::classify(&first) == Incoming::Plaintext {
        if encryption == Encryption::Require {
            return Err(refused("plaintext handshake, and encryption is required"));
        }
    } else {
        let allowed = match encryption {
            Encryption::Disable => {
                return Err(refused(
                    "not a BitTorrent handshake (encryption is disabled)",
                ));
            }
            Encryption::Require => CryptoSet::RC4,
            Encryption::Prefer => CryptoSet::BOTH,
        };
        let lookup = engine.clone();
        let mut ours = move |req2: &[u8; 20]| {
            let engine = lookup.upgrade()?;
            let torrents = engine
                .torrents
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            torrents
                .keys()
                .find(|h| mse::req2_hash(h) == *req2)
                .copied()
        };
        // Whether the peer may learn that we have the torrent (the same
        // question the caller asks again after a plaintext handshake).
        let admit = async |info_hash: InfoHash| {
            let shared = engine.upgrade().and_then(|e| {
                e.torrents
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&info_hash)
                    .map(|t| t.shared.clone())
            });
            match shared {
                Some(s) => s.vouch.admit(addr.ip()).await,
                None => false,
            }
        };
        let (r2, w2, info_hash) = super::mse::respond(r, w, allowed, &mut ours, admit)
            .await
            .map_err(std::io::Error::other)?;
        (r, w, via_mse) = (r2, w2, Some(info_hash));
    }
    let mut buf = [0u8; PREFIX_LEN];
    r.read_exact(&mut buf).await?;
    match Handshake::decode_info_hash(&buf) {
        Ok(Decoded::Done((reserved, info_hash), _)) if via_mse.is_none_or(|h| h == info_hash) => {
            Ok(((r, w), reserved, info_hash))
        }
        Ok(Decoded::Done(..)) => Err(refused("the handshake names another torrent than MSE did")),
        _ => Err(refused("not a BitTorrent handshake")),
    }
}
