//! `p2pctl status`: the daemon's state in a few lines.

use p2p_proto::ipc::{DhtInfo, Reachability, Request, Response, StatusInfo, WatchFolderInfo};

use super::{print, print_json};
use crate::output::{human_duration, human_rate, key_values};
use p2p_client::Target;

pub fn run(daemon: &Target, json: bool) -> anyhow::Result<()> {
    let reply = daemon.connect()?.request(Request::Status)?;
    if json {
        return print_json(&reply);
    }
    print(&describe(&p2p_client::reply_as!(
        reply,
        "status",
        Response::Status
    )?))
}

fn tracker_state(r: Reachability) -> &'static str {
    match r {
        Reachability::Ok => "ok",
        Reachability::Unreachable => "unreachable",
        Reachability::None => "none",
        Reachability::Unknown => "unknown",
    }
}

fn describe(s: &StatusInfo) -> String {
    let tracker = if s.tracker.reason.is_empty() {
        tracker_state(s.tracker.state).to_owned()
    } else {
        format!("{} ({})", tracker_state(s.tracker.state), s.tracker.reason)
    };
    let mut lines = vec![
        ("daemon", format!("p2pd {}", s.version)),
        ("uptime", human_duration(s.uptime_secs)),
        (
            "logged in as",
            match (&s.logged_in_as, &s.logged_out_because) {
                (Some(user), _) => user.clone(),
                (None, Some(why)) => format!("nobody: {why}"),
                (None, None) => "nobody (log in with `p2pctl login USER`)".into(),
            },
        ),
        ("tracker", tracker),
        (
            "torrents",
            format!(
                "{} ({} downloading, {} seeding)",
                s.torrents, s.downloading, s.seeding
            ),
        ),
        ("download rate", human_rate(s.download_rate)),
        ("upload rate", human_rate(s.upload_rate)),
        ("listen port", s.listen_port.to_string()),
        ("shared folder", s.shared_dir.clone()),
        ("downloads folder", s.downloads_dir.clone()),
        ("DHT", dht_state(s.dht.as_deref())),
        ("watch folder", watch_state(s.watch_folder.as_deref())),
    ];
    // Each file the watch folder refused, with the reason to act on.
    for bad in s.watch_folder.iter().flat_map(|w| &w.recent_invalid) {
        lines.push(("invalid file", format!("{}: {}", bad.file, bad.reason)));
    }
    key_values(&lines)
}

/// The watch folder in a line: where it is and what became of its files.
fn watch_state(watch: Option<&WatchFolderInfo>) -> String {
    let Some(w) = watch else {
        return "off".into();
    };
    format!(
        "{} ({} started, {} already there, {} invalid)",
        w.dir, w.started, w.already_there, w.invalid
    )
}

/// The DHT node in a line: its port, how many nodes it knows (none:
/// not joined yet) and whether it answers others.
fn dht_state(dht: Option<&DhtInfo>) -> String {
    let Some(d) = dht else {
        return "off".into();
    };
    let nodes = match d.nodes {
        0 => "no nodes yet (joining)".to_owned(),
        1 => "1 node".to_owned(),
        n => format!("{n} nodes"),
    };
    let mode = if d.server_mode {
        "server mode"
    } else {
        "client mode"
    };
    let seen = d
        .public_address
        .as_deref()
        .map(|a| format!(", seen as {a}"))
        .unwrap_or_default();
    format!("port {}, {nodes}, {mode}{seen}", d.port)
}

#[cfg(test)]
mod tests {
    use p2p_proto::ipc::TrackerState;

    use super::*;

    #[test]
    fn status_shows_login_tracker_reason_counts_and_rates() {
        let s = StatusInfo {
            version: "0.1.0".into(),
            uptime_secs: 3_725,
            logged_in_as: None,
            logged_out_because: None,
            tracker: TrackerState {
                state: Reachability::Unreachable,
                reason: "connection refused".into(),
            },
            listen_port: 6881,
            shared_dir: "/s".into(),
            downloads_dir: "/d".into(),
            torrents: 3,
            downloading: 1,
            seeding: 2,
            download_rate: 2048,
            upload_rate: 0,
            dht: Some(Box::new(DhtInfo {
                port: 6881,
                nodes: 0,
                server_mode: false,
                firewalled: true,
                public_address: None,
            })),
            watch_folder: Some(Box::new(WatchFolderInfo {
                dir: "/w".into(),
                started: 1,
                already_there: 0,
                invalid: 1,
                recent_invalid: vec![p2p_proto::ipc::InvalidWatchFile {
                    file: "junk.torrent".into(),
                    reason: "not bencode".into(),
                }],
            })),
        };
        let text = describe(&s);
        for want in [
            "daemon:           p2pd 0.1.0\n",
            "uptime:           1h 02m\n",
            "logged in as:     nobody",
            "tracker:          unreachable (connection refused)\n",
            "torrents:         3 (1 downloading, 2 seeding)\n",
            "download rate:    2.00 KiB/s\n",
            "listen port:      6881\n",
            "downloads folder: /d\n",
            "DHT:              port 6881, no nodes yet (joining), client mode\n",
            "watch folder:     /w (1 started, 0 already there, 1 invalid)\n",
            "invalid file:     junk.torrent: not bencode\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }
}
