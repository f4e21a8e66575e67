//! p2pd library: the BitTorrent engine and, later, the watched folder and
//! the control socket. `main.rs` only parses flags and calls in here.

pub mod engine;
