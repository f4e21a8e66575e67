//! p2pgui's UI tests: the real window (its `App`) driven through egui_kittest
//! by accessible labels, against real trackerd and p2pd processes on
//! loopback. Screenshots of each tab go to `target/screenshots/p2pgui/`.

#![allow(clippy::unwrap_used)] // tests may unwrap
#![cfg(unix)]

mod gui;
mod network;
mod no_daemon;
mod settings;
mod torrents;
