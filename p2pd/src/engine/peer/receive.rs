//! Reading from a peer: the bytes read and not yet parsed, and reads that
//! put the blocks the peer should send next straight into their pieces.
//!
//! A peer sends blocks in the order we asked for them. A read guesses the
//! next ones and gives the kernel, for each, a place for the 13-byte
//! `piece` header and the block's own place in its piece buffer, so a
//! block is copied once (socket to piece) instead of twice (socket to read
//! buffer to piece: 7 % of a loopback download's CPU). Each header is then
//! checked with the wire decoder; from the first that is not the guessed
//! block on, the bytes go back into the read buffer and are parsed as
//! usual. A wrong guess costs a copy, never a wrong byte in a received
//! block (see [`Picker::slots_mut`](super::super::picker::Picker::slots_mut)).
//!
//! Only a plaintext TCP link is read this way; over uTP or RC4 the bytes
//! come through [`Reader::read`] into the read buffer and are parsed there.

use std::io::{self, IoSliceMut};

use p2p_proto::wire::{BlockRef, PIECE_HEADER_LEN, decode_piece_header};
use tokio::net::tcp::OwnedReadHalf;

use super::super::transport::Reader;
use super::{Conn, PeerError, READ_CHUNK};

/// Most blocks guessed in one read (512 KiB): the torrent's lock is held
/// while the kernel fills them, as long as copying them in took before.
const MAX_GUESSES: usize = 32;
/// Room after the guessed blocks for whatever follows them in one read.
const TAIL_BYTES: usize = 32 * 1024;

/// What a read found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ReadOutcome {
    /// Bytes, parsed.
    Data,
    /// Nothing after all (a stale readiness).
    Empty,
    /// The peer closed the connection.
    Closed,
}

/// What waiting on the peer gave.
#[derive(Debug)]
pub(super) enum Arrival {
    /// The plaintext TCP socket has bytes: [`Conn::on_arrival`] reads them.
    Readable,
    /// This many bytes were read into the read buffer (0: the end).
    Read(usize),
}

/// Waits for bytes from the peer. Cancel-safe: nothing is read, or what
/// was read is in `rbuf`.
pub(super) async fn arrival(r: &mut Reader, rbuf: &mut RecvBuf) -> io::Result<Arrival> {
    if let Some(tcp) = r.plain_tcp() {
        tcp.readable().await?;
        return Ok(Arrival::Readable);
    }
    let n = r.read(rbuf.spare(READ_CHUNK / 4)).await?;
    rbuf.filled(n);
    Ok(Arrival::Read(n))
}

/// Bytes read from the peer and not yet parsed: at most one partial
/// message once parsing is done. Zero-filled once, so reads go into
/// initialised memory.
pub(super) struct RecvBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl RecvBuf {
    pub fn new(capacity: usize) -> RecvBuf {
        RecvBuf {
            buf: vec![0; capacity],
            start: 0,
            end: 0,
        }
    }

    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// At least `min` writable bytes after the data (moved to the front,
    /// or the buffer grown, when there are not).
    fn spare(&mut self, min: usize) -> &mut [u8] {
        if self.buf.len() - self.end < min {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() - self.end < min {
                self.buf.resize(self.end + min, 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// `n` bytes were read into the spare room.
    fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Puts `bytes` before the last `last` bytes of the data.
    fn insert_before_last(&mut self, last: usize, bytes: &[u8]) {
        self.spare(bytes.len());
        let at = self.end - last;
        self.buf.copy_within(at..self.end, at + bytes.len());
        self.buf[at..at + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    /// Bytes that complete the partial message in front: 0 when there is
    /// none, `None` while its length prefix is not all there. Parsing has
    /// checked the length against the cap.
    fn to_complete(&self) -> Option<usize> {
        let data = self.data();
        if data.is_empty() {
            return Some(0);
        }
        let prefix = data.first_chunk::<4>()?;
        let whole = 4 + u32::from_be_bytes(*prefix) as usize;
        Some(whole.saturating_sub(data.len()))
    }
}

impl Conn {
    /// Reads what the socket holds, if [`arrival`] only said it could, and
    /// parses what was read.
    pub(super) fn on_arrival(
        &mut self,
        r: &Reader,
        rbuf: &mut RecvBuf,
        arrival: Arrival,
    ) -> Result<ReadOutcome, PeerError> {
        match arrival {
            Arrival::Read(0) => Ok(ReadOutcome::Closed),
            Arrival::Read(_) => {
                let used = self.parse(rbuf.data())?;
                rbuf.consume(used);
                Ok(ReadOutcome::Data)
            }
            Arrival::Readable => match r.plain_tcp() {
                Some(tcp) => self.read_and_parse(tcp, rbuf),
                None => Ok(ReadOutcome::Empty),
            },
        }
    }

    /// Reads what the socket holds (it said it was readable), and parses it.
    fn read_and_parse(
        &mut self,
        r: &OwnedReadHalf,
        rbuf: &mut RecvBuf,
    ) -> Result<ReadOutcome, PeerError> {
        let mut guesses = std::mem::take(&mut self.guesses);
        guesses.clear();
        let head = rbuf.to_complete();
        if head.is_some() && !self.peer_choking {
            self.in_flight.expected(MAX_GUESSES, &mut guesses);
            skip_the_partial_block(rbuf.data(), &mut guesses);
        }
        let outcome = match head {
            Some(head) if !guesses.is_empty() => self.read_guessed(r, rbuf, head, &mut guesses),
            _ => self.read_plain(r, rbuf),
        };
        self.guesses = guesses;
        outcome
    }

    fn read_plain(
        &mut self,
        r: &OwnedReadHalf,
        rbuf: &mut RecvBuf,
    ) -> Result<ReadOutcome, PeerError> {
        let n = match r.try_read(rbuf.spare(READ_CHUNK / 4)) {
            Ok(0) => return Ok(ReadOutcome::Closed),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadOutcome::Empty),
            Err(e) => return Err(e.into()),
        };
        rbuf.filled(n);
        let used = self.parse(rbuf.data())?;
        rbuf.consume(used);
        Ok(ReadOutcome::Data)
    }

    /// One read: first the `head` bytes that complete the partial message
    /// in `rbuf`, then each guessed block's header and data in place, then
    /// whatever follows, into `rbuf`. Keeps in `guesses` the blocks the
    /// kernel could be given a place for.
    fn read_guessed(
        &mut self,
        r: &OwnedReadHalf,
        rbuf: &mut RecvBuf,
        head: usize,
        guesses: &mut Vec<BlockRef>,
    ) -> Result<ReadOutcome, PeerError> {
        let mut headers = [[0u8; PIECE_HEADER_LEN]; MAX_GUESSES];
        let mut st = self.shared.lock();
        let mut slots: Vec<&mut [u8]> = Vec::with_capacity(guesses.len());
        st.picker.slots_mut(guesses, &mut slots);
        guesses.truncate(slots.len());
        if slots.is_empty() {
            drop(slots);
            drop(st);
            return self.read_plain(r, rbuf);
        }
        let spare = rbuf.spare(head + TAIL_BYTES);
        let (head_buf, rest) = spare.split_at_mut(head);
        let mut iovs: Vec<IoSliceMut<'_>> = Vec::with_capacity(2 * slots.len() + 2);
        if head > 0 {
            iovs.push(IoSliceMut::new(head_buf));
        }
        for (h, slot) in headers.iter_mut().zip(slots.iter_mut()) {
            iovs.push(IoSliceMut::new(h));
            iovs.push(IoSliceMut::new(slot));
        }
        iovs.push(IoSliceMut::new(&mut rest[..TAIL_BYTES]));
        let n = match r.try_read_vectored(&mut iovs) {
            Ok(0) => return Ok(ReadOutcome::Closed),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadOutcome::Empty),
            Err(e) => return Err(e.into()),
        };
        drop(iovs);
        // Where the bytes went, in stream order: the head, then each
        // guess's header and data while the guess holds, then the tail.
        let mut left = n - n.min(head);
        let mut placed = 0;
        let mut stray = Vec::new();
        for (k, b) in guesses.iter().enumerate() {
            if left == 0 {
                break;
            }
            let whole = PIECE_HEADER_LEN + b.length as usize;
            if stray.is_empty() && left >= whole && decode_piece_header(&headers[k]) == Some(*b) {
                placed += 1;
                left -= whole;
                continue;
            }
            // Not the guessed block (or not all of it): from here on the
            // bytes go back to the stream.
            let in_header = left.min(PIECE_HEADER_LEN);
            stray.extend_from_slice(&headers[k][..in_header]);
            left -= in_header;
            let in_slot = left.min(slots[k].len());
            stray.extend_from_slice(&slots[k][..in_slot]);
            left -= in_slot;
        }
        drop(slots);
        drop(st);
        tracing::trace!(
            bytes = n,
            guessed = guesses.len(),
            placed,
            stray = stray.len(),
            "read"
        );
        let tail = left;
        let head_got = n.min(head);
        rbuf.filled(head_got + tail);
        if !stray.is_empty() {
            rbuf.insert_before_last(tail, &stray);
        }
        // In stream order: the message the head completes, the blocks
        // placed, the rest.
        if head_got == head && head > 0 {
            let head_end = rbuf.data().len() - tail - stray.len();
            let used = self.parse(&rbuf.data()[..head_end])?;
            rbuf.consume(used);
        }
        self.blocks_in_place(&guesses[..placed]);
        let used = self.parse(rbuf.data())?;
        rbuf.consume(used);
        Ok(ReadOutcome::Data)
    }

    /// Blocks read in place, in the order they came.
    fn blocks_in_place(&mut self, blocks: &[BlockRef]) {
        let mut asked = Vec::with_capacity(blocks.len());
        for &b in blocks {
            if self.block_arrived(b) {
                asked.push(b);
            }
        }
        if asked.is_empty() {
            return;
        }
        let received: Vec<_> = {
            let mut st = self.shared.lock();
            asked
                .iter()
                .map(|&b| st.picker.received_in_place(self.key, b))
                .collect()
        };
        for (b, r) in asked.into_iter().zip(received) {
            self.settle_block(b, r);
        }
    }
}

/// The partial message in front of the read buffer is the first block
/// still to come when it is a `piece` message for it (by its header, or
/// by its length while the header is not all there): the guesses start
/// after it.
fn skip_the_partial_block(partial: &[u8], guesses: &mut Vec<BlockRef>) {
    if partial.is_empty() {
        return;
    }
    if let Some(b) = decode_piece_header(partial) {
        if let Some(k) = guesses.iter().position(|g| *g == b) {
            guesses.drain(..=k);
        }
        return;
    }
    let Some(prefix) = partial.first_chunk::<4>() else {
        return;
    };
    let len = u32::from_be_bytes(*prefix) as usize;
    if guesses
        .first()
        .is_some_and(|g| len == PIECE_HEADER_LEN - 4 + g.length as usize)
    {
        guesses.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_keeps_its_bytes_in_order_through_moves_growth_and_inserts() {
        let mut b = RecvBuf::new(8);
        b.spare(4)[..4].copy_from_slice(b"abcd");
        b.filled(4);
        b.consume(1);
        assert_eq!(b.data(), b"bcd");
        // Not enough room after the data: moved to the front, then grown.
        let spare = b.spare(20);
        assert!(spare.len() >= 20);
        spare[..3].copy_from_slice(b"xyz");
        b.filled(3);
        assert_eq!(b.data(), b"bcdxyz");
        b.insert_before_last(2, b"123");
        assert_eq!(b.data(), b"bcdx123yz");
        b.consume(9);
        assert_eq!(b.data(), b"");
        assert_eq!(b.to_complete(), Some(0));
    }

    #[test]
    fn the_bytes_to_complete_a_partial_message_come_from_its_length_prefix() {
        let mut b = RecvBuf::new(64);
        b.spare(3)[..3].copy_from_slice(&[0, 0, 0]);
        b.filled(3);
        assert_eq!(b.to_complete(), None, "prefix not all there");
        b.spare(3)[..3].copy_from_slice(&[9, 4, 0]);
        b.filled(3);
        // A 9-byte message (a have), 6 of its 13 bytes there.
        assert_eq!(b.to_complete(), Some(7));
    }

    fn block(index: u32, begin: u32) -> BlockRef {
        BlockRef {
            index,
            begin,
            length: 16384,
        }
    }

    #[test]
    fn guesses_start_after_the_block_whose_message_is_partly_read() {
        let all = [block(1, 0), block(1, 16384), block(1, 32768)];
        let mut header = Vec::new();
        p2p_proto::wire::encode_piece_header(1, 16384, 16384, &mut header);
        let mut g = all.to_vec();
        skip_the_partial_block(&header, &mut g);
        assert_eq!(g, [block(1, 32768)]);
        // Only the length prefix: taken to be the first guess.
        let mut g = all.to_vec();
        skip_the_partial_block(&header[..5], &mut g);
        assert_eq!(g, &all[1..]);
        // Another message in front (a have): the guesses stand.
        let mut g = all.to_vec();
        skip_the_partial_block(&[0, 0, 0, 5, 4, 0], &mut g);
        assert_eq!(g, all);
    }
}
