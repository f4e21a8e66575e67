//! `p2pctl files-of` and `p2pctl priority`: a torrent's files, and how
//! eagerly each is fetched.

use p2p_proto::ipc::{Request, Response, TorrentFiles};

use super::{print, print_json};
use crate::cli::PriorityArgs;
use crate::output::{human_size, percent, table};
use p2p_client::Target;

pub fn list(daemon: &Target, id: &str, json: bool) -> anyhow::Result<()> {
    let reply = daemon
        .connect()?
        .request(Request::TorrentFiles { id: id.to_owned() })?;
    if json {
        return print_json(&reply);
    }
    let files = p2p_client::reply_as!(reply, "torrent_files", Response::TorrentFiles)?;
    print(&file_table(&files))
}

pub fn set(daemon: &Target, args: &PriorityArgs, json: bool) -> anyhow::Result<()> {
    let reply = daemon.connect()?.request(Request::FilePriority {
        id: args.id.clone(),
        files: args.files.clone(),
        priority: args.priority,
    })?;
    if json {
        return print_json(&reply);
    }
    let files = p2p_client::reply_as!(reply, "file_priority", Response::TorrentFiles)?;
    print(&file_table(&files))
}

fn file_table(t: &TorrentFiles) -> String {
    table(
        &["#", "SIZE", "DONE", "PRIORITY", "PATH"],
        t.files.iter().map(|f| {
            let done = if f.length == 0 {
                1.0
            } else {
                f.have as f64 / f.length as f64
            };
            vec![
                f.index.to_string(),
                human_size(f.length),
                percent(done),
                f.priority.to_string(),
                f.path.clone(),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use p2p_proto::infohash::InfoHash;
    use p2p_proto::ipc::{FilePriority, TorrentFile};

    use super::*;

    #[test]
    fn files_show_index_size_progress_priority_and_path() {
        let t = TorrentFiles {
            info_hash: InfoHash([1; 20]),
            name: "pack".into(),
            files: vec![
                TorrentFile {
                    index: 1,
                    path: "pack/a.bin".into(),
                    length: 2048,
                    have: 1024,
                    priority: FilePriority::High,
                },
                TorrentFile {
                    index: 2,
                    path: "pack/b.bin".into(),
                    length: 0,
                    have: 0,
                    priority: FilePriority::Skip,
                },
            ],
        };
        let text = file_table(&t);
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        assert_eq!(lines.len(), 3, "{text}");
        for (line, cells) in lines[1..].iter().zip([
            ["1", "2.00 KiB", "50.0%", "high", "pack/a.bin"],
            ["2", "0 B", "100.0%", "skip", "pack/b.bin"],
        ]) {
            let got: Vec<&str> = line.split_whitespace().collect();
            let want: Vec<&str> = cells.iter().flat_map(|c| c.split(' ')).collect();
            assert_eq!(got, want, "{text}");
        }
    }
}
