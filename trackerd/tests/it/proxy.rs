//! trackerd behind a trusted proxy (issue 12 item 16), as the real binary
//! with `trusted_proxies` configured: registering a torrent without the
//! admin token is for clients the proxy names as local, never for anyone
//! whose request merely passes through a loopback proxy; announces record
//! the forwarded client address, never the client's own `ip=`.

use std::collections::HashSet;
use std::net::IpAddr;

use p2p_proto::tracker::{AnnounceResponse, Event};

use crate::common::attack::send_from;
use crate::common::process::spawn;
use crate::common::{Request, hash, make_torrent, req};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn behind_a_trusted_proxy_registration_and_announces_use_the_forwarded_client_address() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("trackerd.toml");
    std::fs::write(&config, "[announce]\ntrusted_proxies = [\"127.0.0.1\"]\n").unwrap();
    let d = spawn(&[
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let (proxy, direct) = (ip("127.0.0.1"), ip("127.0.0.2"));
    let (one, _) = make_torrent(dir.path(), "one.bin", 40_000, "http://t/announce");
    let (two, _) = make_torrent(dir.path(), "two.bin", 50_000, "http://t/announce");
    let register = |body: &[u8]| Request::post("/api/v1/torrents", body);

    // A remote client through the proxy (which is on loopback) is remote.
    let r = send_from(
        proxy,
        d.addr,
        &register(&one).header("X-Forwarded-For", "203.0.113.5"),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // So is a remote client claiming loopback before the proxy's entry.
    let r = send_from(
        proxy,
        d.addr,
        &register(&one).header("X-Forwarded-For", "127.0.0.1, 203.0.113.5"),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // A proxy that names no client vouches for nobody.
    let r = send_from(proxy, d.addr, &register(&one)).await;
    assert_eq!(r.status, 403, "{}", r.text());
    // A client on this host, through the proxy or straight, may register.
    let r = send_from(
        proxy,
        d.addr,
        &register(&one).header("X-Forwarded-For", "127.0.0.1"),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = send_from(direct, d.addr, &register(&two)).await;
    assert_eq!(r.status, 201, "{}", r.text());

    // Announces: the forwarded address, whatever `ip=` says.
    let mut claims = req(hash(1), 1, 1001, 5, Event::Started);
    claims.ip = Some(ip("6.6.6.6"));
    let target = format!("/announce?{}", claims.to_query_string());
    let r = send_from(
        proxy,
        d.addr,
        &Request::get(&target).header("X-Forwarded-For", "203.0.113.5"),
    )
    .await;
    assert_eq!(r.status, 200);
    // Straight from a client that is not a proxy: its own address.
    let mut claims = req(hash(1), 2, 1002, 5, Event::Started);
    claims.ip = Some(ip("6.6.6.7"));
    let target = format!("/announce?{}", claims.to_query_string());
    send_from(direct, d.addr, &Request::get(&target)).await;
    let mut looks = req(hash(1), 3, 1003, 5, Event::Started);
    looks.compact = false;
    let target = format!("/announce?{}", looks.to_query_string());
    let r = send_from(
        proxy,
        d.addr,
        &Request::get(&target).header("X-Forwarded-For", "198.51.100.7"),
    )
    .await;
    let got = AnnounceResponse::from_bytes(&r.body).unwrap();
    let addrs: HashSet<String> = got.peers.iter().map(|p| p.addr.to_string()).collect();
    assert_eq!(
        addrs,
        HashSet::from(["203.0.113.5:1001".to_owned(), "127.0.0.2:1002".to_owned()])
    );
}
