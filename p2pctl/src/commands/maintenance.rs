//! `p2pctl move ID DIR` and `p2pctl verify ID`: a download's data as a
//! whole. The daemon judges the folder and does the work; its message is
//! what the user sees when it refuses.

use p2p_proto::ipc::{Request, Response};

use super::{absolute_path, print, print_json};
use crate::cli::MoveArgs;
use p2p_client::Target;

pub fn move_data(daemon: &Target, args: &MoveArgs, json: bool) -> anyhow::Result<()> {
    let request = Request::Move {
        id: args.id.clone(),
        to: absolute_path(&args.dir, false)?,
    };
    let reply = daemon.connect()?.request(request)?;
    let t = p2p_client::reply_as!(reply, "move", Response::Torrent)?;
    if json {
        return print_json(&t);
    }
    print(&format!(
        "{} ({}): moved to {}, {}\n",
        t.name, t.short_id, t.save_path, t.state
    ))
}

pub fn verify(daemon: &Target, id: &str, json: bool) -> anyhow::Result<()> {
    let request = Request::Verify { id: id.to_owned() };
    let reply = daemon.connect()?.request(request)?;
    let v = p2p_client::reply_as!(reply, "verify", Response::Verified)?;
    if json {
        return print_json(&v);
    }
    let short = v.info_hash.short_hex();
    if let Some(note) = &v.note {
        return print(&format!("{} ({short}): {note}\n", v.name));
    }
    let bad = match v.bad.as_slice() {
        [] => "none bad".to_owned(),
        pieces => {
            let list: Vec<String> = pieces.iter().map(u32::to_string).collect();
            format!(
                "{} bad (pieces {}), downloading them again",
                pieces.len(),
                list.join(", ")
            )
        }
    };
    print(&format!(
        "{} ({short}): {} pieces checked, {bad}\n",
        v.name, v.checked
    ))
}
