//! trackerd's integration tests, linked into one binary so the helpers in
//! [`common`] (the test server, the one HTTP client, the binary and client
//! runners) compile once. Each module tests one area over real sockets or
//! real processes; none shares state with another.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

mod accounts;
mod announce;
mod binary;
mod bodies;
mod catalog;
mod catalog_api;
mod community_hostile;
mod community_interop;
mod community_persistence;
mod credential_rotation;
mod dashboard;
mod events;
mod fast_path;
mod full_stderr;
mod group_ownership;
mod groups;
mod haproxy;
mod hostile;
mod interop;
mod login_attacks;
mod passkeys_at_rest;
mod privacy;
mod proxy;
mod quotas;
mod scale;
mod service_notify;
mod shared_accounts;
mod shared_database;
mod shared_swarms;
mod store_races;
mod stream_caps;
mod swarm_caps;
mod udp;
