//! p2pd's integration tests, linked into one binary: the real p2pd binary
//! (`daemon`), engines in one process (`engine`), the watched folder
//! (`watcher`) and the import graph of the source (`module_graph`).

mod daemon;
mod engine;
mod module_graph;
mod peer_limits;
mod upload_memory;
mod watcher;
