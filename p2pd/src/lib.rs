//! p2pd library: the BitTorrent engine, the daemon around it (folders,
//! control socket, downloads list) and its configuration. `main.rs` only
//! parses flags, sets up logging and calls [`daemon::run`].

pub mod cli;
pub mod config;
pub mod daemon;
pub mod dht;
pub mod engine;
pub mod http_client;
pub mod logging;
// `p2pd service ...`: the Windows service; elsewhere only an error.
#[cfg_attr(windows, path = "service/windows.rs")]
#[cfg_attr(not(windows), path = "service/other.rs")]
pub mod service;
pub mod service_manager;
#[cfg(test)]
mod test_http;
pub mod tracker_api;
pub mod watchdir;
pub mod watcher;
