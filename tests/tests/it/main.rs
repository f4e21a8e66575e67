//! The end-to-end and interop tests, linked into one binary: trackerd,
//! several p2pd and p2pctl as real processes, and real BitTorrent clients
//! (aria2, Transmission, libtorrent). `common` holds their shared helpers.

mod common;

mod accounts_e2e;
mod cli_daemon;
mod client_paths;
mod cluster_e2e;
mod cluster_failover;
mod engine_processes;
mod file_selection_e2e;
mod groups_e2e;
mod https_e2e;
mod interop_dht;
mod interop_engine;
mod interop_mse;
mod interop_pex;
mod interop_transmission;
mod interop_utp;
mod lsd_netns;
mod move_verify_e2e;
mod on_complete_e2e;
mod passkey_rotation_e2e;
mod private_swarm_e2e;
mod queue_goals;
mod relay_engine;
mod runtime_settings;
mod story;
mod story_standard_client;
mod watch_folder_e2e;
mod webseed_e2e;
mod windows_wine;
