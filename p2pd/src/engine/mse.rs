//! Message Stream Encryption over a TCP or uTP connection: drives proto's sans-io
//! handshake ([`p2p_proto::mse`]) with the socket, draws its randomness,
//! and hands back transport halves that encrypt when RC4 was chosen.
//!
//! Not here: which policy applies (peer.rs dials, listener.rs accepts) or
//! timeouts (the callers bound the whole handshake).

use std::io;

use bytes::BytesMut;
use p2p_proto::infohash::InfoHash;
use p2p_proto::mse::{CryptoSet, Established, Initiator, MAX_PAD, MseError, Receiver, Secrets};

use super::transport::{self, Connected, Reader, Writer};

/// Bytes read at a time during the handshake: the state machines keep what
/// they are fed, so reads stay small until the stream is ours.
const HANDSHAKE_READ: usize = 2048;

/// Why an encrypted handshake failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MseFailed {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("encryption handshake: {0}")]
    Protocol(#[from] MseError),
}

impl MseFailed {
    /// The peer closed or reset the connection: what a client without MSE
    /// does to our handshake, so worth one plaintext try.
    pub(crate) fn peer_hung_up(&self) -> bool {
        matches!(self, MseFailed::Io(e) if transport::hung_up(e))
    }
}

fn secrets() -> Secrets {
    let pad_len = rand::random_range(0..=MAX_PAD);
    Secrets {
        private_key: rand::random(),
        pad: (0..pad_len).map(|_| rand::random()).collect(),
    }
}

/// Dials in MSE over `stream` for `info_hash`, offering `provide`, with
/// `initial_payload` (our BitTorrent handshake) sent inside the handshake.
pub(crate) async fn initiate(
    stream: Connected,
    info_hash: InfoHash,
    provide: CryptoSet,
    initial_payload: Vec<u8>,
) -> Result<(Reader, Writer), MseFailed> {
    let (mut r, mut w) = transport::plain(stream);
    let mut out = Vec::new();
    let mut handshake = Initiator::new(secrets(), info_hash, provide, initial_payload, &mut out);
    w.write_all(&out).await?;
    let mut buf = BytesMut::with_capacity(HANDSHAKE_READ);
    loop {
        read_some(&mut r, &mut buf).await?;
        out.clear();
        let done = handshake.receive(&buf, &mut out)?;
        if !out.is_empty() {
            w.write_all(&out).await?;
        }
        if let Some(done) = done {
            return Ok(finish(r, w, done));
        }
    }
}

/// Answers an MSE handshake on `r`/`w` (whose first bytes were read and
/// put back), accepting `allowed`. `torrent` finds one of ours by
/// HASH('req2', info-hash); `admit` then decides, before we answer a byte
/// that shows we have it, whether this peer may have it (a private
/// torrent's tracker must vouch for it).
pub(crate) async fn respond<F, Fut>(
    mut r: Reader,
    mut w: Writer,
    allowed: CryptoSet,
    torrent: &mut (dyn FnMut(&[u8; 20]) -> Option<InfoHash> + Send),
    admit: F,
) -> Result<(Reader, Writer, InfoHash), MseFailed>
where
    F: FnOnce(InfoHash) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut handshake = Receiver::new(secrets(), allowed);
    let mut admit = Some(admit);
    let mut out = Vec::new();
    let mut buf = BytesMut::with_capacity(HANDSHAKE_READ);
    loop {
        read_some(&mut r, &mut buf).await?;
        out.clear();
        let mut named = None;
        let done = handshake.receive(&buf, &mut out, &mut |req2| {
            named = torrent(req2);
            named
        })?;
        // The initiator cannot name its torrent before it has our key, so
        // nothing that answers it has been sent yet.
        if let Some(info_hash) = named
            && let Some(admit) = admit.take()
            && !admit(info_hash).await
        {
            return Err(MseError::UnknownTorrent.into());
        }
        if !out.is_empty() {
            w.write_all(&out).await?;
        }
        if let Some(done) = done {
            let info_hash = done.info_hash;
            let (r, w) = finish(r, w, done);
            return Ok((r, w, info_hash));
        }
    }
}

async fn read_some(r: &mut Reader, buf: &mut BytesMut) -> io::Result<()> {
    buf.clear();
    buf.reserve(HANDSHAKE_READ);
    if r.read_buf(buf).await? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

fn finish(r: Reader, w: Writer, done: Established) -> (Reader, Writer) {
    let (encrypt, decrypt) = match done.ciphers {
        Some(c) => (Some(c.encrypt), Some(c.decrypt)),
        None => (None, None),
    };
    (r.encrypted(decrypt, done.payload), w.encrypted(encrypt))
}
