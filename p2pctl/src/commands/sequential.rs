//! `p2pctl sequential ID on|off`: a download's piece order, rarest first
//! (the default) or in order for streaming.

use p2p_proto::ipc::{Request, Response};

use super::{print, print_json};
use crate::cli::SequentialArgs;
use p2p_client::Target;

/// Switches the mode and says which it is now.
pub fn run(daemon: &Target, args: &SequentialArgs, json: bool) -> anyhow::Result<()> {
    let request = Request::Sequential {
        id: args.id.clone(),
        on: args.mode == "on",
    };
    let reply = daemon.connect()?.request(request)?;
    let t = p2p_client::reply_as!(reply, "sequential", Response::Torrent)?;
    if json {
        return print_json(&t);
    }
    let mode = if t.sequential {
        "sequential"
    } else {
        "rarest first"
    };
    print(&format!(
        "{} ({}): {mode}
",
        t.name, t.short_id
    ))
}
