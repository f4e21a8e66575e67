//! Magnet links: fetch the info dictionary from peers (BEP 9 ut_metadata
//! over BEP 10), check it against the info-hash, and hand back a Metainfo.
//! Peers come from the link (`x.pe`), its trackers, the DHT (unless the
//! caller knows the info-hash to be private), or the caller. A few peers
//! are tried at once; the first whole, verified copy wins.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use p2p_proto::infohash::InfoHash;
use p2p_proto::magnet::Magnet;
use p2p_proto::metainfo::Metainfo;
use p2p_proto::tracker::Event;
use p2p_proto::wire::{
    DEFAULT_MAX_MESSAGE_LEN, Decoded, ExtHandshake, Handshake, MAX_METADATA_SIZE,
    METADATA_PIECE_LEN, Message, MetadataMsg, PeerId, UT_METADATA,
};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::announce::{Announcer, Progress};
use super::connect::Dial;
use super::transport::Reader;
use crate::dht::DhtNode;

/// Peers asked at the same time.
const PARALLEL_PEERS: usize = 4;
/// Time one peer gets to deliver the whole info dictionary.
const PER_PEER_TIMEOUT: Duration = Duration::from_secs(30);
/// Most addresses tried for one link (the DHT may name many).
const MAX_PEERS_TRIED: usize = 200;
/// Pause after the first DHT lookup of a link, doubling up to the last.
const FIRST_DHT_RETRY: Duration = Duration::from_secs(2);
const LAST_DHT_RETRY: Duration = Duration::from_secs(30);
/// Our id for ut_metadata in the extension handshake.
const OUR_UT_METADATA: u8 = 1;

/// Why the metadata could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// No peer gave a valid copy before the deadline.
    #[error("no peer sent the torrent's metadata within {0:?} ({1})")]
    NotFound(Duration, String),
    /// Stopped.
    #[error("cancelled")]
    Cancelled,
}

/// How we present ourselves to the peers we ask.
#[derive(Clone)]
pub(crate) struct Us {
    pub peer_id: PeerId,
    pub listen_port: u16,
    pub dial: Dial,
}

/// Fetches and verifies the metadata of `magnet`, asking `extra_peers`, the
/// link's peers, the peers its trackers return and, with `dht`, the peers
/// the DHT names (looked up again now and then until the deadline: a
/// seeder may announce itself after we asked).
#[allow(clippy::too_many_arguments)]
pub async fn fetch(
    http: &reqwest::Client,
    dht: Option<&DhtNode>,
    magnet: &Magnet,
    extra_peers: &[SocketAddr],
    us: Us,
    deadline: Duration,
    cancel: &CancellationToken,
) -> Result<Metainfo, MetadataError> {
    let Us {
        peer_id,
        listen_port,
        dial,
    } = us;
    let mut queue: VecDeque<SocketAddr> =
        extra_peers.iter().chain(&magnet.peers).copied().collect();
    if !magnet.trackers.is_empty() {
        let tiers: Vec<Vec<String>> = magnet.trackers.iter().map(|t| vec![t.clone()]).collect();
        let mut announcer = Announcer::new(
            http.clone(),
            &tiers,
            magnet.info_hash,
            peer_id.0,
            listen_port,
        );
        let progress = Progress {
            uploaded: 0,
            downloaded: 0,
            left: magnet.exact_length.unwrap_or(1).max(1),
        };
        if let Ok(r) = announcer.announce(Event::Started, progress).await {
            queue.extend(r.peers.iter().map(|p| p.addr));
        }
    }
    let (found_tx, mut found) = mpsc::unbounded_channel::<SocketAddr>();
    let search = async {
        let Some(dht) = dht else {
            drop(found_tx);
            return std::future::pending::<Result<Metainfo, String>>().await;
        };
        let mut pause = FIRST_DHT_RETRY;
        loop {
            let n = dht
                .lookup(magnet.info_hash, None, |peers| {
                    for p in peers {
                        let _ = found_tx.send(p);
                    }
                })
                .await;
            tracing::debug!(torrent = %magnet.info_hash, peers = n, "DHT lookup for a magnet link");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LAST_DHT_RETRY);
        }
    };
    let attempt = async {
        let mut errors = Vec::new();
        let mut tried = HashSet::new();
        let mut tasks = JoinSet::new();
        let mut more_coming = dht.is_some();
        loop {
            while tasks.len() < PARALLEL_PEERS {
                let Some(addr) = queue.pop_front() else { break };
                if !tried.insert(addr) || tried.len() > MAX_PEERS_TRIED {
                    continue;
                }
                let info_hash = magnet.info_hash;
                let dial = dial.clone();
                tasks.spawn(async move {
                    let r = tokio::time::timeout(
                        PER_PEER_TIMEOUT,
                        from_peer(addr, info_hash, peer_id, &dial),
                    )
                    .await;
                    (addr, r.unwrap_or_else(|_| Err("timed out".into())))
                });
            }
            if tasks.is_empty() && !more_coming {
                return Err(errors.join("; "));
            }
            tokio::select! {
                joined = tasks.join_next(), if !tasks.is_empty() => match joined {
                    Some(Ok((_, Ok(meta)))) => return Ok(meta),
                    Some(Ok((addr, Err(e)))) => errors.push(format!("{addr}: {e}")),
                    Some(Err(e)) => errors.push(e.to_string()),
                    None => {}
                },
                addr = found.recv(), if more_coming => match addr {
                    // The DHT may name many: a bounded queue, the rest dropped.
                    Some(addr) if queue.len() < MAX_PEERS_TRIED => queue.push_back(addr),
                    Some(_) => {}
                    None => more_coming = false,
                },
            }
        }
    };
    let attempt = async {
        tokio::select! {
            r = attempt => r,
            never = search => never,
        }
    };
    tokio::select! {
        _ = cancel.cancelled() => Err(MetadataError::Cancelled),
        r = tokio::time::timeout(deadline, attempt) => match r {
            Ok(Ok(meta)) => Ok(meta),
            Ok(Err(why)) => Err(MetadataError::NotFound(deadline, if why.is_empty() { "no peers".into() } else { why })),
            Err(_) => Err(MetadataError::NotFound(deadline, "deadline passed".into())),
        },
    }
}

/// Asks one peer for every metadata piece.
async fn from_peer(
    addr: SocketAddr,
    info_hash: InfoHash,
    peer_id: PeerId,
    dial: &Dial,
) -> Result<Metainfo, String> {
    let (mut r, mut w, theirs) =
        super::connect::dial(addr, Handshake::new(info_hash, peer_id), dial)
            .await
            .map_err(|e| e.to_string())?;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    if theirs.info_hash != info_hash || !theirs.supports_extensions() {
        return Err("peer does not support extensions for this torrent".into());
    }
    let mut ours = ExtHandshake::default();
    ours.m.insert(UT_METADATA.to_owned(), OUR_UT_METADATA);
    let mut out = Vec::new();
    Message::Extended {
        id: 0,
        payload: &ours.encode(),
    }
    .encode(&mut out);
    w.write_all(&out).await.map_err(|e| e.to_string())?;

    let mut assembled: Option<(Vec<u8>, Vec<bool>)> = None;
    loop {
        let mut replies = Vec::new();
        loop {
            let (consumed, done) =
                match Message::decode(&buf, DEFAULT_MAX_MESSAGE_LEN).map_err(|e| e.to_string())? {
                    Decoded::NeedMore(_) => break,
                    Decoded::Done(Message::Extended { id: 0, payload }, used) => {
                        let h = ExtHandshake::decode(payload).map_err(|e| e.to_string())?;
                        let id = *h.m.get(UT_METADATA).ok_or("peer has no ut_metadata")?;
                        let size = h
                            .metadata_size
                            .ok_or("peer did not say the metadata size")?;
                        if size == 0 || size > MAX_METADATA_SIZE {
                            return Err(format!("metadata size {size} out of range"));
                        }
                        let pieces = (size as usize).div_ceil(METADATA_PIECE_LEN);
                        assembled = Some((vec![0; size as usize], vec![false; pieces]));
                        for piece in 0..pieces as u32 {
                            let msg = MetadataMsg::Request { piece }.encode();
                            replies.push((id, msg));
                        }
                        (used, false)
                    }
                    Decoded::Done(
                        Message::Extended {
                            id: OUR_UT_METADATA,
                            payload,
                        },
                        used,
                    ) => {
                        let done = store_piece(payload, assembled.as_mut())?;
                        (used, done)
                    }
                    Decoded::Done(_, used) => (used, false),
                };
            buf.advance(consumed);
            if done {
                let (raw, _) = assembled.take().ok_or("no metadata")?;
                if InfoHash::of_info_bytes(&raw) != info_hash {
                    return Err("metadata does not match the info-hash".into());
                }
                return Metainfo::from_info_bytes(&raw).map_err(|e| e.to_string());
            }
        }
        let mut out = Vec::new();
        for (id, payload) in &replies {
            Message::Extended { id: *id, payload }.encode(&mut out);
        }
        if !out.is_empty() {
            w.write_all(&out).await.map_err(|e| e.to_string())?;
        }
        read_more(&mut r, &mut buf).await?;
    }
}

/// Stores one data message; true when every piece is in.
fn store_piece(
    payload: &[u8],
    assembled: Option<&mut (Vec<u8>, Vec<bool>)>,
) -> Result<bool, String> {
    let Some((raw, have)) = assembled else {
        return Err("metadata before the extension handshake".into());
    };
    match MetadataMsg::decode(payload).map_err(|e| e.to_string())? {
        MetadataMsg::Data {
            piece,
            total_size,
            data,
        } => {
            let start = piece as usize * METADATA_PIECE_LEN;
            let expected = (raw.len() - start.min(raw.len())).min(METADATA_PIECE_LEN);
            if total_size != raw.len() as u64 || start >= raw.len() || data.len() != expected {
                return Err(format!("bad metadata piece {piece}"));
            }
            raw[start..start + data.len()].copy_from_slice(data);
            have[piece as usize] = true;
            Ok(have.iter().all(|h| *h))
        }
        MetadataMsg::Reject { piece } => Err(format!("peer rejected metadata piece {piece}")),
        MetadataMsg::Request { .. } => Ok(false),
    }
}

async fn read_more(r: &mut Reader, buf: &mut BytesMut) -> Result<(), String> {
    buf.reserve(64 * 1024);
    match r.read_buf(buf).await {
        Ok(0) => Err("connection closed".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}
