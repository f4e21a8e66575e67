//! p2pd's integration tests, linked into one binary: the real p2pd binary
//! (`daemon`), engines in one process (`engine`), the watched folder
//! (`watcher`), limits changed while the engine runs (`live_limits`),
//! the control socket's folder under attack (`socket_folder`),
//! the daemon on a hostile machine (`disk_faults`), links planted among a
//! torrent's files (`symlinks`), a seeder that scrambles its blocks
//! (`guessed_reads`) and the import graph of the source (`module_graph`).

mod daemon;
mod disk_faults;
mod dropped_requests;
mod engine;
mod guessed_reads;
mod live_limits;
mod module_graph;
mod peer_limits;
mod service_notify;
mod socket_folder;
mod symlinks;
mod upload_memory;
mod watcher;
