//! `p2pctl progress`: pieces, bytes, ETA and finished files of one torrent,
//! or of every torrent.

use std::fmt::Write as _;

use p2p_proto::ipc::{ErrorCode, ProgressInfo, Request, Response};

use super::{print, print_json};
use crate::output::{fraction, human_duration, human_eta, human_size, key_values, percent};
use p2p_client::ClientError;
use p2p_client::Target;
use p2p_client::reply_as;

pub fn run(daemon: &Target, id: Option<&str>, json: bool) -> anyhow::Result<()> {
    let mut client = daemon.connect()?;
    if let Some(id) = id {
        let reply = client.request(Request::Progress { id: id.to_owned() })?;
        if json {
            return print_json(&reply);
        }
        return print(&describe(
            &reply_as!(reply, "progress", Response::Progress)?,
            true,
        ));
    }
    // The protocol asks one torrent at a time: list, then ask each.
    let torrents = reply_as!(client.request(Request::List)?, "list", Response::List)?;
    let mut replies = Vec::new();
    for t in torrents {
        match client.request(Request::Progress {
            id: t.info_hash.to_hex(),
        }) {
            Ok(v) => replies.push(reply_as!(v, "progress", Response::Progress)?),
            // Removed since the list was taken: nothing to show.
            Err(ClientError::Daemon(e)) if e.code == ErrorCode::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    if json {
        return print_json(&replies);
    }
    if replies.is_empty() {
        return print("no torrents (add one with `p2pctl download SOURCE`)\n");
    }
    let mut text = Vec::new();
    for reply in replies {
        // Every file of every torrent would drown the summary; `progress ID` lists them.
        text.push(describe(&reply, false));
    }
    print(&text.join("\n"))
}

fn describe(p: &ProgressInfo, with_files: bool) -> String {
    let done_files = p.files.iter().filter(|f| f.complete).count();
    let mut pieces = format!("{} of {}", p.pieces_have, p.pieces_total);
    if p.pieces_rechecked > 0 {
        let _ = write!(pieces, " ({} rechecked at start)", p.pieces_rechecked);
    }
    let eta = if p.bytes_have >= p.bytes_total && p.bytes_total > 0 {
        Some(0)
    } else {
        p.eta_secs
    };
    let mut s = key_values(&[
        ("name", p.name.clone()),
        ("info hash", p.info_hash.to_hex()),
        ("state", p.state.to_string()),
        ("pieces", pieces),
        (
            "bytes",
            format!(
                "{} of {} ({})",
                human_size(p.bytes_have),
                human_size(p.bytes_total),
                percent(fraction(p.bytes_have, p.bytes_total))
            ),
        ),
        ("eta", human_eta(eta)),
        (
            "files",
            format!("{done_files} of {} complete", p.files.len()),
        ),
        (
            "all time",
            format!(
                "{} down, {} up, ratio {:.2}, seeded {}",
                human_size(p.all_time.downloaded),
                human_size(p.all_time.uploaded),
                p.all_time.ratio,
                human_duration(p.all_time.seeding_secs)
            ),
        ),
    ]);
    if with_files {
        for f in &p.files {
            let mark = if f.complete { "done" } else { "    " };
            let _ = writeln!(s, "  {mark}  {:>12}  {}", human_size(f.length), f.path);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use p2p_proto::ipc::FileProgress;

    use super::*;

    fn info() -> ProgressInfo {
        ProgressInfo {
            info_hash: p2p_proto::infohash::InfoHash([0xab; 20]),
            name: "album".into(),
            state: p2p_proto::ipc::TorrentState::Downloading,
            pieces_total: 400,
            pieces_have: 100,
            bytes_total: 4 << 20,
            bytes_have: 1 << 20,
            pieces_rechecked: 3,
            eta_secs: Some(312),
            files: vec![
                FileProgress {
                    path: "album/1.flac".into(),
                    length: 1 << 20,
                    complete: true,
                },
                FileProgress {
                    path: "album/2.flac".into(),
                    length: 3 << 20,
                    complete: false,
                },
            ],
            piece_map: Vec::new(),
            all_time: p2p_proto::ipc::AllTime::new(4 << 20, 6 << 20, 7_260, 4 << 20),
        }
    }

    #[test]
    fn progress_shows_pieces_bytes_percent_eta_and_finished_files() {
        let text = describe(&info(), true);
        for want in [
            "pieces:    100 of 400 (3 rechecked at start)\n",
            "bytes:     1.00 MiB of 4.00 MiB (25.0%)\n",
            "eta:       5m 12s\n",
            "files:     1 of 2 complete\n",
            "all time:  4.00 MiB down, 6.00 MiB up, ratio 1.50, seeded 2h 01m\n",
            "  done      1.00 MiB  album/1.flac\n",
            "            3.00 MiB  album/2.flac\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(!describe(&info(), false).contains("1.flac"));
    }

    #[test]
    fn a_whole_torrent_shows_done_and_a_stalled_one_unknown() {
        let mut p = info();
        p.eta_secs = None;
        assert!(describe(&p, false).contains("eta:       unknown\n"));
        p.bytes_have = p.bytes_total;
        assert!(describe(&p, false).contains("eta:       done\n"));
    }
}
