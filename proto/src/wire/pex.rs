//! BEP 11 peer exchange (`ut_pex`, <https://www.bittorrent.org/beps/bep_0011.html>):
//! the payload of the extended message that tells a peer which peers we
//! are connected to now (`added`) and which we no longer are (`dropped`).
//!
//! Tolerant of what clients send (unknown keys, a flags string of the
//! wrong length, a trailing partial entry are ignored), bounded in what it
//! keeps. Must not decide how often messages go out or whether a torrent
//! may use PEX (private torrents may not): that is the engine's job.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::WireError;
use super::extension::dict_prefix;
use crate::bencode::{self, Limits, OwnedValue, Value};
use crate::tracker::{COMPACT_V4_BYTES, COMPACT_V6_BYTES};

/// The BEP 11 extension name, as it appears in the handshake's `m` dictionary.
pub const UT_PEX: &str = "ut_pex";

/// Most peers a message should carry in `added`, and in `dropped` (IPv4
/// and IPv6 together): the limit the common clients agreed on.
pub const PEX_MAX_PEERS: usize = 50;

/// Most peers kept from one received list; more are ignored, not refused
/// (some clients send a larger first message).
pub const PEX_MAX_ACCEPTED: usize = 200;

/// Flag bits of `added.f` (BEP 11).
pub mod flags {
    /// The peer prefers encrypted connections.
    pub const ENCRYPTION: u8 = 0x01;
    /// The peer is a seed (or partial seed).
    pub const SEED: u8 = 0x02;
    /// The peer supports uTP.
    pub const UTP: u8 = 0x04;
    /// The peer supports the holepunch extension.
    pub const HOLEPUNCH: u8 = 0x08;
    /// The peer is reachable: the sender connected to it.
    pub const REACHABLE: u8 = 0x10;
}

/// Limits for decoding a message: six short strings in a flat dictionary.
const LIMITS: Limits = Limits {
    max_depth: 4,
    max_string_bytes: 64 * 1024,
    max_items: 64,
};

/// One `ut_pex` message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PexMessage {
    /// Peers the sender is connected to now, with their `added.f` flags.
    pub added: Vec<(SocketAddr, u8)>,
    /// Peers the sender is no longer connected to.
    pub dropped: Vec<SocketAddr>,
}

impl PexMessage {
    /// Whether there is nothing to say.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.dropped.is_empty()
    }

    /// The bencoded payload, IPv4 and IPv6 peers in their own keys. Sends
    /// what it is given: keeping to [`PEX_MAX_PEERS`] is the caller's part.
    pub fn encode(&self) -> Vec<u8> {
        let (mut a4, mut f4, mut a6, mut f6) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for &(addr, f) in &self.added {
            if push_compact(addr, &mut a4, &mut a6) {
                f4.push(f);
            } else {
                f6.push(f);
            }
        }
        let (mut d4, mut d6) = (Vec::new(), Vec::new());
        for &addr in &self.dropped {
            push_compact(addr, &mut d4, &mut d6);
        }
        let d = OwnedValue::dict()
            .with("added", OwnedValue::bytes(a4))
            .with("added.f", OwnedValue::bytes(f4))
            .with("added6", OwnedValue::bytes(a6))
            .with("added6.f", OwnedValue::bytes(f6))
            .with("dropped", OwnedValue::bytes(d4))
            .with("dropped6", OwnedValue::bytes(d6));
        bencode::encode(&d)
    }

    /// Reads a `ut_pex` payload: a bencoded dictionary whose lists are
    /// compact strings. Keeps at most [`PEX_MAX_ACCEPTED`] peers of each
    /// list; drops entries with port 0; flags are kept only when the flags
    /// string has one byte per peer (otherwise 0).
    pub fn decode(payload: &[u8]) -> Result<PexMessage, WireError> {
        const WHAT: &str = "ut_pex message";
        let (top, _) = dict_prefix(payload, &LIMITS, WHAT)?;
        let mut msg = PexMessage::default();
        for (key, fkey, size) in [
            ("added", "added.f", COMPACT_V4_BYTES),
            ("added6", "added6.f", COMPACT_V6_BYTES),
        ] {
            let peers = compact(&top, key, size);
            let f = bytes(&top, fkey).filter(|f| f.len() == peers.len());
            for (i, addr) in peers.into_iter().enumerate() {
                if msg.added.len() < PEX_MAX_ACCEPTED {
                    msg.added.push((addr, f.map_or(0, |f| f[i])));
                }
            }
        }
        for (key, size) in [
            ("dropped", COMPACT_V4_BYTES),
            ("dropped6", COMPACT_V6_BYTES),
        ] {
            let room = PEX_MAX_ACCEPTED - msg.dropped.len();
            msg.dropped
                .extend(compact(&top, key, size).into_iter().take(room));
        }
        Ok(msg)
    }
}

/// Appends `addr` to the IPv4 or the IPv6 list; true for IPv4.
fn push_compact(addr: SocketAddr, v4: &mut Vec<u8>, v6: &mut Vec<u8>) -> bool {
    match addr.ip().to_canonical() {
        IpAddr::V4(ip) => {
            v4.extend_from_slice(&ip.octets());
            v4.extend_from_slice(&addr.port().to_be_bytes());
            true
        }
        IpAddr::V6(ip) => {
            v6.extend_from_slice(&ip.octets());
            v6.extend_from_slice(&addr.port().to_be_bytes());
            false
        }
    }
}

fn bytes<'a>(dict: &Value<'a>, key: &str) -> Option<&'a [u8]> {
    dict.get(key).and_then(Value::as_bytes)
}

/// The whole entries of a compact list (a partial last one is ignored),
/// at most [`PEX_MAX_ACCEPTED`], port 0 left out.
fn compact(dict: &Value<'_>, key: &str, size: usize) -> Vec<SocketAddr> {
    let Some(b) = bytes(dict, key) else {
        return Vec::new();
    };
    b.chunks_exact(size)
        .take(PEX_MAX_ACCEPTED)
        .filter_map(|e| {
            let (ip, port) = e.split_at(size - 2);
            // An IPv4-mapped IPv6 address is the IPv4 address: dialled
            // as such, and sent on in `added`, not `added6`.
            let ip = match <[u8; 4]>::try_from(ip) {
                Ok(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
                Err(_) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(ip).ok()?)).to_canonical(),
            };
            let port = u16::from_be_bytes([port[0], port[1]]);
            (port != 0).then_some(SocketAddr::new(ip, port))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_message_round_trips_with_ipv4_and_ipv6_peers_and_their_flags() {
        let msg = PexMessage {
            added: vec![
                (addr("10.0.0.1:6881"), flags::SEED | flags::REACHABLE),
                (addr("10.0.0.2:1"), 0),
                (addr("[2001:db8::1]:51413"), flags::UTP),
            ],
            dropped: vec![addr("192.168.1.9:4000"), addr("[::2]:7")],
        };
        assert_eq!(PexMessage::decode(&msg.encode()).unwrap(), msg);
    }

    #[test]
    fn the_encoding_is_the_compact_layout_of_bep_11() {
        let msg = PexMessage {
            added: vec![(addr("1.2.3.4:258"), flags::SEED)],
            dropped: vec![addr("5.6.7.8:3")],
        };
        assert_eq!(
            msg.encode(),
            b"d5:added6:\x01\x02\x03\x04\x01\x027:added.f1:\x026:added60:8:added6.f0:\
7:dropped6:\x05\x06\x07\x08\x00\x038:dropped60:e"
                .to_vec()
        );
    }

    #[test]
    fn odd_lengths_port_zero_and_unmatched_flags_are_ignored_not_refused() {
        // Two whole IPv4 entries and 3 stray bytes; one has port 0; the
        // flags string has the wrong length.
        let payload = b"d5:added15:\x01\x01\x01\x01\x00\x00\x02\x02\x02\x02\x00\x09\xff\xff\xff\
7:added.f5:\x02\x02\x02\x02\x025:extrai1ee";
        let msg = PexMessage::decode(payload).unwrap();
        assert_eq!(msg.added, vec![(addr("2.2.2.2:9"), 0)]);
        assert!(msg.dropped.is_empty());
    }

    #[test]
    fn an_ipv4_mapped_address_in_added6_is_read_as_the_ipv4_address() {
        // Found by the pex fuzz target (fuzz/regressions/pex/): it came
        // back from our own encoding in `added`, a different message.
        let mut payload = b"d6:added618:".to_vec();
        payload.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 9]);
        payload.extend_from_slice(&6881u16.to_be_bytes());
        payload.push(b'e');
        let msg = PexMessage::decode(&payload).unwrap();
        assert_eq!(msg.added, vec![(addr("10.0.0.9:6881"), 0)]);
        assert_eq!(PexMessage::decode(&msg.encode()).unwrap(), msg);
    }

    #[test]
    fn the_fuzz_reproducers_decode_and_round_trip() {
        let payload = include_bytes!("../../fuzz/regressions/pex/ipv4-mapped-in-added6.bin");
        let msg = PexMessage::decode(payload).unwrap();
        let mut again = PexMessage::decode(&msg.encode()).unwrap().added;
        let mut added = msg.added;
        added.sort();
        again.sort();
        assert_eq!(again, added);
    }

    #[test]
    fn a_huge_list_is_cut_to_the_accepted_number() {
        let mut big = Vec::new();
        for i in 0..1000u32 {
            big.extend_from_slice(&(0x0a00_0000 + i).to_be_bytes());
            big.extend_from_slice(&6881u16.to_be_bytes());
        }
        let mut payload = format!("d5:added{}:", big.len()).into_bytes();
        payload.extend_from_slice(&big);
        payload.push(b'e');
        let msg = PexMessage::decode(&payload).unwrap();
        assert_eq!(msg.added.len(), PEX_MAX_ACCEPTED);
    }

    #[test]
    fn a_payload_that_is_not_a_dictionary_is_an_error_that_says_so() {
        let err = PexMessage::decode(b"li1ee").unwrap_err();
        assert_eq!(
            err.to_string(),
            "ut_pex message must be a bencoded dictionary, found a list"
        );
        assert!(PexMessage::decode(b"d5:added").is_err());
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panicking_and_within_the_bounds(
            payload in proptest::collection::vec(any::<u8>(), 0..2048)
        ) {
            if let Ok(msg) = PexMessage::decode(&payload) {
                prop_assert!(msg.added.len() <= PEX_MAX_ACCEPTED);
                prop_assert!(msg.dropped.len() <= PEX_MAX_ACCEPTED);
            }
        }
    }
}
