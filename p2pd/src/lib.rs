//! p2pd library: the BitTorrent engine, the daemon around it (folders,
//! control socket, downloads list) and its configuration. `main.rs` only
//! parses flags, sets up logging and calls [`daemon::run`].

pub mod config;
pub mod daemon;
pub mod engine;
/// The crash-safe writer lives in proto; this alias keeps `daemon::registry`'s
/// `crate::fsutil` import working until that module names proto directly.
pub use p2p_proto::fsutil;
pub mod http_client;
pub mod logging;
#[cfg(test)]
mod test_http;
pub mod tracker_api;
pub mod watcher;
