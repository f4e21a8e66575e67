//! `p2pctl list`: every torrent, one row each.

use p2p_proto::ipc::{Request, Response, TorrentState, TorrentSummary};

use super::{print, print_json};
use crate::output::{human_rate, percent, table};
use p2p_client::Target;

pub fn run(daemon: &Target, json: bool) -> anyhow::Result<()> {
    let reply = daemon.connect()?.request(Request::List)?;
    if json {
        return print_json(&reply);
    }
    let torrents = p2p_client::reply_as!(reply, "list", Response::List)?;
    if torrents.is_empty() {
        return print("no torrents (add one with `p2pctl download SOURCE`)\n");
    }
    print(&torrent_table(&torrents))
}

fn torrent_table(torrents: &[TorrentSummary]) -> String {
    table(
        &[
            "ID", "NAME", "STATE", "PROGRESS", "DOWN", "UP", "PEERS", "RATIO",
        ],
        torrents.iter().map(|t| {
            vec![
                t.short_id.clone(),
                t.name.clone(),
                match (&t.state, &t.error) {
                    // The reason is what a user needs to act on.
                    (TorrentState::Error, Some(why)) => format!("error: {why}"),
                    (TorrentState::DiskFull, Some(why)) => format!("disk full: {why}"),
                    (TorrentState::Queued, Some(place)) => format!("queued {place}"),
                    (TorrentState::Finished, Some(goal)) => format!("finished: {goal}"),
                    (state, _) => state.to_string(),
                },
                percent(t.progress),
                human_rate(t.download_rate),
                human_rate(t.upload_rate),
                t.peers.to_string(),
                // All time, across restarts, as seed goals count it.
                format!("{:.2}", t.all_time.ratio),
            ]
        }),
    )
}

#[cfg(test)]
pub(crate) fn sample(name: &str, state: &str, progress: f64) -> TorrentSummary {
    let state = match state {
        "checking" => TorrentState::Checking,
        "downloading" => TorrentState::Downloading,
        "seeding" => TorrentState::Seeding,
        "paused" => TorrentState::Paused,
        "waiting" => TorrentState::Waiting,
        _ => TorrentState::Error,
    };
    TorrentSummary {
        info_hash: p2p_proto::infohash::InfoHash(
            [0x3f, 0x2a].repeat(10).try_into().unwrap_or([0; 20]),
        ),
        short_id: "3f2a3f2a".into(),
        name: name.into(),
        state,
        error: None,
        progress,
        size: 1 << 20,
        downloaded: 0,
        uploaded: 0,
        download_rate: 1024,
        upload_rate: 0,
        peers: 4,
        save_path: "/d".into(),
        download_rate_limit: None,
        upload_rate_limit: None,
        all_time: p2p_proto::ipc::AllTime::default(),
        sequential: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_torrent_shows_why_in_its_state() {
        let mut t = sample("movie.mkv", "error", 0.5);
        t.error = Some("disk full".into());
        let text = torrent_table(&[t]);
        assert!(text.contains("error: disk full"), "{text}");
    }

    #[test]
    fn queued_and_finished_torrents_show_their_place_and_goal() {
        let mut q = sample("a", "queued", 0.0);
        q.state = TorrentState::Queued;
        q.error = Some("#2 in the queue".into());
        let mut f = sample("b", "finished", 1.0);
        f.state = TorrentState::Finished;
        f.error = Some("ratio 2.00 reached".into());
        let text = torrent_table(&[q, f]);
        assert!(text.contains("queued #2 in the queue"), "{text}");
        assert!(text.contains("finished: ratio 2.00 reached"), "{text}");
    }

    #[test]
    fn the_table_has_one_row_per_torrent_with_percent_and_rates() {
        let text = torrent_table(&[sample("movie.mkv", "downloading", 0.5)]);
        let row = text.lines().nth(1).unwrap_or_default();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "3f2a3f2a",
                "movie.mkv",
                "downloading",
                "50.0%",
                "1.00",
                "KiB/s",
                "0",
                "B/s",
                "4",
                "0.00"
            ],
            "{text}"
        );
    }
}
