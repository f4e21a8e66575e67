//! trackerd: a BitTorrent tracker (BEP 3, 7, 23, 48). The library holds the
//! domain (`swarm`, `app`), the store, the HTTP delivery and the server;
//! `main.rs` only parses flags, loads the config, starts logging and calls
//! [`server::start`]. Reads no flags or environment itself.

pub mod accounts;
pub mod app;
pub mod catalog;
pub mod cli;
pub mod cluster;
pub mod community;
pub mod config;
pub mod events;
pub mod groups;
pub mod http;
pub mod outsiders;
pub mod private_files;
pub mod server;
pub mod store;
pub mod swarm;
pub mod udp;
pub mod web;
