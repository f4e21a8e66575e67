//! p2pd's integration tests, linked into one binary: the real p2pd binary
//! (`daemon`), engines in one process (`engine`), encrypted peers
//! (`encryption`), peers over uTP (`utp`), sequential mode (`sequential`), the watched folder
//! (`watcher`), the DHT bit and PORT message (`dht`), limits changed while the engine runs (`live_limits`),
//! the control socket's folder under attack (`socket_folder`),
//! the daemon on a hostile machine (`disk_faults`), links planted among a
//! torrent's files (`symlinks`), web seeds over HTTP (`webseed`), a seeder
//! that scrambles its blocks (`guessed_reads`) and the import graph of the
//! source (`module_graph`).

mod choking;
mod daemon;
mod dht;
mod disk_faults;
mod dropped_requests;
mod encryption;
mod engine;
mod guessed_reads;
mod live_limits;
mod module_graph;
mod peer_limits;
mod pex;
// The end-to-end tests' file server, one source for both test binaries.
#[path = "../../../tests/src/range_server.rs"]
mod range_server;
mod sequential;
mod service_notify;
mod socket_folder;
mod symlinks;
mod upload_memory;
mod utp;
mod watcher;
mod webseed;
