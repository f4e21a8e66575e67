//! Which blocks to ask a peer for next, and assembly of the blocks that come
//! back (assembly.rs). Random pieces first (to have something to trade
//! quickly), then rarest first; pieces already started are finished first;
//! at the tail (endgame) blocks still in flight are asked of a second peer.
//! Pieces of high-priority files go before normal ones, normal before low;
//! pieces of skipped files only are never started. In sequential
//! (streaming) mode, the first and last pieces of media files come first,
//! then the pieces in order: a small read-ahead window from the first
//! missing one, rarest first inside it.
//! Pure logic: no I/O, no clock; randomness comes from a seed.

use std::collections::BTreeMap;

use p2p_proto::bitfield::Bitfield;
use p2p_proto::ipc::FilePriority;
use p2p_proto::wire::{BLOCK_LEN, BlockRef};

use super::piecebuf::PieceBuf;

/// Pieces picked at random before switching to rarest first.
const RANDOM_FIRST_PIECES: usize = 4;
/// Bytes of piece buffers kept for reuse (at least two buffers): enough
/// for every piece in flight and in the disk queue of a fast download, so
/// new buffers (and fresh pages) are rare.
const SPARE_BYTES: u64 = 16 << 20;
/// Most peers asked for the same block in endgame.
const MAX_ENDGAME_DUPLICATES: u8 = 2;
/// Bytes of the sequential read-ahead window: pieces inside it are taken
/// rarest first (so a swarm still spreads them), none past it while one
/// inside can be had.
const READ_AHEAD_BYTES: u64 = 4 << 20;
/// Pieces of the read-ahead window, whatever their size.
const READ_AHEAD_PIECES: std::ops::RangeInclusive<usize> = 4..=64;

/// The download state of a torrent's pieces.
#[derive(Debug)]
pub struct Picker {
    piece_length: u64,
    total_length: u64,
    have: Bitfield,
    /// How many connected peers have each piece.
    availability: Vec<u32>,
    /// How many missing pieces have each availability (index = peers):
    /// its first non-zero entry is the rarest a missing piece can be, where
    /// a rarest-first scan can stop.
    rarity: Vec<u32>,
    partial: BTreeMap<u32, Partial>,
    /// Pieces started (in `partial`) or handed out for hashing and not yet
    /// verified or failed: a bitfield, as piece choice tests every piece.
    busy: Bitfield,
    /// Piece buffers back from hashing, reused for new pieces.
    spare: Vec<PieceBuf>,
    rng: u64,
    /// The piece after the last one started: rarest-first ties go to the
    /// first piece from here on, so pieces come in runs that are written
    /// to disk in large sequential writes.
    cursor: usize,
    /// Picks nothing (the torrent waits for disk space).
    paused: bool,
    /// Each piece's priority (see selection): `Skip` pieces are not started.
    priority: Vec<FilePriority>,
    /// Missing pieces that are wanted: none left means done for the user.
    wanted_missing: usize,
    /// The tiers missing pieces were in when priorities were last set, from
    /// high to low: the tiers a new piece is looked for in.
    tiers: Vec<FilePriority>,
    /// Sequential (streaming) mode, when on.
    streaming: Option<Streaming>,
}

/// How sequential mode picks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streaming {
    /// Pieces wanted before all others (the first and last pieces of media
    /// files: a player reads a file's header and often its index at the end).
    pub first: Vec<u32>,
}

#[derive(Debug)]
struct Partial {
    blocks: Vec<BlockState>,
    received: usize,
    data: Option<PieceBuf>,
    /// The peer working on this piece: others leave it alone (outside
    /// endgame), so a bad piece usually has a single, known sender.
    owner: Option<u64>,
    /// Peers that delivered blocks of it.
    contributors: Vec<u64>,
    /// The web seed fetching it whole: peers leave it alone outside
    /// endgame, and its blocks count as asked once.
    web: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockState {
    Missing,
    Requested(u8),
    Received,
}

/// What a received block meant.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Not a block we are missing (late duplicate in endgame, or never asked).
    Unwanted,
    /// Stored; `duplicated` when another peer was asked for it too (send cancels).
    Stored {
        /// Another peer may still be sending it.
        duplicated: bool,
    },
    /// Stored and the piece is whole: its bytes, to verify and write.
    PieceComplete {
        /// The piece.
        index: u32,
        /// All its bytes.
        data: PieceBuf,
        /// Another peer may still be sending the last block.
        duplicated: bool,
        /// Peers that sent its blocks.
        contributors: Vec<u64>,
    },
}

impl Picker {
    /// A picker for a torrent, starting from the pieces already verified.
    pub fn new(piece_length: u64, total_length: u64, have: Bitfield, seed: u64) -> Picker {
        let n = have.len();
        let missing = n - have.count_ones();
        Picker {
            piece_length,
            total_length,
            rarity: vec![(n - have.count_ones()) as u32],
            have,
            availability: vec![0; n],
            partial: BTreeMap::new(),
            busy: Bitfield::new(n),
            spare: Vec::new(),
            rng: seed | 1,
            cursor: 0,
            paused: false,
            wanted_missing: missing,
            priority: vec![FilePriority::Normal; n],
            tiers: vec![FilePriority::Normal],
            streaming: None,
        }
    }

    /// Turns sequential mode on (with its first pieces) or off. Pieces
    /// already started are finished either way.
    pub fn set_streaming(&mut self, streaming: Option<Streaming>) {
        self.streaming = streaming;
    }

    /// Whether sequential mode is on.
    pub fn is_streaming(&self) -> bool {
        self.streaming.is_some()
    }

    /// Sequential mode's settings, when on.
    pub fn streaming(&self) -> Option<&Streaming> {
        self.streaming.as_ref()
    }

    /// Sets each piece's priority (one per piece; a list of another
    /// length is ignored). Pieces already started are finished.
    pub fn set_priorities(&mut self, priority: Vec<FilePriority>) {
        if priority.len() != self.have.len() {
            return;
        }
        self.priority = priority;
        let mut tiers = [false; 4];
        self.wanted_missing = 0;
        for (i, p) in self.priority.iter().enumerate() {
            if !self.have.get(i) && p.wanted() {
                self.wanted_missing += 1;
                tiers[*p as usize] = true;
            }
        }
        self.tiers = FilePriority::ALL
            .into_iter()
            .rev()
            .filter(|p| p.wanted() && tiers[*p as usize])
            .collect();
    }

    /// Whether we lack the piece and want it.
    pub fn wants(&self, index: usize) -> bool {
        !self.have.get(index) && self.priority.get(index).is_some_and(|p| p.wanted())
    }

    /// Every wanted piece is verified: the download is done for the user,
    /// though pieces of skipped files may be missing.
    pub fn is_done(&self) -> bool {
        self.wanted_missing == 0
    }

    /// Missing pieces that are wanted.
    pub fn wanted_missing(&self) -> usize {
        self.wanted_missing
    }

    /// While paused (the disk is full), [`Picker::pick`] picks nothing.
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// Verified pieces.
    pub fn have(&self) -> &Bitfield {
        &self.have
    }

    /// Every piece verified.
    pub fn is_complete(&self) -> bool {
        self.have.all()
    }

    /// Bytes of a piece.
    pub fn piece_size(&self, index: u32) -> u64 {
        let start = u64::from(index) * self.piece_length;
        self.total_length
            .saturating_sub(start)
            .min(self.piece_length)
    }

    fn block_count(&self, index: u32) -> usize {
        self.piece_size(index).div_ceil(u64::from(BLOCK_LEN)) as usize
    }

    fn block_ref(&self, index: u32, block: usize) -> BlockRef {
        let begin = block as u64 * u64::from(BLOCK_LEN);
        let length = self
            .piece_size(index)
            .saturating_sub(begin)
            .min(u64::from(BLOCK_LEN));
        BlockRef {
            index,
            begin: begin as u32,
            length: length as u32,
        }
    }

    /// A peer joined with these pieces.
    pub fn add_peer(&mut self, pieces: &Bitfield) {
        for i in pieces.iter_ones() {
            self.change_availability(i, true);
        }
    }

    /// A peer left; `pieces` is what it had.
    pub fn remove_peer(&mut self, pieces: &Bitfield) {
        for i in pieces.iter_ones() {
            self.change_availability(i, false);
        }
    }

    /// A peer announced one more piece.
    pub fn peer_has(&mut self, index: u32) {
        self.change_availability(index as usize, true);
    }

    fn change_availability(&mut self, i: usize, up: bool) {
        let Some(a) = self.availability.get_mut(i) else {
            return;
        };
        let before = *a as usize;
        if up {
            *a += 1;
        } else if *a > 0 {
            *a -= 1;
        } else {
            return;
        }
        let after = *a as usize;
        if !self.have.get(i) {
            if self.rarity.len() <= after {
                self.rarity.resize(after + 1, 0);
            }
            self.rarity[before] -= 1;
            self.rarity[after] += 1;
        }
    }

    /// The lowest availability of a missing piece.
    fn rarest_missing(&self) -> u32 {
        self.rarity.iter().position(|&c| c > 0).unwrap_or(0) as u32
    }

    /// Whether the peer has a piece we lack.
    #[cfg(test)]
    pub fn is_interesting(&self, peer: &Bitfield) -> bool {
        peer.iter_ones().any(|i| !self.have.get(i))
    }

    /// Appends up to `max` blocks to ask `peer` for. `asked` says whether
    /// this peer was already asked for a block and has not delivered it.
    pub fn pick(
        &mut self,
        key: u64,
        peer: &Bitfield,
        asked: &dyn Fn(&BlockRef) -> bool,
        max: usize,
        out: &mut Vec<BlockRef>,
    ) {
        if self.paused {
            return;
        }
        let start_len = out.len();
        // 1. Finish pieces already started by this peer or left by one that went away.
        let started: Vec<u32> = self
            .partial
            .iter()
            .filter(|(i, p)| {
                p.web.is_none() && p.owner.is_none_or(|o| o == key) && peer.get(**i as usize)
            })
            .map(|(i, _)| *i)
            .collect();
        for index in started {
            if out.len() - start_len >= max {
                return;
            }
            if let Some(p) = self.partial.get_mut(&index) {
                p.owner = Some(key);
            }
            self.take_missing(index, max - (out.len() - start_len), out);
        }
        // 2. Start new pieces: random at first, then rarest.
        while out.len() - start_len < max {
            let Some(index) = self.choose_new_piece(peer) else {
                break;
            };
            let blocks = self.block_count(index);
            self.busy.set(index as usize, true);
            self.partial.insert(
                index,
                Partial {
                    blocks: vec![BlockState::Missing; blocks],
                    received: 0,
                    data: None,
                    owner: Some(key),
                    contributors: Vec::new(),
                    web: None,
                },
            );
            self.take_missing(index, max - (out.len() - start_len), out);
        }
        // 3. Endgame: nothing new to ask for, so double up on blocks in flight.
        if out.len() == start_len && !self.has_unrequested(key, peer) {
            self.endgame(peer, asked, max, out);
        }
    }

    fn take_missing(&mut self, index: u32, max: usize, out: &mut Vec<BlockRef>) {
        let mut taken = 0;
        let mut picked = Vec::new();
        if let Some(p) = self.partial.get_mut(&index) {
            for (b, state) in p.blocks.iter_mut().enumerate() {
                if taken == max {
                    break;
                }
                if *state == BlockState::Missing {
                    *state = BlockState::Requested(1);
                    picked.push(b);
                    taken += 1;
                }
            }
        }
        out.extend(picked.into_iter().map(|b| self.block_ref(index, b)));
    }

    fn has_unrequested(&self, key: u64, peer: &Bitfield) -> bool {
        self.partial.iter().any(|(&i, p)| {
            peer.get(i as usize)
                && p.web.is_none()
                && p.owner.is_none_or(|o| o == key)
                && p.blocks.contains(&BlockState::Missing)
        }) || peer.iter_ones().any(|i| self.is_untouched(i as u32))
    }

    /// Missing and wanted, and neither being downloaded nor being verified.
    fn is_untouched(&self, index: u32) -> bool {
        self.wants(index as usize) && !self.busy.get(index as usize)
    }

    fn endgame(
        &mut self,
        peer: &Bitfield,
        asked: &dyn Fn(&BlockRef) -> bool,
        max: usize,
        out: &mut Vec<BlockRef>,
    ) {
        let mut picked = Vec::new();
        for (&index, p) in &mut self.partial {
            if !peer.get(index as usize) {
                continue;
            }
            for (b, state) in p.blocks.iter_mut().enumerate() {
                if picked.len() == max {
                    break;
                }
                if let BlockState::Requested(n) = state
                    && *n < MAX_ENDGAME_DUPLICATES
                {
                    picked.push((index, b, state));
                }
            }
        }
        let mut refs = Vec::new();
        for (index, b, state) in picked {
            let begin = b as u64 * u64::from(BLOCK_LEN);
            let size = {
                let start = u64::from(index) * self.piece_length;
                self.total_length
                    .saturating_sub(start)
                    .min(self.piece_length)
            };
            let r = BlockRef {
                index,
                begin: begin as u32,
                length: (size - begin).min(u64::from(BLOCK_LEN)) as u32,
            };
            if asked(&r) {
                continue;
            }
            if let BlockState::Requested(n) = state {
                *n += 1;
            }
            refs.push(r);
        }
        out.extend(refs);
    }

    fn choose_new_piece(&mut self, peer: &Bitfield) -> Option<u32> {
        let n = self.have.len();
        if n == 0 {
            return None;
        }
        if let Some(s) = &self.streaming {
            let pick = self.choose_in_order(s, peer);
            if let Some(i) = pick {
                self.cursor = i as usize + 1;
            }
            return pick;
        }
        let random_phase = self.have.count_ones() < RANDOM_FIRST_PIECES;
        let offset = if random_phase {
            (self.next_random() % n as u64) as usize
        } else {
            self.cursor % n
        };
        let single_tier = self.tiers.len() == 1;
        let mut pick = None;
        for tier in self.tiers.clone() {
            let candidates = (0..n).map(|k| (k + offset) % n).filter(|&i| {
                peer.get(i)
                    && self.is_untouched(i as u32)
                    && (single_tier || self.priority[i] == tier)
            });
            pick = if random_phase {
                candidates.into_iter().next()
            } else {
                self.rarest(candidates)
            };
            if pick.is_some() {
                break;
            }
        }
        if let Some(i) = pick {
            self.cursor = i + 1;
        }
        pick.map(|i| i as u32)
    }

    /// Sequential mode's choice: a first piece of a media file, else the
    /// rarest in the read-ahead window from the first wanted missing piece
    /// (ties to the earliest), else the next piece in order past it.
    fn choose_in_order(&self, streaming: &Streaming, peer: &Bitfield) -> Option<u32> {
        let can_start = |i: usize| peer.get(i) && self.is_untouched(i as u32);
        if let Some(&i) = streaming.first.iter().find(|&&i| can_start(i as usize)) {
            return Some(i);
        }
        let n = self.have.len();
        let from = (0..n).find(|&i| self.wants(i))?;
        let window = (READ_AHEAD_BYTES / self.piece_length.max(1)) as usize;
        let window = window.clamp(*READ_AHEAD_PIECES.start(), *READ_AHEAD_PIECES.end());
        // The window counts wanted pieces, so a skipped file inside it does
        // not shrink what is read ahead.
        let end = (from..n)
            .filter(|&i| self.wants(i))
            .nth(window)
            .unwrap_or(n);
        self.rarest((from..end).filter(|&i| can_start(i)))
            .or_else(|| (end..n).find(|&i| can_start(i)))
            .map(|i| i as u32)
    }

    /// Rarest first; ties go to the first candidate. The scan stops at a
    /// piece as rare as the rarest missing one (when all are equally
    /// common, that is the first candidate): no wanted piece is rarer.
    fn rarest(&self, candidates: impl Iterator<Item = usize>) -> Option<usize> {
        let floor = self.rarest_missing();
        let mut best: Option<(usize, u32)> = None;
        for i in candidates {
            let a = self.availability[i];
            if best.is_none_or(|(_, b)| a < b) {
                best = Some((i, a));
                if a <= floor {
                    break;
                }
            }
        }
        best.map(|(i, _)| i)
    }

    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// Takes back a piece buffer after hashing (a few are kept).
    pub fn recycle(&mut self, buf: PieceBuf) {
        let keep = (SPARE_BYTES / self.piece_length.max(1)).max(2) as usize;
        if self.spare.len() < keep {
            self.spare.push(buf);
        }
    }

    /// A request will not be answered (choke, reject, timeout, disconnect).
    /// The piece is released for other peers to finish.
    pub fn cancelled(&mut self, block: BlockRef) {
        let Some(p) = self.partial.get_mut(&block.index) else {
            return;
        };
        p.owner = None;
        let b = (block.begin / BLOCK_LEN) as usize;
        if let Some(state @ BlockState::Requested(_)) = p.blocks.get_mut(b) {
            *state = match *state {
                BlockState::Requested(n) if n > 1 => BlockState::Requested(n - 1),
                _ => BlockState::Missing,
            };
        }
    }

    /// Claims a whole piece for the web seed `key` and gives a zeroed
    /// buffer for it: a piece no peer works on, those fewest peers have
    /// first (ties go to the first from `from` on), else one that peers
    /// started and left. Peers leave it alone until endgame, when they may
    /// double up on its blocks.
    pub fn claim_for_web_seed(&mut self, key: u64, from: u32) -> Option<(u32, PieceBuf)> {
        let n = self.have.len();
        if self.paused || n == 0 {
            return None;
        }
        let mut best: Option<(usize, u32)> = None;
        for i in (0..n).map(|k| (k + from as usize) % n) {
            if !self.is_untouched(i as u32) {
                continue;
            }
            let a = self.availability[i];
            if best.is_none_or(|(_, b)| a < b) {
                best = Some((i, a));
                if a == 0 {
                    break;
                }
            }
        }
        let index = match best {
            Some((i, _)) => i as u32,
            None => {
                *self
                    .partial
                    .iter()
                    .find(|(_, p)| {
                        p.web.is_none()
                            && p.owner.is_none()
                            && !p
                                .blocks
                                .iter()
                                .any(|b| matches!(b, BlockState::Requested(_)))
                    })?
                    .0
            }
        };
        let blocks = self.block_count(index);
        self.busy.set(index as usize, true);
        let p = self.partial.entry(index).or_insert_with(|| Partial {
            blocks: vec![BlockState::Missing; blocks],
            received: 0,
            data: None,
            owner: None,
            contributors: Vec::new(),
            web: None,
        });
        // What peers sent of it is superseded by the whole piece: were the
        // web seed to give it up, peers would start it afresh.
        p.web = Some(key);
        p.blocks.fill(BlockState::Requested(1));
        p.received = 0;
        p.contributors.clear();
        let started = p.data.take();
        let size = self.piece_size(index) as usize;
        let buf = match started.or_else(|| {
            let i = self.spare.iter().position(|b| b.len() == size)?;
            Some(self.spare.swap_remove(i))
        }) {
            Some(mut b) => {
                // Pad-file bytes are never fetched: they must be zeros.
                b.fill(0);
                b
            }
            None => PieceBuf::zeroed(size),
        };
        Some((index, buf))
    }

    /// The web seed `key` has every byte of its piece: true when the piece
    /// is still its own to hand in (peers did not complete it first).
    pub fn web_seed_done(&mut self, key: u64, index: u32) -> bool {
        if self.partial.get(&index).is_none_or(|p| p.web != Some(key)) {
            return false;
        }
        if let Some(p) = self.partial.remove(&index)
            && let Some(data) = p.data
        {
            self.recycle(data);
        }
        true
    }

    /// The web seed `key` could not fetch its piece: peers may finish it,
    /// or anyone may start it again.
    pub fn web_seed_released(&mut self, key: u64, index: u32) {
        let Some(p) = self.partial.get_mut(&index) else {
            return;
        };
        if p.web != Some(key) {
            return;
        }
        p.web = None;
        for b in &mut p.blocks {
            if let BlockState::Requested(n) = *b {
                *b = if n > 1 {
                    BlockState::Requested(n - 1)
                } else {
                    BlockState::Missing
                };
            }
        }
        if p.received == 0 && p.blocks.iter().all(|b| *b == BlockState::Missing) {
            self.partial.remove(&index);
            self.busy.set(index as usize, false);
        }
    }

    /// A completed piece passed its hash check and is on disk.
    pub fn verified(&mut self, index: u32) {
        let i = index as usize;
        if i < self.have.len() && !self.have.get(i) {
            self.rarity[self.availability[i] as usize] -= 1;
            if self.priority[i].wanted() {
                self.wanted_missing -= 1;
            }
        }
        self.have.set(i, true);
        self.partial.remove(&index);
        self.busy.set(index as usize, false);
    }

    /// A completed piece failed its hash check: it will be downloaded again.
    pub fn failed(&mut self, index: u32) {
        self.partial.remove(&index);
        self.busy.set(index as usize, false);
    }
}

mod assembly;
#[cfg(test)]
mod tests;
