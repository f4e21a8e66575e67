//! The bytes of one `swarm_batches` row (issue 16, migration 0004): peer
//! changes packed in fixed-size records behind a format byte, so that a
//! change costs the database and the instances a byte copy rather than a
//! row of ten columns, three indexes and an upsert. Bytes only: no SQL,
//! no swarm logic. A row that does not parse is refused whole, with the
//! offending length or value.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use p2p_proto::infohash::InfoHash;
use p2p_proto::tracker::PeerId;

use crate::store::StoreError;
use crate::store::peers::PeerChange;

/// The first byte of a row: the layout below.
const FORMAT: u8 = 1;
/// One change: info-hash (20), peer id (20), address as IPv6 with IPv4
/// mapped (16), port (2, big-endian), flags (1).
pub(super) const RECORD_BYTES: usize = 59;

const OUTSIDER: u8 = 1;
const SEEDER: u8 = 2;
const STOPPED: u8 = 4;
const COMPLETED: u8 = 8;
const KNOWN_FLAGS: u8 = OUTSIDER | SEEDER | STOPPED | COMPLETED;

/// Packs `changes` into one row.
pub(super) fn encode(changes: &[PeerChange]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + changes.len() * RECORD_BYTES);
    out.push(FORMAT);
    for c in changes {
        let ip = match c.addr.ip().to_canonical() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        let flags = [
            (c.outsider, OUTSIDER),
            (c.seeder, SEEDER),
            (c.stopped, STOPPED),
            (c.completed, COMPLETED),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .fold(0, |f, (_, bit)| f | bit);
        out.extend_from_slice(&c.info_hash.0);
        out.extend_from_slice(&c.peer_id.0);
        out.extend_from_slice(&ip.octets());
        out.extend_from_slice(&c.addr.port().to_be_bytes());
        out.push(flags);
    }
    out
}

/// Unpacks a row written by [`encode`].
pub(super) fn decode(row: &[u8]) -> Result<Vec<PeerChange>, StoreError> {
    let corrupt = |what: String| Err(StoreError::Corrupt(format!("shared peer batch: {what}")));
    let Some((&format, records)) = row.split_first() else {
        return corrupt("empty".into());
    };
    if format != FORMAT {
        return corrupt(format!("format {format}"));
    }
    if records.len() % RECORD_BYTES != 0 {
        return corrupt(format!("{} bytes of records", records.len()));
    }
    let mut out = Vec::with_capacity(records.len() / RECORD_BYTES);
    for r in records.chunks_exact(RECORD_BYTES) {
        let (info_hash, r) = r.split_at(20);
        let (peer_id, r) = r.split_at(20);
        let (ip, r) = r.split_at(16);
        let (port, flags) = (u16::from_be_bytes([r[0], r[1]]), r[2]);
        if flags & !KNOWN_FLAGS != 0 {
            return corrupt(format!("flags {flags:#04x}"));
        }
        let twenty = |b: &[u8]| <[u8; 20]>::try_from(b).unwrap_or_default();
        let ip = Ipv6Addr::from(<[u8; 16]>::try_from(ip).unwrap_or_default()).to_canonical();
        out.push(PeerChange {
            info_hash: InfoHash(twenty(info_hash)),
            outsider: flags & OUTSIDER != 0,
            peer_id: PeerId(twenty(peer_id)),
            addr: SocketAddr::new(ip, port),
            seeder: flags & SEEDER != 0,
            stopped: flags & STOPPED != 0,
            completed: flags & COMPLETED != 0,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(n: u8, addr: &str, flags: u8) -> PeerChange {
        PeerChange {
            info_hash: InfoHash([n; 20]),
            outsider: flags & OUTSIDER != 0,
            peer_id: PeerId([n.wrapping_add(1); 20]),
            addr: addr.parse().unwrap(),
            seeder: flags & SEEDER != 0,
            stopped: flags & STOPPED != 0,
            completed: flags & COMPLETED != 0,
        }
    }

    #[test]
    fn every_flag_and_both_address_families_come_back_as_written() {
        let changes: Vec<PeerChange> = (0..=KNOWN_FLAGS)
            .map(|f| change(f, "10.1.2.3:6881", f))
            .chain([
                change(20, "[2001:db8::7]:51413", SEEDER),
                change(21, "[::1]:1", 0),
                change(22, "0.0.0.0:65535", STOPPED),
            ])
            .collect();
        let row = encode(&changes);
        assert_eq!(row.len(), 1 + changes.len() * RECORD_BYTES);
        assert_eq!(decode(&row).unwrap(), changes);
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn an_ipv4_mapped_address_comes_back_as_ipv4() {
        let row = encode(&[change(1, "[::ffff:192.0.2.9]:7000", 0)]);
        assert_eq!(
            decode(&row).unwrap()[0].addr,
            "192.0.2.9:7000".parse().unwrap()
        );
    }

    #[test]
    fn a_row_cut_anywhere_inside_a_record_is_refused() {
        let row = encode(&[change(1, "10.0.0.1:1", 0), change(2, "10.0.0.2:2", SEEDER)]);
        for len in 0..row.len() {
            let cut = &row[..len];
            let whole = len >= 1 && (len - 1) % RECORD_BYTES == 0;
            assert_eq!(decode(cut).is_ok(), whole, "cut at {len}");
        }
    }

    #[test]
    fn an_unknown_format_or_flag_is_refused_with_its_value() {
        let mut row = encode(&[change(1, "10.0.0.1:1", 0)]);
        row[0] = 2;
        let e = decode(&row).unwrap_err().to_string();
        assert!(e.contains("format 2"), "{e}");
        let mut row = encode(&[change(1, "10.0.0.1:1", 0)]);
        *row.last_mut().unwrap() = 0x10;
        let e = decode(&row).unwrap_err().to_string();
        assert!(e.contains("flags 0x10"), "{e}");
    }
}
