//! p2pctl's integration tests, linked into one binary: the CLI without a
//! daemon (`cli`), against scripted daemons (`daemon_client`), its
//! torrents against the other tools (`interop_tools`), and sockets of
//! other users posing as p2pd (`socket_owner`).

mod cli;
mod daemon_client;
mod interop_tools;
mod socket_owner;
