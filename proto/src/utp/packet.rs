//! The uTP packet ([BEP 29](https://www.bittorrent.org/beps/bep_0029.html)):
//! a 20-byte header, a chain of extensions (selective ACK is extension 1),
//! then the payload. Decoding borrows from the datagram and never
//! allocates; a datagram that does not hold what it claims is an error.
//!
//! Must not know connection state: what a packet means is conn.rs's work.

/// Bytes of the fixed header.
pub const HEADER_BYTES: usize = 20;
/// The only version of the protocol there is.
pub const VERSION: u8 = 1;
/// Extension number of the selective ACK bitmask.
pub const EXT_SELECTIVE_ACK: u8 = 1;
/// Extension number of our "large packets" offer: four bytes, the largest
/// payload the sender takes in one datagram. Not in BEP 29; clients that
/// do not know it skip it (libtorrent does), and a peer that sends none
/// gets packets of the safe size. libtorrent reads datagrams into a
/// 1,500-byte buffer and takes a longer one cut short as whole, so the
/// size cannot be probed by loss: it has to be offered.
pub const EXT_LARGE_PACKETS: u8 = 0x70;
/// Most bytes of selective ACK bitmask we write (256 packets beyond the
/// cumulative ACK), as libtorrent does.
pub const MAX_SACK_BYTES: usize = 32;

/// The five packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// Carries payload.
    Data = 0,
    /// Ends the stream; takes a sequence number.
    Fin = 1,
    /// An acknowledgement without payload.
    State = 2,
    /// Ends the connection at once.
    Reset = 3,
    /// Opens a connection.
    Syn = 4,
}

impl PacketType {
    fn from_nibble(n: u8) -> Option<Self> {
        Some(match n {
            0 => PacketType::Data,
            1 => PacketType::Fin,
            2 => PacketType::State,
            3 => PacketType::Reset,
            4 => PacketType::Syn,
            _ => return None,
        })
    }
}

/// The fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// What the packet is.
    pub ty: PacketType,
    /// The connection id, as the receiver of the packet knows it.
    pub conn_id: u16,
    /// The sender's clock when it sent the packet (microseconds, wrapping).
    pub timestamp_us: u32,
    /// The sender's clock minus the timestamp of the last packet it got
    /// from us: our one-way delay to it, plus a constant clock offset.
    pub timestamp_diff_us: u32,
    /// Bytes the sender can still take in.
    pub wnd_size: u32,
    /// This packet's sequence number.
    pub seq_nr: u16,
    /// The last sequence number the sender got in order.
    pub ack_nr: u16,
}

/// A decoded packet, borrowing from its datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The fixed header.
    pub header: Header,
    /// The selective ACK bitmask, if the packet has one: bit `i` (least
    /// significant first in each byte) says `ack_nr + 2 + i` arrived.
    pub sack: Option<&'a [u8]>,
    /// The sender's offer of large packets ([`EXT_LARGE_PACKETS`]).
    pub large: Option<u32>,
    /// What follows the extensions.
    pub payload: &'a [u8],
}

/// Why a datagram is not a uTP packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Fewer bytes than a header.
    #[error("uTP packet of {0} bytes is shorter than the 20-byte header")]
    Short(usize),
    /// A version other than 1.
    #[error("uTP version {0} is not 1")]
    Version(u8),
    /// A type nibble beyond 4.
    #[error("uTP packet type {0} is unknown")]
    Type(u8),
    /// An extension runs past the end of the datagram.
    #[error("uTP extension {ext} of {len} bytes at offset {at} runs past the {total}-byte packet")]
    Extension {
        /// The extension's number.
        ext: u8,
        /// Its claimed length.
        len: usize,
        /// Where its header starts.
        at: usize,
        /// The datagram's length.
        total: usize,
    },
    /// A selective ACK bitmask that is empty or not whole 32-bit words.
    #[error("uTP selective ACK of {0} bytes is not a positive multiple of 4")]
    SackLength(usize),
}

/// Decodes one datagram.
pub fn decode(buf: &[u8]) -> Result<Packet<'_>, PacketError> {
    if buf.len() < HEADER_BYTES {
        return Err(PacketError::Short(buf.len()));
    }
    let version = buf[0] & 0x0f;
    if version != VERSION {
        return Err(PacketError::Version(version));
    }
    let ty = PacketType::from_nibble(buf[0] >> 4).ok_or(PacketError::Type(buf[0] >> 4))?;
    let u16_at = |i: usize| u16::from_be_bytes([buf[i], buf[i + 1]]);
    let u32_at = |i: usize| u32::from_be_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    let header = Header {
        ty,
        conn_id: u16_at(2),
        timestamp_us: u32_at(4),
        timestamp_diff_us: u32_at(8),
        wnd_size: u32_at(12),
        seq_nr: u16_at(16),
        ack_nr: u16_at(18),
    };
    let mut next = buf[1];
    let mut at = HEADER_BYTES;
    let mut sack = None;
    let mut large = None;
    // Each extension takes at least two bytes, so the datagram bounds the chain.
    while next != 0 {
        let (ext, len) = match buf.get(at..at + 2) {
            Some(&[_, l]) => (next, usize::from(l)),
            _ => {
                return Err(PacketError::Extension {
                    ext: next,
                    len: 0,
                    at,
                    total: buf.len(),
                });
            }
        };
        let body = buf
            .get(at + 2..at + 2 + len)
            .ok_or(PacketError::Extension {
                ext,
                len,
                at,
                total: buf.len(),
            })?;
        if ext == EXT_SELECTIVE_ACK && sack.is_none() {
            if len == 0 || len % 4 != 0 {
                return Err(PacketError::SackLength(len));
            }
            sack = Some(body);
        }
        if let (EXT_LARGE_PACKETS, &[a, b, c, d], None) = (ext, body, large) {
            large = Some(u32::from_be_bytes([a, b, c, d]));
        }
        next = buf[at];
        at += 2 + len;
    }
    Ok(Packet {
        header,
        sack,
        large,
        payload: &buf[at..],
    })
}

/// Appends the encoding of a packet to `out`. A `sack` of more than 255
/// bytes is cut to 252 (it is a hint; the cumulative ACK is the truth).
pub fn encode(
    header: &Header,
    sack: Option<&[u8]>,
    large: Option<u32>,
    payload: &[u8],
    out: &mut Vec<u8>,
) {
    let sack = sack.map(|s| &s[..s.len().min(252)]);
    out.reserve(HEADER_BYTES + sack.map_or(0, |s| s.len() + 2) + 6 + payload.len());
    out.push(((header.ty as u8) << 4) | VERSION);
    out.push(match (sack, large) {
        (Some(_), _) => EXT_SELECTIVE_ACK,
        (None, Some(_)) => EXT_LARGE_PACKETS,
        (None, None) => 0,
    });
    out.extend_from_slice(&header.conn_id.to_be_bytes());
    out.extend_from_slice(&header.timestamp_us.to_be_bytes());
    out.extend_from_slice(&header.timestamp_diff_us.to_be_bytes());
    out.extend_from_slice(&header.wnd_size.to_be_bytes());
    out.extend_from_slice(&header.seq_nr.to_be_bytes());
    out.extend_from_slice(&header.ack_nr.to_be_bytes());
    if let Some(s) = sack {
        out.push(if large.is_some() {
            EXT_LARGE_PACKETS
        } else {
            0
        });
        out.push(s.len() as u8);
        out.extend_from_slice(s);
    }
    if let Some(l) = large {
        out.push(0);
        out.push(4);
        out.extend_from_slice(&l.to_be_bytes());
    }
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ty: PacketType) -> Header {
        Header {
            ty,
            conn_id: 0xbeef,
            timestamp_us: 0x0102_0304,
            timestamp_diff_us: 0xa0b0_c0d0,
            wnd_size: 1 << 20,
            seq_nr: 0xfffe,
            ack_nr: 7,
        }
    }

    #[test]
    fn a_data_packet_with_a_selective_ack_round_trips() {
        let mut out = Vec::new();
        encode(
            &header(PacketType::Data),
            Some(&[1, 0, 0, 0x80]),
            Some(60_000),
            b"hello",
            &mut out,
        );
        let p = decode(&out).unwrap();
        assert_eq!(p.header, header(PacketType::Data));
        assert_eq!(p.sack, Some(&[1u8, 0, 0, 0x80][..]));
        assert_eq!(p.large, Some(60_000));
        assert_eq!(p.payload, b"hello");
    }

    #[test]
    fn a_syn_as_libtorrent_sends_it_decodes() {
        let mut syn = [0u8; 20];
        syn[0] = 0x41;
        syn[2..4].copy_from_slice(&7u16.to_be_bytes());
        syn[16..18].copy_from_slice(&1u16.to_be_bytes());
        let p = decode(&syn).unwrap();
        assert_eq!(p.header.ty, PacketType::Syn);
        assert_eq!((p.header.conn_id, p.header.seq_nr), (7, 1));
        assert!(p.payload.is_empty() && p.sack.is_none());
    }

    #[test]
    fn unknown_extensions_are_skipped() {
        let mut out = Vec::new();
        encode(&header(PacketType::State), None, None, b"", &mut out);
        out[1] = 2; // extension 2 (libtorrent's close reason, say), then none
        out.extend_from_slice(&[0, 4, 9, 9, 9, 9]);
        out.extend_from_slice(b"x");
        let p = decode(&out).unwrap();
        assert_eq!((p.sack, p.payload), (None, &b"x"[..]));
    }

    #[test]
    fn hostile_datagrams_are_errors_not_panics() {
        assert_eq!(decode(&[0x41; 19]), Err(PacketError::Short(19)));
        assert_eq!(decode(&[0x42; 20]), Err(PacketError::Version(2)));
        assert_eq!(decode(&[0x51; 20]), Err(PacketError::Type(5)));
        let mut out = Vec::new();
        encode(
            &header(PacketType::Data),
            Some(&[0; 4]),
            None,
            b"",
            &mut out,
        );
        for cut in HEADER_BYTES..out.len() {
            assert!(matches!(
                decode(&out[..cut]),
                Err(PacketError::Extension { .. })
            ));
        }
        out[21] = 3;
        out.truncate(25);
        assert_eq!(decode(&out), Err(PacketError::SackLength(3)));
    }
}
