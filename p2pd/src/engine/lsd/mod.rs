//! Local Service Discovery ([BEP 14](https://www.bittorrent.org/beps/bep_0014.html)):
//! peers on the LAN found without a tracker. One task for the engine
//! multicasts our public torrents' info-hashes with our peer port (see
//! `schedule` for when) and, when another client announces a torrent we
//! have, adds its address (the datagram's source IP and its `Port`) to the
//! torrent's candidates, found by [`PeerSource::Lsd`].
//!
//! A private torrent (BEP 27; every group torrent is) is never announced,
//! and announces naming one are ignored: its peers come from its tracker
//! only. Our own announces, which the multicast loop sends back, carry our
//! cookie and are skipped. Not here: dialing (the torrent's manager does).

mod schedule;
mod socket;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;

use p2p_proto::infohash::InfoHash;
use p2p_proto::ipc::PeerSource;
use p2p_proto::lsd::{Announce, LSD_PORT, MAX_MESSAGE_BYTES, group};
use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use super::EngineInner;
use super::torrent::Shared;
use schedule::Schedule;

/// How often the schedule is asked whether a round is due.
const CHECK_EVERY: Duration = Duration::from_secs(10);
/// Torrents added together (a daemon restoring its list) go out in one
/// round: the round waits this long after the first of them.
const GATHER: Duration = Duration::from_secs(1);

/// One family's socket, and whether a failed send was already reported.
#[derive(Debug)]
struct Family {
    socket: UdpSocket,
    ipv6: bool,
    /// We announce on this family's group: our listener takes its
    /// connections. Announces of others are heard either way.
    announce: bool,
    send_failed: AtomicBool,
}

/// Runs until the engine is cancelled or dropped. `wake` is notified when
/// a torrent is added.
pub(crate) async fn run(engine: Weak<EngineInner>, wake: Arc<Notify>) {
    let Some((cancel, listen)) = engine.upgrade().map(|e| (e.cancel.clone(), e.listen_addr)) else {
        return;
    };
    let port = listen.port();
    // A wildcard IPv6 listener takes IPv4 connections too; one on loopback
    // takes nobody from the LAN, so announcing it would only send peers
    // to a closed port.
    let reachable = !listen.ip().is_loopback();
    let listens_v4 = reachable && (listen.is_ipv4() || listen.ip().is_unspecified());
    let listens_v6 = reachable && listen.is_ipv6();
    let open = |ipv6: bool| match socket::open(ipv6) {
        Ok(socket) => Some(Family {
            socket,
            ipv6,
            announce: if ipv6 { listens_v6 } else { listens_v4 },
            send_failed: AtomicBool::new(false),
        }),
        Err(e) => {
            tracing::info!(
                "local service discovery: no {} socket on port {LSD_PORT}: {e}",
                if ipv6 { "IPv6" } else { "IPv4" },
            );
            None
        }
    };
    let (v4, v6) = (open(false), open(true));
    if v4.is_none() && v6.is_none() {
        tracing::warn!("local service discovery is off: no socket could join its group");
        return;
    }
    let families: Vec<&Family> = v4.iter().chain(v6.iter()).collect();
    let cookie = format!("{:016x}", rand::random::<u64>());
    let mut schedule = Schedule::default();
    let mut check = interval(CHECK_EVERY);
    check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut gather_until: Option<Instant> = None;
    let mut buf4 = vec![0u8; MAX_MESSAGE_BYTES + 1];
    let mut buf6 = vec![0u8; MAX_MESSAGE_BYTES + 1];
    loop {
        let round = tokio::select! {
            _ = cancel.cancelled() => return,
            () = wake.notified(), if gather_until.is_none() => {
                gather_until = Some(Instant::now() + GATHER);
                false
            }
            () = sleep_until(gather_until.unwrap_or_else(Instant::now)), if gather_until.is_some() => {
                gather_until = None;
                true
            }
            _ = check.tick() => true,
            r = recv(v4.as_ref(), &mut buf4) => {
                let Some(e) = engine.upgrade() else { return };
                received(&e, r, &buf4, &cookie);
                false
            }
            r = recv(v6.as_ref(), &mut buf6) => {
                let Some(e) = engine.upgrade() else { return };
                received(&e, r, &buf6, &cookie);
                false
            }
        };
        if round {
            let due = {
                let Some(e) = engine.upgrade() else { return };
                schedule.due(Instant::now(), &public_torrents(&e))
            };
            announce(&families, port, &due, &cookie).await;
        }
    }
}

/// A datagram from the family's socket; never, without one.
async fn recv(family: Option<&Family>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match family {
        Some(f) => {
            let r = f.socket.recv_from(buf).await;
            if r.is_err() {
                // Whatever failed (memory, say) must not make the loop spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            r
        }
        None => std::future::pending().await,
    }
}

/// The info-hashes of the torrents we may announce: the public ones.
fn public_torrents(engine: &EngineInner) -> Vec<InfoHash> {
    engine
        .torrents
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .filter(|t| !t.shared.meta.info.private)
        .map(|t| t.shared.meta.info_hash)
        .collect()
}

/// Sends `info_hashes` to both groups, as few datagrams as they fit.
async fn announce(families: &[&Family], port: u16, info_hashes: &[InfoHash], cookie: &str) {
    if info_hashes.is_empty() {
        return;
    }
    let batches = Announce::batches(port, info_hashes, Some(cookie));
    for f in families.iter().filter(|f| f.announce) {
        let to = group(f.ipv6);
        for b in &batches {
            let mut datagram = Vec::with_capacity(MAX_MESSAGE_BYTES);
            b.encode(to, &mut datagram);
            match f.socket.send_to(&datagram, to).await {
                Ok(_) => tracing::debug!(torrents = b.info_hashes.len(), %to, "LSD announce sent"),
                // No route to the group (a host without a LAN): said once.
                Err(e) if !f.send_failed.swap(true, Ordering::Relaxed) => {
                    tracing::warn!("local service discovery cannot send to {to}: {e}");
                }
                Err(e) => tracing::debug!("LSD announce to {to} failed: {e}"),
            }
        }
    }
}

/// Takes another client's announce: every public torrent of ours it names
/// gets its address as a candidate.
fn received(
    engine: &EngineInner,
    r: std::io::Result<(usize, SocketAddr)>,
    buf: &[u8],
    cookie: &str,
) {
    let (n, from) = match r {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!("LSD receive failed: {e}");
            return;
        }
    };
    let a = match Announce::parse(&buf[..n]) {
        Ok(a) => a,
        Err(e) => {
            tracing::debug!(%from, "LSD datagram ignored: {e}");
            return;
        }
    };
    if a.cookie.as_deref() == Some(cookie) {
        return;
    }
    // The sender's own address (an IPv6 link-local one keeps its scope).
    let mut peer = from;
    peer.set_port(a.port);
    let torrents: Vec<Arc<Shared>> = {
        let map = engine
            .torrents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        a.info_hashes
            .iter()
            .filter_map(|ih| map.get(ih))
            .map(|t| t.shared.clone())
            .collect()
    };
    for t in torrents {
        if t.meta.info.private {
            tracing::debug!(%peer, torrent = %t.meta.info.name, "LSD announce of a private torrent ignored");
            continue;
        }
        tracing::debug!(%peer, torrent = %t.meta.info.name, "peer found by LSD");
        t.add_candidates(PeerSource::Lsd, [peer]);
    }
}
