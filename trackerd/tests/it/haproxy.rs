//! Two trackerd instances on one PostgreSQL behind one address: Debian's
//! HAProxy balancing requests over both (issue 16 item 5), with
//! `trusted_proxies` naming it, as the README's deployment shows. Clients
//! on other loopback addresses announce and log in through the proxy;
//! each instance records the client's address, never the proxy's, and
//! balancing requests over both does not split the swarm. PostgreSQL-only (it
//! returns at once on SQLite and says so on stderr).

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use p2p_proto::tracker::{AnnounceResponse, Event};
use serde_json::json;

use crate::common::api::{PASSWORD, error};
use crate::common::attack::send_from;
use crate::common::clients::{Proc, free_port, require_tool};
use crate::common::{Request, TestServer, hash, req, second_instance_with, start};

/// HAProxy in front of `backends`, on a free port of 127.0.0.1, in the
/// shape of the README's configuration.
fn haproxy(dir: &std::path::Path, backends: &[SocketAddr]) -> (Proc, SocketAddr) {
    require_tool("haproxy", &["-v"], "haproxy");
    let port = free_port();
    let servers: String = backends
        .iter()
        .enumerate()
        .map(|(i, b)| format!("    server t{i} {b} check\n"))
        .collect();
    let config = format!(
        "global\n    maxconn 1000\n\
         defaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    \
         timeout server 60s\n    timeout tunnel 1h\n    option forwardfor\n    \
         option http-server-close\n\
         frontend tracker\n    bind 127.0.0.1:{port}\n    default_backend trackerd\n\
         backend trackerd\n    balance leastconn\n{servers}"
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    let proc = Proc::start(
        "haproxy",
        dir.join("haproxy.log"),
        Command::new("haproxy").arg("-db").arg("-f").arg(&path),
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "haproxy did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    (proc, addr)
}

fn trusting_loopback(c: &mut trackerd::config::Config) {
    c.announce.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
}

fn instances_of(a: &TestServer, b: &TestServer) -> [SocketAddr; 2] {
    [a.addr, b.addr]
}

#[tokio::test]
async fn behind_haproxy_two_instances_see_the_client_address_and_one_swarm() {
    let a = start(trusting_loopback).await;
    let Some(b) = second_instance_with(&a, trusting_loopback).await else {
        return;
    };
    let (_haproxy, front) = haproxy(a.dir.path(), &instances_of(&a, &b));
    let (one, two): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap());
    let h = hash(7);
    let target = |n, port| {
        format!(
            "/announce?{}",
            req(h, n, port, 10, Event::Started).to_query_string()
        )
    };
    // With no request open on either, leastconn takes turns (HAProxy
    // round-robins among equally loaded servers), so these go to
    // different instances; each is answered from the one swarm, with the
    // other client at its own address.
    let r = send_from(one, front, &Request::get(&target(1, 7001))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let deadline = Instant::now() + Duration::from_secs(10);
    let peers = loop {
        let r = send_from(two, front, &Request::get(&target(2, 7002))).await;
        let got = AnnounceResponse::from_bytes(&r.body).unwrap();
        let peers: Vec<SocketAddr> = got.peers.iter().map(|p| p.addr).collect();
        if !peers.is_empty() || Instant::now() > deadline {
            break peers;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(peers, vec![SocketAddr::new(one, 7001)]);

    // Logins through the proxy: "logged in from" names the client.
    let body = |name: &str| json!({ "username": name, "password": PASSWORD }).to_string();
    let register = Request::post("/api/v1/register", body("alice").as_bytes())
        .header("Content-Type", "application/json");
    assert_eq!(send_from(one, front, &register).await.status, 201);
    let login = Request::post("/api/v1/login", body("alice").as_bytes())
        .header("Content-Type", "application/json");
    let r = send_from(one, front, &login).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let again = send_from(two, front, &login).await;
    assert_eq!(again.status, 409, "{}", again.text());
    assert!(
        error(&again)
            .1
            .starts_with("alice is already logged in from 127.0.0.2 since"),
        "{}",
        again.text()
    );
}
