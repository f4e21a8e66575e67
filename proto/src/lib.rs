//! p2p-proto: the formats and protocols shared by p2pd, p2pctl and trackerd.
//!
//! Sans-io: no sockets, no async runtime, no clock. Time and randomness come
//! in as arguments. Two modules touch the filesystem, with plain blocking
//! `std`: [`create`], which reads files to build a torrent so that
//! `p2pctl create` needs no daemon, and [`fsutil`], the one crash-safe
//! writer both p2pd and p2pctl use.

#![deny(missing_docs)]

pub mod api;
pub mod bencode;
pub mod bitfield;
pub mod create;
pub mod dht;
pub mod fsutil;
pub mod indexes;
pub mod infohash;
pub mod ipc;
pub mod lsd;
pub mod magnet;
pub mod metainfo;
pub mod mse;
pub mod percent;
pub mod time;
pub mod tracker;
pub mod units;
pub mod utp;
pub mod webseed;
pub mod wire;
