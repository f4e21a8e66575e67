//! One peer connection (BEP 3, with BEP 6 Fast and BEP 10 extensions): the
//! handshake, then a single task that reads blocks straight into their
//! pieces and parses the other messages in place from a reusable buffer
//! (receive.rs), keeps a pipeline of block requests full, serves
//! the peer's requests from a small read cache, and writes whatever is
//! queued whenever the socket can take it, in vectored writes (reading and
//! writing never wait on each other, so two peers uploading to each other
//! cannot deadlock). A fast peer's socket wakes the task only every
//! quarter megabyte (a receive low-water mark, see sockopt.rs).

mod handlers;
mod inflight;
mod outbox;
mod pex;
mod receive;
mod upload;

use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use p2p_proto::bitfield::Bitfield;
use p2p_proto::ipc::PeerTransport;
use p2p_proto::wire::{
    BlockRef, DEFAULT_MAX_MESSAGE_LEN, Decoded, Handshake, Message, PeerId, WireError,
};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio::time::{Instant, MissedTickBehavior, interval};

use super::torrent::{PeerCmd, PeerStats, Refused, Shared, backoff};
use super::transport::{Reader, Writer};

/// Fewest block requests kept in flight to one peer (a new or slow one).
const MIN_PIPELINE: usize = 16;
/// Most bytes asked of one peer and not yet received: 320 MB/s at a 100 ms
/// round trip. Asking costs no memory (a piece's buffer is made when its
/// first block arrives, and blocks arrive about in the order asked), and
/// it is the `reqq` we advertise, as deep as a peer of ours may go.
const MAX_IN_FLIGHT_BYTES: usize = MAX_QUEUED_REQUESTS * p2p_proto::wire::BLOCK_LEN as usize;
/// Seconds of data at the peer's rate kept in flight. More than a round
/// trip, with room: a seeder that answers in bursts (Transmission sends
/// what it was asked for on a 500 ms pulse) is then asked for more than it
/// sent in the last burst, so its rate, and the pipeline with it, grow
/// until the link is full. libtorrent keeps 3 s.
const PIPELINE_SECONDS: f64 = 2.0;
/// Most requests sent in one go: one write wakes the peer for many blocks.
const MAX_REQUEST_BATCH: usize = 64;
/// A peer that sends nothing we asked for in this long is snubbed.
const SNUB_AFTER: Duration = Duration::from_secs(30);
/// Keep-alive when we have sent nothing for this long.
const KEEPALIVE_AFTER: Duration = Duration::from_secs(90);
/// A peer that sends nothing at all for this long is dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(180);
/// Most requests we queue for a peer (advertised as `reqq`); more are
/// refused. A queued request is 12 bytes: blocks are read when they are
/// sent (upload.rs), so a full queue holds no data.
const MAX_QUEUED_REQUESTS: usize = 2048;
/// Write buffer level above which we stop serving requests until it drains.
const WRITE_HIGH_WATER: usize = 1 << 20;
/// Read buffer size (it grows for a longer message).
const READ_CHUNK: usize = 512 * 1024;
/// Receive low-water mark for a fast peer that owes us at least twice as
/// much (see sockopt.rs): one wake-up per this many bytes, not per packet.
const LOWAT_BYTES: usize = 256 * 1024;
/// Download rate from which the mark is raised: it then fills in under 8 ms.
const LOWAT_MIN_RATE: u64 = 32 << 20;
/// A raised mark is dropped when nothing has arrived for this long (the
/// once-a-second tick notices), so a choke or a last short block is read.
const LOWAT_STALL: Duration = Duration::from_millis(100);
/// Window of the recent download rate.
const RECENT_RATE_WINDOW: Duration = Duration::from_millis(100);
/// Extension id we give ut_metadata (BEP 9).
pub(crate) const OUR_UT_METADATA: u8 = 1;

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PeerError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("protocol error: {0}")]
    Wire(#[from] WireError),
    #[error("{0}")]
    Refused(#[from] Refused),
    #[error("protocol violation: {0}")]
    Violation(String),
    #[error("handshake timed out")]
    Timeout,
    #[error("peer is for another torrent")]
    WrongTorrent,
    #[error("{0}")]
    Connect(#[from] super::connect::ConnectError),
}

/// Dials `addr` and runs the connection.
pub(crate) async fn dial(shared: Arc<Shared>, addr: SocketAddr, permit: OwnedSemaphorePermit) {
    let utp_first = shared
        .lock()
        .candidates
        .get(&addr)
        .is_some_and(|c| c.utp_first);
    let how = super::dial_settings(&shared.config, shared.utp.clone(), utp_first);
    let mut transport = None;
    let result = async {
        let (r, w, theirs) = super::connect::dial(addr, our_handshake(&shared), &how).await?;
        if theirs.info_hash != shared.meta.info_hash {
            return Err(PeerError::WrongTorrent);
        }
        transport = Some(r.link().transport);
        run(shared.clone(), r, w, addr, theirs, true).await
    }
    .await;
    drop(permit);
    let mut st = shared.lock();
    if let Some(c) = st.candidates.get_mut(&addr) {
        c.connected = false;
        if let Some(t) = transport {
            // Next time, first what worked this time.
            c.utp_first = t == PeerTransport::Utp;
        }
        if matches!(result, Err(PeerError::Refused(Refused::OurOwnId))) {
            // Our own address: never dial it again (and never ban it).
            c.next_attempt = Instant::now() + Duration::from_secs(86_400 * 365);
        }
    }
    drop(st);
    if let Err(e) = result {
        tracing::debug!(%addr, "outgoing peer ended: {e}");
    }
}

/// Runs an incoming connection whose first 48 handshake bytes the listener
/// read (through MSE or not).
pub(crate) async fn accept(
    shared: Arc<Shared>,
    (mut r, mut w): (Reader, Writer),
    addr: SocketAddr,
    reserved: [u8; 8],
    permit: OwnedSemaphorePermit,
) {
    let result = async {
        let timeout = shared.config.connect_timeout;
        let peer_id = tokio::time::timeout(timeout, async {
            let ours = our_handshake(&shared);
            w.write_all(&ours.to_bytes()).await?;
            let mut id = [0u8; 20];
            r.read_exact(&mut id).await?;
            Ok::<_, std::io::Error>(PeerId(id))
        })
        .await
        .map_err(|_| PeerError::Timeout)??;
        let theirs = Handshake {
            reserved,
            info_hash: shared.meta.info_hash,
            peer_id,
        };
        run(shared.clone(), r, w, addr, theirs, false).await
    }
    .await;
    drop(permit);
    if let Err(e) = result {
        tracing::debug!(%addr, "incoming peer ended: {e}");
    }
}

/// Our handshake for this torrent: with the DHT bit only when the torrent
/// is public and a DHT node runs (`Shared::dht` is `None` otherwise).
fn our_handshake(shared: &Shared) -> Handshake {
    let h = Handshake::new(shared.meta.info_hash, shared.peer_id);
    if shared.dht.is_some() {
        h.with_dht()
    } else {
        h
    }
}

/// The state of one connection after the handshake.
pub(crate) struct Conn {
    shared: Arc<Shared>,
    key: u64,
    addr: SocketAddr,
    /// Our DHT port, sent in a PORT message when both sides set the DHT bit.
    dht_port: Option<u16>,
    peer_id: PeerId,
    stats: Arc<PeerStats>,
    fast: bool,
    extensions: bool,
    outbox: outbox::Outbox,
    am_choking: bool,
    am_interested: bool,
    peer_choking: bool,
    peer_pieces: Bitfield,
    /// Pieces the peer has that we lack (interest without rescanning).
    wanted_from_peer: usize,
    in_flight: inflight::InFlight,
    peer_reqq: usize,
    /// The peer's id for ut_metadata, from its extension handshake.
    peer_metadata_id: Option<u8>,
    /// Peer exchange with this peer (BEP 11).
    pex: pex::Pex,
    last_block_at: Instant,
    last_recv_at: Instant,
    last_send_at: Instant,
    upload: upload::Uploader,
    /// Payload bytes at the previous rate sample.
    sample: (u64, u64),
    /// Download rate over the last [`RECENT_RATE_WINDOW`], which sizes the
    /// request pipeline and the receive mark from the first 100 ms of a
    /// transfer on (the per-second rate in the stats lags a whole second).
    recent_rate: u64,
    recent_window: (Instant, u64),
    /// Bytes to pass through the download limiter before reading on.
    throttle_down: u64,
    picked: Vec<BlockRef>,
    /// The blocks a read guessed would come next (reused).
    guesses: Vec<BlockRef>,
}

async fn run(
    shared: Arc<Shared>,
    mut r: Reader,
    mut w: Writer,
    addr: SocketAddr,
    theirs: Handshake,
    outgoing: bool,
) -> Result<(), PeerError> {
    let (key, mut cmds, stats) = shared.register_peer(addr, theirs.peer_id, outgoing, r.link())?;
    if outgoing {
        let mut st = shared.lock();
        if let Some(c) = st.candidates.get_mut(&addr) {
            // Connected: if it drops later, retry after a short pause.
            c.failures = 0;
            c.next_attempt = Instant::now() + backoff(1);
        }
    }
    let ours = our_handshake(&shared);
    let n = shared.meta.piece_count();
    let now = Instant::now();
    let dht_port = shared
        .dht
        .as_ref()
        .filter(|_| theirs.supports_dht())
        .map(|d| d.port());
    let mut conn = Conn {
        key,
        addr,
        dht_port,
        peer_id: theirs.peer_id,
        stats,
        fast: ours.supports_fast() && theirs.supports_fast(),
        extensions: ours.supports_extensions() && theirs.supports_extensions(),
        outbox: outbox::Outbox::default(),
        am_choking: true,
        am_interested: false,
        peer_choking: true,
        peer_pieces: Bitfield::new(n),
        wanted_from_peer: 0,
        in_flight: inflight::InFlight::default(),
        peer_reqq: 250,
        peer_metadata_id: None,
        pex: pex::Pex::new(now),
        last_block_at: now,
        last_recv_at: now,
        last_send_at: now,
        upload: upload::Uploader::new(shared.upload_cache_bytes.clone()),
        sample: (0, 0),
        recent_rate: 0,
        recent_window: (now, 0),
        throttle_down: 0,
        picked: Vec::new(),
        guesses: Vec::new(),
        shared,
    };
    tracing::debug!(%addr, peer = %conn.peer_id, outgoing, "peer connected");
    let result = conn.event_loop(&mut r, &mut w, &mut cmds).await;
    let in_flight: Vec<BlockRef> = conn.in_flight.drain().collect();
    conn.shared
        .unregister_peer(conn.key, &conn.peer_pieces, &in_flight);
    result
}

impl Conn {
    async fn event_loop(
        &mut self,
        r: &mut Reader,
        w: &mut Writer,
        cmds: &mut mpsc::UnboundedReceiver<PeerCmd>,
    ) -> Result<(), PeerError> {
        self.send_greeting();
        let mut rbuf = receive::RecvBuf::new(READ_CHUNK);
        let mut tick = interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let cancel = self.shared.cancel.clone();
        let mut lowat = 1;
        loop {
            let want = self.wanted_lowat();
            if want != lowat {
                lowat = want;
                if let Some(tcp) = r.tcp()
                    && let Err(e) = super::sockopt::set_recv_lowat(tcp, lowat as i32)
                {
                    tracing::debug!("cannot set the receive low-water mark: {e}");
                }
            }
            let mut slices = [IoSlice::new(&[]); outbox::MAX_SLICES];
            let slice_count = self.outbox.slices(&mut slices);
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                cmd = cmds.recv() => {
                    // Take every command already queued (a run of verified
                    // pieces comes as a burst of HAVEs): one write for the
                    // lot instead of one per message.
                    let mut next = cmd;
                    loop {
                        match next {
                            Some(PeerCmd::Disconnect) | None => return Ok(()),
                            Some(cmd) => self.on_command(cmd),
                        }
                        match cmds.try_recv() {
                            Ok(cmd) => next = Some(cmd),
                            Err(_) => break,
                        }
                    }
                }
                arrival = receive::arrival(r, &mut rbuf) => {
                    match self.on_arrival(r, &mut rbuf, arrival?)? {
                        receive::ReadOutcome::Closed => return Ok(()),
                        receive::ReadOutcome::Empty => {}
                        receive::ReadOutcome::Data => {
                            self.last_recv_at = Instant::now();
                            self.sample_recent_rate(self.last_recv_at);
                        }
                    }
                }
                written = w.write_vectored(&slices[..slice_count]), if slice_count > 0 => {
                    self.outbox.consumed(written?);
                    self.last_send_at = Instant::now();
                }
                loaded = self.upload.loaded(), if self.upload.is_loading() => {
                    self.upload.finish_load(loaded)?;
                }
                _ = tick.tick() => self.on_tick()?,
            }
            if self.throttle_down > 0 {
                let bytes = std::mem::take(&mut self.throttle_down);
                self.shared.throttle_download(bytes).await;
            }
            self.fill_requests();
            self.serve_requests().await;
        }
    }

    /// The receive low-water mark this peer deserves now: raised only while
    /// it sends fast and owes us more than twice the mark in requested
    /// blocks, so the bytes that satisfy it are already on their way.
    fn wanted_lowat(&self) -> usize {
        let owed = self.in_flight.len() * p2p_proto::wire::BLOCK_LEN as usize;
        let fast = self.recent_rate >= LOWAT_MIN_RATE;
        if fast
            && !self.peer_choking
            && owed >= 2 * LOWAT_BYTES
            && self.last_recv_at.elapsed() < LOWAT_STALL
        {
            LOWAT_BYTES
        } else {
            1
        }
    }

    fn sample_recent_rate(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.recent_window.0);
        if elapsed >= RECENT_RATE_WINDOW {
            let down = self.stats.downloaded.load(Ordering::Relaxed);
            let bytes = down - self.recent_window.1;
            self.recent_rate = (bytes as f64 / elapsed.as_secs_f64()) as u64;
            self.recent_window = (now, down);
        }
    }

    /// Parses every whole message in `buf`; returns the bytes consumed.
    fn parse(&mut self, buf: &[u8]) -> Result<usize, PeerError> {
        let mut used = 0;
        loop {
            match Message::decode(&buf[used..], DEFAULT_MAX_MESSAGE_LEN)? {
                Decoded::Done(msg, n) => {
                    self.on_message(msg)?;
                    used += n;
                }
                Decoded::NeedMore(_) => return Ok(used),
            }
        }
    }

    fn send(&mut self, msg: &Message<'_>) {
        self.outbox.push(msg);
    }

    /// What we have (BEP 3 wants it first), then the extension handshake.
    fn send_greeting(&mut self) {
        let have = self.shared.lock().picker.have().clone();
        if self.fast && have.all() {
            self.send(&Message::HaveAll);
        } else if self.fast && have.none() {
            self.send(&Message::HaveNone);
        } else if !have.none() {
            self.send(&Message::Bitfield(have.as_bytes()));
        }
        if self.extensions {
            let payload = handlers::our_extension_handshake(&self.shared);
            self.send(&Message::Extended {
                id: 0,
                payload: &payload,
            });
        }
        if let Some(port) = self.dht_port {
            self.send(&Message::Port(port));
        }
    }

    fn on_command(&mut self, cmd: PeerCmd) {
        match cmd {
            PeerCmd::Have(i) => {
                self.send(&Message::Have(i));
                if self.peer_pieces.get(i as usize) {
                    self.wanted_from_peer = self.wanted_from_peer.saturating_sub(1);
                    if self.wanted_from_peer == 0 {
                        // The piece may not have been a wanted one (a file
                        // skipped while it was in flight): count afresh
                        // before losing interest.
                        self.recount_wanted();
                    }
                }
                self.update_interest();
            }
            PeerCmd::Wanted => {
                self.recount_wanted();
                self.update_interest();
            }
            PeerCmd::Choke => self.set_choking(true),
            PeerCmd::Unchoke => self.set_choking(false),
            PeerCmd::Cancel(b) => {
                if self.in_flight.remove(&b) {
                    self.send(&Message::Cancel(b));
                }
            }
            PeerCmd::Disconnect => {}
        }
    }

    fn set_choking(&mut self, choke: bool) {
        if choke == self.am_choking {
            return;
        }
        self.am_choking = choke;
        if choke {
            self.send(&Message::Choke);
            let dropped = self.upload.clear_queue();
            if self.fast {
                for b in dropped {
                    self.send(&Message::Reject(b));
                }
            }
        } else {
            self.send(&Message::Unchoke);
        }
    }

    /// Pieces the peer has that we lack and want, counted from scratch.
    fn recount_wanted(&mut self) {
        let st = self.shared.lock();
        self.wanted_from_peer = self
            .peer_pieces
            .iter_ones()
            .filter(|&i| st.picker.wants(i))
            .count();
    }

    fn update_interest(&mut self) {
        let want = self.wanted_from_peer > 0;
        if want != self.am_interested {
            self.am_interested = want;
            self.send(if want {
                &Message::Interested
            } else {
                &Message::NotInterested
            });
        }
    }

    /// Keeps the request pipeline full while the peer lets us download.
    fn fill_requests(&mut self) {
        if self.peer_choking || !self.am_interested {
            return;
        }
        // The disk is behind: wait for verified pieces (their HAVE wakes us).
        let unverified = self.shared.unverified_bytes.load(Ordering::Relaxed);
        if unverified >= super::torrent::MAX_UNVERIFIED_BYTES {
            return;
        }
        // What is asked for lands in memory until the disk has it: ask for
        // no more than the room left under the unverified bound, so a fast
        // link in front of a slow disk does not pile up data.
        let room = (super::torrent::MAX_UNVERIFIED_BYTES - unverified) as usize;
        let block = p2p_proto::wire::BLOCK_LEN as usize;
        let depth = self.pipeline_depth().min((room / block).max(MIN_PIPELINE));
        // Ask in batches of a quarter pipeline: one request write wakes the
        // peer for many blocks instead of one or two.
        let batch = (depth / 4).clamp(1, MAX_REQUEST_BATCH);
        if self.in_flight.len() + batch > depth {
            return;
        }
        tracing::trace!(
            depth,
            in_flight = self.in_flight.len(),
            rate = self.recent_rate,
            "asking"
        );
        let mut picked = std::mem::take(&mut self.picked);
        picked.clear();
        {
            let asked = &self.in_flight;
            let mut st = self.shared.lock();
            st.picker.pick(
                self.key,
                &self.peer_pieces,
                &|b| asked.contains(b),
                depth - self.in_flight.len(),
                &mut picked,
            );
        }
        if self.in_flight.is_empty() && !picked.is_empty() {
            self.last_block_at = Instant::now();
        }
        let now = Instant::now();
        for b in &picked {
            self.in_flight.insert(*b, now);
            self.outbox.push(&Message::Request(*b));
        }
        self.picked = picked;
    }

    /// Blocks to keep in flight: [`PIPELINE_SECONDS`] at the peer's rate,
    /// bounded by [`MAX_IN_FLIGHT_BYTES`] and an eighth below its `reqq`:
    /// Transmission drops, without a reject, a request that finds its queue
    /// full by its own count, and one such lost block held up the end of a
    /// download for 4 to 6 s. The rate is the higher of the last 100 ms (a
    /// transfer's start) and the last second (a bursty seeder's quiet
    /// moments). A slow or snubbing peer's rate, and so its pipeline, falls
    /// to the minimum.
    fn pipeline_depth(&self) -> usize {
        let second = self.stats.download_rate.load(Ordering::Relaxed);
        let rate = self.recent_rate.max(second) as f64;
        let block = p2p_proto::wire::BLOCK_LEN as usize;
        let depth = (rate * PIPELINE_SECONDS / block as f64) as usize;
        depth
            .clamp(MIN_PIPELINE, MAX_IN_FLIGHT_BYTES / block)
            .min((self.peer_reqq - self.peer_reqq / 8).max(1))
    }

    fn on_tick(&mut self) -> Result<(), PeerError> {
        let now = Instant::now();
        self.sample_recent_rate(now);
        let down = self.stats.downloaded.load(Ordering::Relaxed);
        let up = self.stats.uploaded.load(Ordering::Relaxed);
        self.stats
            .download_rate
            .store(down - self.sample.0, Ordering::Relaxed);
        self.stats
            .upload_rate
            .store(up - self.sample.1, Ordering::Relaxed);
        self.sample = (down, up);
        if now.duration_since(self.last_recv_at) > IDLE_TIMEOUT {
            return Err(PeerError::Violation("silent for too long".into()));
        }
        if now.duration_since(self.last_send_at) > KEEPALIVE_AFTER && self.outbox.is_empty() {
            self.send(&Message::KeepAlive);
            self.last_send_at = now;
        }
        self.send_pex(now);
        let snubbed =
            !self.in_flight.is_empty() && now.duration_since(self.last_block_at) > SNUB_AFTER;
        self.stats.snubbed.store(snubbed, Ordering::Relaxed);
        if snubbed {
            // Give its blocks to other peers; it may still deliver late.
            let mut st = self.shared.lock();
            for b in self.in_flight.drain() {
                st.picker.cancelled(b);
            }
        }
        let dropped = self.in_flight.take_dropped(now);
        if !dropped.is_empty() {
            tracing::debug!(
                blocks = dropped.len(),
                "requests dropped by the peer without a reject: asking again"
            );
            let mut st = self.shared.lock();
            for b in &dropped {
                st.picker.cancelled(*b);
            }
            drop(st);
            for b in &dropped {
                self.send(&Message::Cancel(*b));
            }
        }
        let complete = self.shared.lock().picker.is_complete();
        if complete && self.peer_pieces.all() {
            return Err(PeerError::Violation("both sides are seeds".into()));
        }
        Ok(())
    }
}
