//! A witness on a LAN for the Local Service Discovery tests, run in a
//! network namespace of its own: it joins both BEP 14 multicast groups and
//! prints every datagram sent to them, listens on TCP and prints the
//! info-hash of every BitTorrent handshake it gets, and on a `forge`
//! line from stdin announces info-hashes on the IPv4 group as a peer on
//! that TCP port.
//!
//! Usage: lsd-probe. Prints, one per line:
//! `ready TCP_PORT` once listening (IPv6 is joined when it can be; a line
//! `ipv6 off: REASON` says when not), `datagram FROM HEX_BYTES` for each
//! datagram, `handshake FROM INFO_HASH_HEX` for each handshake. Reads
//! `forge HEX HEX...` lines from stdin.

use std::io::{BufRead, Read};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

use anyhow::Context;
use p2p_proto::infohash::{InfoHash, hex_encode};
use p2p_proto::lsd::{Announce, LSD_GROUP_V4, LSD_GROUP_V6, LSD_PORT, group};

fn main() -> anyhow::Result<()> {
    let v4 = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, LSD_PORT)).context("bind UDP 6771")?;
    v4.join_multicast_v4(&LSD_GROUP_V4, &Ipv4Addr::UNSPECIFIED)
        .context("join the IPv4 group")?;
    let v6 = ipv6_listener();
    let tcp = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).context("bind TCP")?;
    let port = tcp.local_addr()?.port();
    match v6 {
        Ok(s) => {
            std::thread::spawn(move || print_datagrams(&s));
        }
        Err(e) => println!("ipv6 off: {e}"),
    }
    std::thread::spawn(move || print_datagrams(&v4));
    std::thread::spawn(move || {
        for conn in tcp.incoming() {
            let Ok(mut conn) = conn else { continue };
            let from = conn
                .peer_addr()
                .map_or_else(|_| "?".to_owned(), |a| a.to_string());
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            // Protocol name (20 bytes), reserved (8), info-hash (20).
            let mut head = [0u8; 48];
            if conn.read_exact(&mut head).is_ok() {
                println!("handshake {from} {}", hex_encode(&head[28..48]));
            }
        }
    });
    // A socket of its own, without the multicast loop: forged announces are
    // not printed as datagrams of the clients under test.
    let forge = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).context("bind the forger")?;
    forge.set_multicast_loop_v4(false)?;
    println!("ready {port}");
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let Some(rest) = line.strip_prefix("forge ") else {
            continue;
        };
        let hashes = rest
            .split_whitespace()
            .map(InfoHash::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let to: SocketAddr = group(false);
        for a in Announce::batches(port, &hashes, Some("lsd-probe")) {
            let mut datagram = Vec::new();
            a.encode(to, &mut datagram);
            forge
                .send_to(&datagram, to)
                .context("send a forged announce")?;
        }
        println!("forged {}", hashes.len());
    }
    Ok(())
}

/// Port 6771 on IPv6 only (std's wildcard IPv6 socket would also take IPv4
/// and clash with the IPv4 one), joined to the group.
fn ipv6_listener() -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_only_v6(true)?;
    s.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, LSD_PORT)).into())?;
    s.join_multicast_v6(&LSD_GROUP_V6, 0)?;
    Ok(s.into())
}

fn print_datagrams(socket: &UdpSocket) {
    let mut buf = [0u8; 65536];
    while let Ok((n, from)) = socket.recv_from(&mut buf) {
        println!("datagram {from} {}", hex_encode(&buf[..n]));
    }
}
