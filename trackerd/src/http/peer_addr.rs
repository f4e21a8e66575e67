//! Which address a request came from: the connection's, unless the
//! connection is a trusted proxy, whose last `X-Forwarded-For` entry (the
//! address the proxy itself saw) is believed. The announce's `ip` parameter
//! is never believed: behind a proxy it is the end client's own choice, and
//! without one it would let any client place any address in a swarm. Must
//! never trust a client that is not a configured proxy.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// Whether `remote` (the connection's address) is a configured proxy.
pub fn is_trusted_proxy(trusted_proxies: &[IpAddr], remote: IpAddr) -> bool {
    trusted_proxies.contains(&remote.to_canonical())
}

/// The client a trusted proxy forwards for: the last `X-Forwarded-For`
/// entry (the proxy appends the address it saw last: that entry is the one
/// it vouches for; earlier ones are the client's own claims). `None` when
/// it names none.
pub fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    last_named(
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
}

/// The last address named in `X-Forwarded-For` values (comma-separated
/// entries; those that are no address are passed over).
fn last_named<'a>(values: impl DoubleEndedIterator<Item = &'a str>) -> Option<IpAddr> {
    values
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .next_back()
        .map(|ip| ip.to_canonical())
}

/// The client's IP: the connection's, or behind a trusted proxy the one it
/// forwards for (the proxy's own when it names none).
pub fn peer_ip(trusted_proxies: &[IpAddr], remote: IpAddr, headers: &HeaderMap) -> IpAddr {
    let remote = remote.to_canonical();
    if !is_trusted_proxy(trusted_proxies, remote) {
        return remote;
    }
    forwarded_for(headers).unwrap_or(remote)
}

/// [`peer_ip`] for the fast path, which sees only the value of the last
/// `X-Forwarded-For` line (`last_forwarded`). `None` when that line alone
/// cannot tell what `forwarded_for` would: it names no address, or holds
/// bytes a header value read as text cannot (an earlier line would count
/// then); the request is then hyper's, with all its headers.
pub fn fast_peer_ip(
    trusted_proxies: &[IpAddr],
    remote: IpAddr,
    last_forwarded: Option<&[u8]>,
) -> Option<IpAddr> {
    let remote = remote.to_canonical();
    if !is_trusted_proxy(trusted_proxies, remote) {
        return Some(remote);
    }
    let Some(value) = last_forwarded else {
        return Some(remote);
    };
    // What `HeaderValue::to_str` reads as text: tab and visible ASCII.
    let text = std::str::from_utf8(value)
        .ok()
        .filter(|v| v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)))?;
    last_named(std::iter::once(text))
}

/// Whether the client is on this host: connected from loopback, or behind
/// a trusted proxy that names a loopback client (a proxy that names none
/// vouches for nobody).
pub fn is_local_client(trusted_proxies: &[IpAddr], remote: IpAddr, headers: &HeaderMap) -> bool {
    if is_trusted_proxy(trusted_proxies, remote) {
        return forwarded_for(headers).is_some_and(|ip| ip.is_loopback());
    }
    remote.to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    const PROXY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The fast path's reading of the last line agrees with the full
    /// headers' whenever it answers.
    #[test]
    fn the_fast_path_reads_the_last_forwarded_line_as_the_headers_do() {
        let trusted = [PROXY];
        for lines in [
            &[][..],
            &["203.0.113.5"],
            &["127.0.0.1, 203.0.113.5"],
            &["10.0.0.1", "203.0.113.9 , 198.51.100.2"],
            &["10.0.0.1", "junk"],
            &["10.0.0.1", ""],
            &["::ffff:10.1.2.3"],
            &["2001:db8::1, nonsense"],
        ] {
            let full = peer_ip(&trusted, PROXY, &headers(lines));
            let last = lines.last().map(|l| l.as_bytes());
            match fast_peer_ip(&trusted, PROXY, last) {
                Some(fast) => assert_eq!(fast, full, "{lines:?}"),
                // Left to hyper only when the last line names no address.
                None => assert!(
                    lines[lines.len() - 1]
                        .split(',')
                        .all(|e| e.trim().parse::<IpAddr>().is_err()),
                    "{lines:?}"
                ),
            }
        }
        // What it leaves to hyper: a last line naming no address.
        assert_eq!(fast_peer_ip(&trusted, PROXY, Some(b"junk")), None);
        assert_eq!(fast_peer_ip(&trusted, PROXY, Some(b"1.2.3.4\xff")), None);
        // Not a proxy: its headers are nobody's business.
        assert_eq!(
            fast_peer_ip(&[], ip("10.0.0.1"), Some(b"1.2.3.4")),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn untrusted_clients_cannot_claim_another_address() {
        assert_eq!(peer_ip(&[], PROXY, &headers(&["1.2.3.4"])), PROXY);
        assert!(!is_local_client(
            &[],
            ip("10.0.0.1"),
            &headers(&["127.0.0.1"])
        ));
    }

    #[test]
    fn trusted_proxies_pass_the_last_forwarded_address() {
        let t = [PROXY];
        let h = headers(&["9.9.9.9, 1.2.3.4", "bogus"]);
        assert_eq!(peer_ip(&t, PROXY, &h), ip("1.2.3.4"));
        assert_eq!(peer_ip(&t, PROXY, &headers(&[])), PROXY);
    }

    #[test]
    fn behind_a_proxy_only_a_named_loopback_client_is_local() {
        let t = [PROXY];
        assert!(!is_local_client(&t, PROXY, &headers(&["203.0.113.5"])));
        assert!(!is_local_client(&t, PROXY, &headers(&[])));
        assert!(is_local_client(&t, PROXY, &headers(&["127.0.0.1"])));
        // A client's own claim before the proxy's entry counts for nothing.
        assert!(!is_local_client(
            &t,
            PROXY,
            &headers(&["127.0.0.1, 203.0.113.5"])
        ));
        assert!(is_local_client(&[], PROXY, &headers(&[])));
    }

    #[test]
    fn ipv4_mapped_ipv6_connections_count_as_ipv4() {
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(peer_ip(&[], mapped, &headers(&[])), ip("10.1.2.3"));
    }
}
