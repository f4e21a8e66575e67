//! The BEP 15 UDP tracker codec on arbitrary datagrams, both sides:
//! `UdpRequest::decode` (what trackerd reads) and `UdpResponse::decode`
//! (what p2pd reads, as IPv4 and as IPv6).
//!
//! Invariants: whatever decodes encodes back to a datagram that decodes
//! to the same value, except that an announce answer we send carries at
//! most `MAX_PEERS` peers (one MTU) while we read all a tracker sends; a
//! request never holds more than `MAX_SCRAPE_HASHES` info-hashes or more
//! than `MAX_URL_DATA_BYTES` of URL data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p2p_proto::tracker::udp::{
    MAX_PEERS, MAX_SCRAPE_HASHES, MAX_URL_DATA_BYTES, UdpRequest, UdpResponse,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = UdpRequest::decode(data) {
        match &req {
            UdpRequest::Scrape { info_hashes, .. } => {
                assert!(info_hashes.len() <= MAX_SCRAPE_HASHES)
            }
            UdpRequest::Announce { announce, .. } => {
                assert!(announce.url_data.len() <= MAX_URL_DATA_BYTES)
            }
            UdpRequest::Connect { .. } => {}
        }
        let again = UdpRequest::decode(&req.encode()).expect("our own request decodes");
        assert_eq!(again, req, "request does not round-trip");
    }
    for ipv6 in [false, true] {
        if let Ok(mut resp) = UdpResponse::decode(data, ipv6) {
            let again =
                UdpResponse::decode(&resp.encode(ipv6), ipv6).expect("our own answer decodes");
            if let UdpResponse::Announce { response, .. } = &mut resp {
                response.peers.truncate(MAX_PEERS);
            }
            assert_eq!(again, resp, "answer does not round-trip (ipv6: {ipv6})");
        }
    }
});
