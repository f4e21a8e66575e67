//! Length-prefixed peer messages: BEP 3 (<https://www.bittorrent.org/beps/bep_0003.html>),
//! the Fast extension of BEP 6 (<https://www.bittorrent.org/beps/bep_0006.html>)
//! and the BEP 10 envelope (<https://www.bittorrent.org/beps/bep_0010.html>).
//!
//! The decoder borrows from the caller's buffer and never allocates; it
//! checks framing (length prefix, fixed sizes) and nothing else. Must not
//! judge content: whether a request is too big or a piece index exists is
//! the engine's call.

use super::{Decoded, WireError};

const CHOKE: u8 = 0;
const UNCHOKE: u8 = 1;
const INTERESTED: u8 = 2;
const NOT_INTERESTED: u8 = 3;
const HAVE: u8 = 4;
const BITFIELD: u8 = 5;
const REQUEST: u8 = 6;
const PIECE: u8 = 7;
const CANCEL: u8 = 8;
const PORT: u8 = 9;
const SUGGEST: u8 = 13;
const HAVE_ALL: u8 = 14;
const HAVE_NONE: u8 = 15;
const REJECT: u8 = 16;
const ALLOWED_FAST: u8 = 17;
const EXTENDED: u8 = 20;

/// Bytes of a `piece` message before its data, after the length prefix:
/// id, index, begin.
const PIECE_HEADER_AFTER_PREFIX: usize = 9;

/// One block of one piece, as `request`, `cancel` and `reject` name it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct BlockRef {
    /// Piece index.
    pub index: u32,
    /// Byte offset within the piece.
    pub begin: u32,
    /// Bytes in the block.
    pub length: u32,
}

/// A peer wire message. Variable-size contents borrow from the buffer it
/// was decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// A zero-length message (BEP 3), sent to keep an idle connection open.
    KeepAlive,
    /// `choke` (id 0): the sender will not answer our requests.
    Choke,
    /// `unchoke` (id 1): the sender will answer our requests.
    Unchoke,
    /// `interested` (id 2).
    Interested,
    /// `not interested` (id 3).
    NotInterested,
    /// `have` (id 4): the sender now has this piece.
    Have(u32),
    /// `bitfield` (id 5): the sender's pieces, in wire form (check it with
    /// [`crate::bitfield::Bitfield::from_bytes`]).
    Bitfield(&'a [u8]),
    /// `request` (id 6). Its length is not checked here: 0 or more than
    /// [`super::MAX_REQUEST_LEN`] decodes fine, and the engine refuses it.
    Request(BlockRef),
    /// `piece` (id 7): a block of data.
    Piece {
        /// Piece index.
        index: u32,
        /// Byte offset within the piece.
        begin: u32,
        /// The block's bytes.
        data: &'a [u8],
    },
    /// `cancel` (id 8): withdraw a request.
    Cancel(BlockRef),
    /// `port` (id 9): the sender's DHT port (BEP 5).
    Port(u16),
    /// `suggest piece` (id 13, BEP 6).
    Suggest(u32),
    /// `have all` (id 14, BEP 6): instead of a full bitfield.
    HaveAll,
    /// `have none` (id 15, BEP 6): instead of an empty bitfield.
    HaveNone,
    /// `reject request` (id 16, BEP 6): a request that will not be answered.
    Reject(BlockRef),
    /// `allowed fast` (id 17, BEP 6): a piece we may request while choked.
    AllowedFast(u32),
    /// `extended` (id 20, BEP 10): extended id 0 is the extension handshake,
    /// others are the ids we advertised in ours.
    Extended {
        /// The extended message id.
        id: u8,
        /// The rest of the message.
        payload: &'a [u8],
    },
    /// An id we do not know; the caller ignores it (BEP 3 clients must
    /// tolerate extensions). Encoding one with a known id writes that id
    /// as-is, so it will decode as the known message.
    Unknown {
        /// The message id.
        id: u8,
        /// Everything after the id.
        payload: &'a [u8],
    },
}

impl<'a> Message<'a> {
    /// Decodes one message from the start of `buf`.
    ///
    /// A length prefix above `max_len` is refused as soon as the prefix is
    /// there, and a fixed-size message with the wrong length as soon as its
    /// id is, without waiting for the body. A partial message is
    /// `NeedMore`, never an error. Never allocates; never panics.
    pub fn decode(buf: &'a [u8], max_len: usize) -> Result<Decoded<Message<'a>>, WireError> {
        let Some(prefix) = buf.first_chunk::<4>() else {
            return Ok(Decoded::NeedMore(4 - buf.len()));
        };
        let len = u32::from_be_bytes(*prefix);
        let body_len = len as usize;
        if body_len > max_len {
            return Err(WireError::MessageTooLong { len, max: max_len });
        }
        if len == 0 {
            return Ok(Decoded::Done(Message::KeepAlive, 4));
        }
        let total = body_len.saturating_add(4);
        if let Some(&id) = buf.get(4) {
            check_length(id, len)?;
        }
        let Some(frame) = buf.get(4..total) else {
            return Ok(Decoded::NeedMore(total - buf.len()));
        };
        let (&id, body) = frame
            .split_first()
            .ok_or(WireError::BadLength { id: 0, len })?;
        Ok(Decoded::Done(parse(id, len, body)?, total))
    }

    /// Appends this message, length prefix included, to `out`.
    ///
    /// # Panics
    /// If a payload is 4 GiB or more, which no message can carry.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        match *self {
            Message::KeepAlive => out.extend_from_slice(&0u32.to_be_bytes()),
            Message::Choke => header(out, CHOKE, 0),
            Message::Unchoke => header(out, UNCHOKE, 0),
            Message::Interested => header(out, INTERESTED, 0),
            Message::NotInterested => header(out, NOT_INTERESTED, 0),
            Message::HaveAll => header(out, HAVE_ALL, 0),
            Message::HaveNone => header(out, HAVE_NONE, 0),
            Message::Have(i) => with_u32(out, HAVE, i),
            Message::Suggest(i) => with_u32(out, SUGGEST, i),
            Message::AllowedFast(i) => with_u32(out, ALLOWED_FAST, i),
            Message::Request(b) => with_block(out, REQUEST, b),
            Message::Cancel(b) => with_block(out, CANCEL, b),
            Message::Reject(b) => with_block(out, REJECT, b),
            Message::Port(p) => {
                header(out, PORT, 2);
                out.extend_from_slice(&p.to_be_bytes());
            }
            Message::Bitfield(bits) => {
                header(out, BITFIELD, bits.len());
                out.extend_from_slice(bits);
            }
            Message::Piece { index, begin, data } => {
                write_piece_header(index, begin, data.len(), out);
                out.extend_from_slice(data);
            }
            Message::Extended { id, payload } => {
                header(out, EXTENDED, 1 + payload.len());
                out.push(id);
                out.extend_from_slice(payload);
            }
            Message::Unknown { id, payload } => {
                header(out, id, payload.len());
                out.extend_from_slice(payload);
            }
        }
    }

    /// Bytes [`Message::encode`] appends, length prefix included.
    pub fn encoded_len(&self) -> usize {
        let after_prefix = match self {
            Message::KeepAlive => 0,
            Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => 1,
            Message::Have(_) | Message::Suggest(_) | Message::AllowedFast(_) => 5,
            Message::Request(_) | Message::Cancel(_) | Message::Reject(_) => 13,
            Message::Port(_) => 3,
            Message::Bitfield(bits) => 1 + bits.len(),
            Message::Piece { data, .. } => PIECE_HEADER_AFTER_PREFIX + data.len(),
            Message::Extended { payload, .. } => 2 + payload.len(),
            Message::Unknown { payload, .. } => 1 + payload.len(),
        };
        4 + after_prefix
    }
}

/// Bytes of a `piece` message before its data: length prefix, id, index, begin.
pub const PIECE_HEADER_LEN: usize = 4 + PIECE_HEADER_AFTER_PREFIX;

/// The block a `piece` message carries, read from the message's first
/// [`PIECE_HEADER_LEN`] bytes at the start of `buf` (what
/// [`encode_piece_header`] writes); `None` when `buf` is shorter or starts
/// with any other message. For a reader that guessed which block comes next
/// and read its data straight into place: the header alone says whether
/// the guess was right. Framing only, like [`Message::decode`]: the caller
/// compares the block with the one it expects, whose length it bounds.
pub fn decode_piece_header(buf: &[u8]) -> Option<BlockRef> {
    let header = buf.first_chunk::<PIECE_HEADER_LEN>()?;
    let len = u32_at(header, 0)?;
    if header[4] != PIECE || (len as usize) < PIECE_HEADER_AFTER_PREFIX {
        return None;
    }
    Some(BlockRef {
        index: u32_at(header, 5)?,
        begin: u32_at(header, 9)?,
        length: len - PIECE_HEADER_AFTER_PREFIX as u32,
    })
}

/// Appends the 13-byte header of a `piece` message (length prefix, id 7,
/// index, begin) for `data_len` bytes of data, so a seeder can read file
/// bytes straight into `out` after it without an extra copy.
///
/// # Panics
/// If `data_len` is within 9 of `u32::MAX`, which no message can carry.
pub fn encode_piece_header(index: u32, begin: u32, data_len: u32, out: &mut Vec<u8>) {
    write_piece_header(index, begin, data_len as usize, out);
}

fn write_piece_header(index: u32, begin: u32, data_len: usize, out: &mut Vec<u8>) {
    header(out, PIECE, PIECE_HEADER_AFTER_PREFIX - 1 + data_len);
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(&begin.to_be_bytes());
}

/// Refuses a length that cannot belong to message `id` (length includes the id byte).
fn check_length(id: u8, len: u32) -> Result<(), WireError> {
    let ok = match id {
        CHOKE | UNCHOKE | INTERESTED | NOT_INTERESTED | HAVE_ALL | HAVE_NONE => len == 1,
        HAVE | SUGGEST | ALLOWED_FAST => len == 5,
        REQUEST | CANCEL | REJECT => len == 13,
        PORT => len == 3,
        PIECE => len as usize >= PIECE_HEADER_AFTER_PREFIX,
        EXTENDED => len >= 2,
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(WireError::BadLength { id, len })
    }
}

/// Builds the message from its id and the bytes after it; the length has
/// already been checked against the id, and is re-checked by the slicing.
fn parse(id: u8, len: u32, body: &[u8]) -> Result<Message<'_>, WireError> {
    let bad = || WireError::BadLength { id, len };
    Ok(match id {
        CHOKE => Message::Choke,
        UNCHOKE => Message::Unchoke,
        INTERESTED => Message::Interested,
        NOT_INTERESTED => Message::NotInterested,
        HAVE_ALL => Message::HaveAll,
        HAVE_NONE => Message::HaveNone,
        HAVE => Message::Have(u32_at(body, 0).ok_or_else(bad)?),
        SUGGEST => Message::Suggest(u32_at(body, 0).ok_or_else(bad)?),
        ALLOWED_FAST => Message::AllowedFast(u32_at(body, 0).ok_or_else(bad)?),
        REQUEST => Message::Request(block_ref(body).ok_or_else(bad)?),
        CANCEL => Message::Cancel(block_ref(body).ok_or_else(bad)?),
        REJECT => Message::Reject(block_ref(body).ok_or_else(bad)?),
        PORT => Message::Port(u16::from_be_bytes(*body.first_chunk().ok_or_else(bad)?)),
        BITFIELD => Message::Bitfield(body),
        PIECE => {
            let data = body.get(8..).ok_or_else(bad)?;
            Message::Piece {
                index: u32_at(body, 0).ok_or_else(bad)?,
                begin: u32_at(body, 4).ok_or_else(bad)?,
                data,
            }
        }
        EXTENDED => {
            let (&ext_id, payload) = body.split_first().ok_or_else(bad)?;
            Message::Extended {
                id: ext_id,
                payload,
            }
        }
        _ => Message::Unknown { id, payload: body },
    })
}

fn u32_at(body: &[u8], at: usize) -> Option<u32> {
    let bytes = body.get(at..)?.first_chunk::<4>()?;
    Some(u32::from_be_bytes(*bytes))
}

fn block_ref(body: &[u8]) -> Option<BlockRef> {
    Some(BlockRef {
        index: u32_at(body, 0)?,
        begin: u32_at(body, 4)?,
        length: u32_at(body, 8)?,
    })
}

/// Appends a length prefix (id byte plus `payload_len`) and the id.
fn header(out: &mut Vec<u8>, id: u8, payload_len: usize) {
    let Ok(len) = u32::try_from(payload_len + 1) else {
        panic!("a peer message payload of {payload_len} bytes cannot be framed");
    };
    out.extend_from_slice(&len.to_be_bytes());
    out.push(id);
}

fn with_u32(out: &mut Vec<u8>, id: u8, value: u32) {
    header(out, id, 4);
    out.extend_from_slice(&value.to_be_bytes());
}

fn with_block(out: &mut Vec<u8>, id: u8, b: BlockRef) {
    header(out, id, 12);
    for v in [b.index, b.begin, b.length] {
        out.extend_from_slice(&v.to_be_bytes());
    }
}
