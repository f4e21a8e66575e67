//! p2pctl's integration tests, linked into one binary: the CLI without a
//! daemon (`cli`), against scripted daemons (`daemon_client`), and its
//! torrents against the other tools (`interop_tools`).

mod cli;
mod daemon_client;
mod interop_tools;
