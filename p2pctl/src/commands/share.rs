//! `p2pctl share`: ask the daemon to copy a file or folder into its watched
//! folder, from where it is shared.

use p2p_proto::ipc::{Request, Response};

use super::{absolute_path, print, print_json};
use crate::cli::ShareArgs;
use p2p_client::Target;

pub fn run(daemon: &Target, args: &ShareArgs, json: bool) -> anyhow::Result<()> {
    // The daemon's working folder is not ours: send where the path really is.
    let path = absolute_path(&args.path, true)?;
    let reply = daemon.connect()?.request(Request::Share {
        path: path.clone(),
        group: args.group.clone(),
    })?;
    if json {
        return print_json(&reply);
    }
    let info = p2p_client::reply_as!(reply, "share", Response::Shared)?;
    let group = match &args.group {
        Some(g) => format!(" with group {g}"),
        None => String::new(),
    };
    print(&format!(
        "sharing {path}{group} (copied to {})\n",
        info.placed_at
    ))
}
