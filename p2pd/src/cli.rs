//! p2pd's command line, apart from `main.rs` so that the packaging tool
//! can write the man page and shell completions from it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The p2p daemon: shares what lands in its watched folder, downloads what
/// p2pctl asks for, and seeds.
#[derive(Debug, Clone, Parser)]
#[command(name = "p2pd", version, about)]
pub struct Flags {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the commented default configuration and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Everything under one folder (shared/, torrents/, downloads/, state/, p2pd.sock).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Watched folder (default: shared/ under the home folder).
    #[arg(long, value_name = "DIR")]
    pub shared_dir: Option<PathBuf>,
    /// Control socket path.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Peer port; 0 picks a free one.
    #[arg(long, value_name = "PORT")]
    pub listen_port: Option<u16>,
    /// Tracker announce URL for shared torrents ("" for none).
    #[arg(long, value_name = "URL")]
    pub tracker: Option<String>,
    /// Let the daemon's group use the control socket (mode 0660): for the
    /// system service, whose group members run p2pctl.
    #[arg(long)]
    pub socket_group_access: bool,
    /// Fork into the background, write a pid file and log to a file.
    #[arg(long)]
    pub daemon: bool,
    /// Without a command, p2pd runs in the foreground.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What p2pd does instead of running in the foreground.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// The Windows service (Windows only): install, start, stop, uninstall.
    Service {
        #[command(subcommand)]
        action: ServiceAction,
    },
}

/// `p2pd service ...` (Windows only; elsewhere use systemd or `--daemon`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum ServiceAction {
    /// Register the service "p2pd" (manual start, as LocalSystem), to run
    /// this executable with the `--config` given here, if any.
    Install,
    /// Stop the service if it runs and remove it.
    Uninstall,
    /// Ask the service manager to start the service.
    Start,
    /// Ask the service manager to stop the service.
    Stop,
    /// Run as the service (what the service manager starts; not for a
    /// console).
    Run,
}

impl Flags {
    /// Whether this process is the Windows service itself.
    pub fn is_service(&self) -> bool {
        matches!(
            self.command,
            Some(Command::Service {
                action: ServiceAction::Run
            })
        )
    }
}
