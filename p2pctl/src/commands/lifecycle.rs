//! `p2pctl pause`, `resume`, `remove`: one request about one torrent, whose
//! summary comes back.

use p2p_proto::ipc::{Request, Response, TorrentSummary};

use super::{print, print_json};
use crate::cli::RemoveArgs;
use p2p_client::Target;

pub fn pause(daemon: &Target, id: &str, json: bool) -> anyhow::Result<()> {
    let req = Request::Pause { id: id.to_owned() };
    one(daemon, req, json, |t| {
        format!("paused {} ({})", t.name, t.short_id)
    })
}

pub fn resume(daemon: &Target, id: &str, json: bool) -> anyhow::Result<()> {
    let req = Request::Resume { id: id.to_owned() };
    one(daemon, req, json, |t| {
        format!("resumed {} ({}), now {}", t.name, t.short_id, t.state)
    })
}

pub fn remove(daemon: &Target, args: &RemoveArgs, json: bool) -> anyhow::Result<()> {
    let req = Request::Remove {
        id: args.id.clone(),
        delete_data: args.delete_data,
    };
    let deleted = args.delete_data;
    one(daemon, req, json, |t| {
        let files = if deleted {
            "its files were deleted".to_owned()
        } else {
            format!("its files stay in {}", t.save_path)
        };
        format!("removed {} ({}); {files}", t.name, t.short_id)
    })
}

fn one(
    daemon: &Target,
    request: Request,
    json: bool,
    say: impl FnOnce(&TorrentSummary) -> String,
) -> anyhow::Result<()> {
    let command = request.name();
    let reply = daemon.connect()?.request(request)?;
    if json {
        return print_json(&reply);
    }
    let (t, note) = match reply {
        Response::Torrent(t) => (t, None),
        Response::Added(a) => (a.torrent, a.note),
        other => return Err(p2p_client::unexpected(command, &other).into()),
    };
    match note {
        Some(note) => print(&format!("{}\n{note}\n", say(&t))),
        None => print(&format!("{}\n", say(&t))),
    }
}
