//! The two LSD sockets, one per IP family: bound to port 6771 with address
//! (and, on Unix, port) reuse so that every BitTorrent client of this host
//! can listen at once; joined to the group on the default interface;
//! multicast loop on, so those clients hear us too; one hop, since the
//! peers LSD is for share our link. Opens sockets and nothing else.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use p2p_proto::lsd::{LSD_GROUP_V4, LSD_GROUP_V6, LSD_PORT};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// Hops an announce may travel (IP TTL, IPv6 hop limit).
const MULTICAST_HOPS: u32 = 1;

/// The socket of one family, ready for `recv_from` and `send_to` the group.
pub(super) fn open(ipv6: bool) -> io::Result<UdpSocket> {
    let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "freebsd"
    ))]
    s.set_reuse_port(true)?;
    let bind = if ipv6 {
        s.set_only_v6(true)?;
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, LSD_PORT))
    } else {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, LSD_PORT))
    };
    s.bind(&bind.into())?;
    if ipv6 {
        // Interface 0: the one the kernel routes the group to.
        s.join_multicast_v6(&LSD_GROUP_V6, 0)?;
        s.set_multicast_hops_v6(MULTICAST_HOPS)?;
        s.set_multicast_loop_v6(true)?;
    } else {
        s.join_multicast_v4(&LSD_GROUP_V4, &Ipv4Addr::UNSPECIFIED)?;
        s.set_multicast_ttl_v4(MULTICAST_HOPS)?;
        s.set_multicast_loop_v4(true)?;
        // Linux otherwise hands a socket bound to the wildcard address the
        // datagrams of every group any socket of the host joined on port 6771.
        #[cfg(target_os = "linux")]
        s.set_multicast_all_v4(false)?;
    }
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s.into())
}
