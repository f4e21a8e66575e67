//! p2pgui: parses its two flags and opens the window (everything else is in the library).

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut socket: Option<PathBuf> = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--socket") => socket = args.next().map(PathBuf::from),
            Some("--version") => {
                println!("p2pgui {}", env!("CARGO_PKG_VERSION"));
                return Ok(());
            }
            Some("-h" | "--help") => {
                println!(
                    "p2pgui [--socket PATH]\n\nA window onto p2pd. Without --socket it uses $P2PD_SOCKET or the user's default socket, and offers to start p2pd when none answers."
                );
                return Ok(());
            }
            _ => anyhow::bail!("unknown argument {arg:?} (try --help)"),
        }
    }
    p2pgui::app::run(p2pgui::Options::new(socket.as_deref()))
}
