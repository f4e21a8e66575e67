//! What each incoming peer message does to a connection.

use std::sync::atomic::Ordering;

use p2p_proto::bitfield::Bitfield;
use p2p_proto::ipc::PeerSource;
use p2p_proto::wire::{
    BlockRef, ExtHandshake, METADATA_PIECE_LEN, Message, MetadataMsg, PexMessage, UT_METADATA,
    UT_PEX,
};
use tokio::time::Instant;

use super::super::picker::Received;
use super::super::torrent::Shared;
use super::pex::OUR_UT_PEX;
use super::{Conn, OUR_UT_METADATA, PeerError};

/// Our BEP 10 handshake: ut_metadata (so magnet users can fetch the info
/// dictionary from us), ut_pex unless the torrent is private, our port,
/// our client name and request queue depth.
pub(super) fn our_extension_handshake(shared: &Shared) -> Vec<u8> {
    let mut h = ExtHandshake::default();
    h.m.insert(UT_METADATA.to_owned(), OUR_UT_METADATA);
    if shared.pex_allowed() {
        h.m.insert(UT_PEX.to_owned(), OUR_UT_PEX);
    }
    h.metadata_size = Some(shared.meta.raw_info.len() as u64);
    h.client = Some(shared.config.client_name.clone());
    h.listen_port = Some(shared.listen_port);
    h.reqq = Some(super::MAX_QUEUED_REQUESTS as u32);
    h.encode()
}

impl Conn {
    pub(super) fn on_message(&mut self, msg: Message<'_>) -> Result<(), PeerError> {
        let n = self.peer_pieces.len();
        match msg {
            Message::KeepAlive | Message::Suggest(_) | Message::AllowedFast(_) => {}
            // BEP 5: the peer's DHT node, on its IP. Never for a private
            // torrent (no DHT there, and we did not set the DHT bit).
            Message::Port(port) => {
                if let Some(dht) = &self.shared.dht {
                    dht.add_node(std::net::SocketAddr::new(self.addr.ip(), port));
                }
            }
            Message::Unknown { .. } => {}
            Message::Choke => {
                self.peer_choking = true;
                // Requests in flight will not be answered (Fast peers reject
                // them explicitly; either way they go back to the pool).
                let mut st = self.shared.lock();
                for b in self.in_flight.drain() {
                    st.picker.cancelled(b);
                }
            }
            Message::Unchoke => self.peer_choking = false,
            Message::Interested => {
                self.stats.peer_interested.store(true, Ordering::Relaxed);
                if self.am_choking && self.shared.try_unchoke(self.key) {
                    self.set_choking(false);
                }
            }
            Message::NotInterested => {
                self.stats.peer_interested.store(false, Ordering::Relaxed);
                self.shared.lost_interest(self.key);
            }
            Message::Have(i) => {
                let i = i as usize;
                if i >= n {
                    return Err(PeerError::Violation(format!("have {i} of {n} pieces")));
                }
                if !self.peer_pieces.get(i) {
                    self.peer_pieces.set(i, true);
                    let mut st = self.shared.lock();
                    st.picker.peer_has(i as u32);
                    if st.picker.wants(i) {
                        self.wanted_from_peer += 1;
                    }
                }
                self.update_interest();
            }
            Message::Bitfield(bytes) => {
                // BEP 3 wants it first, but aria2 sends a fresh bitfield
                // instead of many HAVEs: a later one replaces what we knew.
                let pieces = Bitfield::from_bytes(bytes, n)
                    .map_err(|e| PeerError::Violation(format!("bad bitfield: {e}")))?;
                self.set_peer_pieces(pieces);
            }
            Message::HaveAll | Message::HaveNone if !self.fast => {
                return Err(PeerError::Violation(
                    "Fast message without the Fast extension".into(),
                ));
            }
            Message::HaveAll => self.set_peer_pieces(Bitfield::full(n)),
            Message::HaveNone => self.set_peer_pieces(Bitfield::new(n)),
            Message::Request(b) => self.on_request(b)?,
            Message::Cancel(b) => self.upload.remove(b),
            Message::Reject(b) => {
                if self.in_flight.remove(&b) {
                    self.shared.lock().picker.cancelled(b);
                }
            }
            Message::Piece { index, begin, data } => self.on_block(index, begin, data),
            Message::Extended { id, payload } => self.on_extended(id, payload)?,
        }
        Ok(())
    }

    fn set_peer_pieces(&mut self, pieces: Bitfield) {
        let mut st = self.shared.lock();
        st.picker.remove_peer(&self.peer_pieces);
        st.picker.add_peer(&pieces);
        self.wanted_from_peer = pieces.iter_ones().filter(|&i| st.picker.wants(i)).count();
        drop(st);
        self.peer_pieces = pieces;
        self.update_interest();
    }

    fn on_block(&mut self, index: u32, begin: u32, data: &[u8]) {
        let b = BlockRef {
            index,
            begin,
            length: data.len() as u32,
        };
        if !self.block_arrived(b) {
            return;
        }
        let received = self.shared.lock().picker.received(self.key, b, data);
        self.settle_block(b, received);
    }

    /// Counts a block that arrived; whether we asked for it (else it is
    /// late, after a choke or a cancel, or never asked for: wasted).
    pub(super) fn block_arrived(&mut self, b: BlockRef) -> bool {
        let len = u64::from(b.length);
        self.throttle_down += len;
        self.shared.count_download(len);
        if !self.in_flight.answered(&b) {
            return false;
        }
        self.last_block_at = Instant::now();
        self.stats.downloaded.fetch_add(len, Ordering::Relaxed);
        true
    }

    /// What follows from a block the picker took.
    pub(super) fn settle_block(&mut self, b: BlockRef, received: Received) {
        match received {
            Received::Unwanted => {}
            Received::Stored { duplicated } => {
                if duplicated {
                    self.shared.cancel_elsewhere(self.key, b);
                }
            }
            Received::PieceComplete {
                index,
                data,
                duplicated,
                contributors,
            } => {
                if duplicated {
                    self.shared.cancel_elsewhere(self.key, b);
                }
                self.shared.piece_complete(index, data, contributors);
            }
        }
    }

    /// A peer's ut_pex message: its peers become ours to dial, at most one
    /// message a minute, never for a private torrent (we never offered
    /// ut_pex there, so a peer that sends it anyway is ignored).
    fn on_pex(&mut self, payload: &[u8]) -> Result<(), PeerError> {
        if !self.shared.pex_allowed() {
            tracing::debug!("ut_pex on a private torrent ignored");
            return Ok(());
        }
        if !self.pex.take(Instant::now()) {
            tracing::debug!("ut_pex sooner than a minute after the last ignored");
            return Ok(());
        }
        let msg = PexMessage::decode(payload)?;
        tracing::debug!(
            added = msg.added.len(),
            dropped = msg.dropped.len(),
            "ut_pex taken"
        );
        self.shared.add_candidates_hinted(
            PeerSource::Pex,
            msg.added
                .iter()
                .take(p2p_proto::wire::PEX_MAX_PEERS)
                .map(|&(addr, flags)| (addr, flags & p2p_proto::wire::pex_flags::UTP != 0)),
        );
        Ok(())
    }

    /// Our ut_pex message, when one is due and there is news.
    pub(super) fn send_pex(&mut self, now: Instant) {
        // The peer list is read (under the torrent's lock) only when a
        // message is due: once a minute, not on every tick.
        if !self.pex.is_due(now) {
            return;
        }
        let connected = self.shared.pex_view(self.key);
        if let (Some(id), Some(msg)) = (self.pex.peer_id, self.pex.due(now, &connected)) {
            tracing::debug!(
                added = msg.added.len(),
                dropped = msg.dropped.len(),
                "ut_pex sent"
            );
            self.send(&Message::Extended {
                id,
                payload: &msg.encode(),
            });
        }
    }

    fn on_extended(&mut self, id: u8, payload: &[u8]) -> Result<(), PeerError> {
        if id == 0 {
            let h = ExtHandshake::decode(payload)?;
            if let Some(q) = h.reqq {
                self.peer_reqq = (q as usize).clamp(1, super::MAX_QUEUED_REQUESTS);
            }
            self.peer_metadata_id = h.m.get(UT_METADATA).copied();
            if self.shared.pex_allowed() {
                self.pex.peer_id = h.m.get(UT_PEX).copied();
            }
            if let Some(port) = h.listen_port {
                self.shared.set_listen_port(self.key, port);
            }
            return Ok(());
        }
        if id == OUR_UT_PEX {
            self.on_pex(payload)?;
            return Ok(());
        }
        if id == OUR_UT_METADATA {
            let reply = match MetadataMsg::decode(payload)? {
                MetadataMsg::Request { piece } => {
                    let raw = &self.shared.meta.raw_info;
                    let start = piece as usize * METADATA_PIECE_LEN;
                    match raw.get(start..(start + METADATA_PIECE_LEN).min(raw.len())) {
                        Some(data) if start < raw.len() => MetadataMsg::Data {
                            piece,
                            total_size: raw.len() as u64,
                            data,
                        }
                        .encode(),
                        _ => MetadataMsg::Reject { piece }.encode(),
                    }
                }
                _ => return Ok(()),
            };
            if let Some(their_id) = self.peer_metadata_id {
                self.send(&Message::Extended {
                    id: their_id,
                    payload: &reply,
                });
            }
        }
        Ok(())
    }
}
