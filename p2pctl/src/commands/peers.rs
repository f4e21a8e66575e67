//! `p2pctl peers`: who a torrent is connected to.

use p2p_proto::ipc::{PeerSource, PeerSummary, Request, Response};

use super::{print, print_json};
use crate::output::{human_size, table};
use p2p_client::Target;

pub fn run(daemon: &Target, id: &str, json: bool) -> anyhow::Result<()> {
    let reply = daemon
        .connect()?
        .request(Request::Peers { id: id.to_owned() })?;
    if json {
        return print_json(&reply);
    }
    let peers = p2p_client::reply_as!(reply, "peers", Response::Peers)?;
    if peers.is_empty() {
        return print(&format!("no peers connected for {id}\n"));
    }
    print(&peer_table(&peers))
}

fn peer_table(peers: &[PeerSummary]) -> String {
    table(
        &[
            "ADDRESS",
            "PEER ID",
            "DIRECTION",
            "FOUND BY",
            "VIA",
            "ENC",
            "DOWNLOADED",
            "UPLOADED",
        ],
        peers.iter().map(|p| {
            vec![
                p.addr.clone(),
                p.peer_id.clone(),
                if p.outgoing { "out" } else { "in" }.to_owned(),
                p.source.as_str().to_owned(),
                p.transport.name().to_owned(),
                encryption(p).to_owned(),
                human_size(p.downloaded),
                human_size(p.uploaded),
            ]
        }),
    )
}

/// How the bytes travel: RC4 (MSE), or in the clear (including a
/// plaintext stream after an MSE handshake); a web seed has no such thing.
fn encryption(p: &PeerSummary) -> &'static str {
    match (p.source, p.encrypted) {
        (PeerSource::WebSeed, _) => "-",
        (_, true) => "rc4",
        (_, false) => "plain",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p2p_proto::ipc::PeerTransport;

    #[test]
    fn peers_show_address_direction_transport_encryption_and_bytes() {
        let text = peer_table(&[
            PeerSummary {
                addr: "10.0.0.2:6881".into(),
                peer_id: "-P20010-abc".into(),
                downloaded: 2048,
                uploaded: 0,
                outgoing: true,
                source: PeerSource::Pex,
                encrypted: true,
                transport: PeerTransport::Utp,
            },
            PeerSummary {
                addr: "10.0.0.3:6881".into(),
                peer_id: "-TR3000-xyz".into(),
                downloaded: 0,
                uploaded: 0,
                outgoing: false,
                source: PeerSource::Incoming,
                encrypted: false,
                transport: PeerTransport::Tcp,
            },
        ]);
        assert!(text.starts_with("ADDRESS"), "{text}");
        let cells: Vec<&str> = text
            .lines()
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(
            cells,
            [
                "10.0.0.2:6881",
                "-P20010-abc",
                "out",
                "pex",
                "utp",
                "rc4",
                "2.00",
                "KiB",
                "0",
                "B"
            ]
        );
        let second: Vec<&str> = text
            .lines()
            .nth(2)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(second[4..6], ["tcp", "plain"], "{text}");
    }
}
