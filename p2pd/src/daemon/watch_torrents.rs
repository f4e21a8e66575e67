//! The .torrent watch folder's way into the daemon: what
//! [`crate::watchdir`] reads from a dropped file starts the way
//! `p2pctl download` starts a download (the `add` handler's path), into the
//! downloads folder. Holds no logic of its own.

use std::sync::Arc;

use p2p_proto::ipc::ErrorCode;

use super::Daemon;
use super::handlers::add_dropped;
use crate::watchdir::{Found, Outcome, Starter};

/// The daemon, as the watch folder's [`Starter`].
#[derive(Debug)]
pub(crate) struct Downloads(pub Arc<Daemon>);

impl Starter for Downloads {
    async fn start(&self, found: Found) -> Outcome {
        match add_dropped(&self.0, found).await {
            Ok(added) => Outcome::Started(added.torrent.name),
            Err(e) if e.code == ErrorCode::AlreadyExists => Outcome::AlreadyThere(e.message),
            Err(e) => Outcome::Refused(e.message),
        }
    }
}
