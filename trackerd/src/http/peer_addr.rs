//! Which IP an announce came from: the connection's, unless the connection
//! is a trusted proxy, whose `ip` parameter or X-Forwarded-For is believed.
//! Must never trust a client that is not a configured proxy.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// The peer's IP. `claimed` is the announce's `ip` parameter.
pub fn peer_ip(
    trusted_proxies: &[IpAddr],
    remote: IpAddr,
    headers: &HeaderMap,
    claimed: Option<IpAddr>,
) -> IpAddr {
    let remote = remote.to_canonical();
    if !trusted_proxies.contains(&remote) {
        return remote;
    }
    if let Some(ip) = claimed {
        return ip.to_canonical();
    }
    // The proxy appends the address it saw last: that entry is the one it vouches for.
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .next_back()
        .map_or(remote, |ip| ip.to_canonical())
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

    #[test]
    fn untrusted_clients_cannot_claim_another_address() {
        let ip = peer_ip(
            &[],
            PROXY,
            &headers(&["1.2.3.4"]),
            Some("5.6.7.8".parse().unwrap()),
        );
        assert_eq!(ip, PROXY);
    }

    #[test]
    fn trusted_proxies_pass_the_ip_parameter_then_the_last_forwarded_address() {
        let t = [PROXY];
        let h = headers(&["9.9.9.9, 1.2.3.4", "bogus"]);
        assert_eq!(
            peer_ip(&t, PROXY, &h, None),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        let claimed: IpAddr = "5.6.7.8".parse().unwrap();
        assert_eq!(peer_ip(&t, PROXY, &h, Some(claimed)), claimed);
        assert_eq!(peer_ip(&t, PROXY, &headers(&[]), None), PROXY);
    }

    #[test]
    fn ipv4_mapped_ipv6_connections_count_as_ipv4() {
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(
            peer_ip(&[], mapped, &headers(&[]), None),
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
    }
}
