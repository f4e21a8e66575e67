//! p2p-proto: the formats and protocols shared by p2pd, p2pctl and trackerd.
//!
//! Sans-io: no sockets, no async runtime, no clock. Time and randomness come
//! in as arguments. The one contact with the filesystem is [`create`], which
//! reads files to build a torrent so that `p2pctl create` needs no daemon.

pub mod api;
pub mod bencode;
pub mod bitfield;
pub mod create;
pub mod infohash;
pub mod ipc;
pub mod magnet;
pub mod metainfo;
pub mod tracker;
pub mod wire;
