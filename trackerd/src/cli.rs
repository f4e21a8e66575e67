//! trackerd's command line, apart from `main.rs` so that the packaging
//! tool can write the man page and shell completions from it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// A BitTorrent tracker: HTTP announce and scrape, a torrent catalog, stats.
#[derive(Debug, Parser)]
#[command(name = "trackerd", version)]
pub struct Args {
    /// TOML configuration file (see --print-config).
    #[arg(long, env = "TRACKERD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the default configuration, with comments, and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "TRACKERD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Store URL: sqlite:///var/lib/trackerd/trackerd.sqlite or
    /// postgres://user:password@host/dbname.
    #[arg(long, env = "TRACKERD_DATABASE")]
    pub database: Option<String>,
    /// Folder for the default SQLite database.
    #[arg(long, env = "TRACKERD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// open: track any torrent; catalog: only registered torrents.
    #[arg(long, env = "TRACKERD_MODE", value_parser = ["open", "catalog"])]
    pub mode: Option<String>,
}
